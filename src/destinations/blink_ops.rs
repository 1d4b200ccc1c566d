//! `blinkOps`: the Panther payload JSON to a Blink Ops webhook, with its auth header.
super::json_webhook::json_webhook!(
    /// A Blink Ops webhook.
    BlinkOps, BlinkOpsConfig, "BlinkOpsConfigInput", "blinkops",
    auth: AuthHeader
);
