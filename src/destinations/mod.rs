//! Destination types. Each type is one module implementing [`Integration`]: it
//! validates its config, names its secret fields and builds the outbound request.
//! Delivery, retries and attempt records live in `dispatch`, once for all types.
//! Adding a type: one file here, one line in [`registry`], one field in
//! `graphql::destination_config`.
pub mod custom_webhook;
pub mod secrets;
pub mod signing;

use crate::domain::Alert;
use serde_json::Value;

/// A request ready to send. The dispatcher adds `webhook-id` and the user agent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl OutboundRequest {
    pub fn post_json(url: impl Into<String>, body: &Value) -> Self {
        OutboundRequest {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
}

/// What a destination needs to build its request for one delivery.
pub struct DeliveryContext<'a> {
    /// Stable per delivery (the `webhook-id` receivers de-duplicate on).
    pub delivery_id: &'a str,
    pub alert: &'a Alert,
    /// The Panther payload (see `domain::payload`).
    pub payload: &'a Value,
    /// Seconds since the epoch at send time (for signatures).
    pub timestamp: i64,
    /// Why this delivery exists; `Resolve` asks the destination to close what it opened.
    pub kind: crate::domain::DeliveryKind,
}

/// An id or link the vendor's reply carried (Jira issue key, GitHub issue URL, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExternalRef {
    pub id: String,
    pub url: Option<String>,
}

/// One destination type.
pub trait Integration: Send + Sync + 'static {
    /// The `outputType`: the lower-case name of the config field (`customwebhook`).
    fn output_type(&self) -> &'static str;
    /// Paths of secret values inside the config: `field`, or `list[key].field` for a
    /// list whose elements are matched by their `key` (see [`secrets`]).
    fn secret_paths(&self) -> &'static [&'static str];
    /// Check a (secret-merged) config; the error says what is wrong.
    fn validate(&self, config: &Value) -> Result<(), String>;
    /// Build the request for one delivery.
    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String>;
    /// A 2xx reply that still means failure (e.g. Slack's `{"ok": false}`): the reason.
    fn reply_error(&self, _status: u16, _body: &str) -> Option<String> {
        None
    }
    /// The id/link in a successful reply, stored on the delivery.
    fn reply_reference(&self, _body: &str) -> Option<ExternalRef> {
        None
    }
    /// Whether the type closes what it opened when an alert is RESOLVED or CLOSED
    /// (it then gets `DeliveryKind::Resolve` deliveries).
    fn supports_resolve(&self) -> bool {
        false
    }
    /// Types that do not send one plain HTTP request (SMTP e-mail, or an OAuth token
    /// exchange first) return a sender; the dispatcher then calls it instead of
    /// sending `build_request`'s result. Retry policy and recording stay in `dispatch`.
    fn custom_sender(&self) -> Option<&dyn CustomSender> {
        None
    }
}

/// A whole send for types that are not one HTTP request (see `Integration::custom_sender`).
pub trait CustomSender: Send + Sync {
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        config: &'a Value,
        ctx: &'a DeliveryContext<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::dispatch::sender::Outcome> + Send + 'a>>;
}

/// Every destination type, by `outputType`.
static REGISTRY: &[&dyn Integration] = &[&custom_webhook::CustomWebhook];

pub fn registry() -> &'static [&'static dyn Integration] {
    REGISTRY
}

pub fn integration(output_type: &str) -> Option<&'static dyn Integration> {
    registry()
        .iter()
        .copied()
        .find(|i| i.output_type() == output_type)
}

/// Shared validation: an absolute http(s) URL with a host.
pub fn validate_url(field: &str, value: &str) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("{field} is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{field} must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{field} must have a host"));
    }
    Ok(())
}

/// Deserialize a stored config into the type's struct, with a clear error.
pub fn parse_config<T: serde::de::DeserializeOwned>(config: &Value) -> Result<T, String> {
    serde_json::from_value(config.clone()).map_err(|e| format!("invalid configuration: {e}"))
}
