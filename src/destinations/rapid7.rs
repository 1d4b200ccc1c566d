//! `rapid7`: the Panther payload JSON to a Rapid7 (InsightConnect) webhook trigger.
super::json_webhook::json_webhook!(
    /// A Rapid7 webhook.
    Rapid7, Rapid7Config, "Rapid7ConfigInput", "rapid7"
);
