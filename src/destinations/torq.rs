//! `torq`: the Panther payload JSON to a Torq webhook trigger, with its auth header.
super::json_webhook::json_webhook!(
    /// A Torq webhook.
    Torq, TorqConfig, "TorqConfigInput", "torq",
    auth: AuthHeader
);
