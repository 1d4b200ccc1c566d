//! `torq`: the Panther payload JSON to a Torq webhook trigger, with its auth header.
super::json_webhook::header_webhook!(
    /// A Torq webhook.
    Torq, TorqConfig, "TorqConfigInput", "torq"
);
