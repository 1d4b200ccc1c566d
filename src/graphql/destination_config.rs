//! The GraphQL face of destination configs: one one-of input field and one output
//! field per destination type. Adding a type: a variant here, a field in
//! `DestinationConfig`, and its arm in `from_stored`.
use crate::destinations::custom_webhook::CustomWebhookConfig;
use async_graphql::{OneofObject, SimpleObject};
use serde_json::Value;

/// Exactly one field: the destination type and its configuration.
#[derive(OneofObject)]
pub enum DestinationConfigInput {
    CustomWebhook(CustomWebhookConfig),
}

impl DestinationConfigInput {
    /// The `outputType` (lower-cased field name) and the config as stored.
    pub fn into_parts(self) -> (String, Value) {
        fn json<T: serde::Serialize>(t: T) -> Value {
            serde_json::to_value(t).unwrap_or_default()
        }
        match self {
            DestinationConfigInput::CustomWebhook(c) => ("customwebhook".into(), json(c)),
        }
    }
}

/// The configuration of a destination, secrets redacted; one field is set.
#[derive(SimpleObject, Default)]
pub struct DestinationConfig {
    custom_webhook: Option<CustomWebhookConfig>,
}

impl DestinationConfig {
    pub fn from_stored(output_type: &str, config: &Value) -> Self {
        fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
            serde_json::from_value(v.clone()).ok()
        }
        let mut out = DestinationConfig::default();
        if output_type == "customwebhook" {
            out.custom_webhook = parse(config)
        }
        out
    }
}

