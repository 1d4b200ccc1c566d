//! `mindflow`: the Panther payload JSON to a Mindflow webhook, with its auth header.
super::json_webhook::json_webhook!(
    /// A Mindflow webhook.
    Mindflow, MindflowConfig, "MindflowConfigInput", "mindflow",
    auth: AuthHeader
);
