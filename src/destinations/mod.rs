//! Destination types. Each type is one module implementing [`Integration`]: it
//! validates its config, names its secret fields and builds the outbound request.
//! Delivery, retries and attempt records live in `dispatch`, once for all types.
//! Adding a type: one file here, one line in [`registry`], one field in
//! `graphql::destination_config`.
pub mod asana;
pub mod aws;
pub mod blink_ops;
pub mod common;
pub mod custom_webhook;
pub mod discord;
pub mod email;
pub mod github;
pub mod google_pub_sub;
pub mod incident_io;
pub mod jira;
pub mod jira_data_center;
pub mod json_webhook;
pub mod mindflow;
pub mod ms_teams;
pub mod opsgenie;
pub mod pager_duty;
pub mod polling;
pub mod rapid7;
pub mod secrets;
pub mod service_now;
pub mod signing;
pub mod slack;
pub mod slack_bot;
pub mod sns;
pub mod splunk;
pub mod sqs;
pub mod template;
pub mod tines;
pub mod torq;

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
    /// What rendering the destination's templates may spend.
    pub template_budget: template::Budget,
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
    /// Paths of the fields that decide where the destination sends (URL, host, domain,
    /// region/endpoint). Changing one of them requires re-entering every secret, so a
    /// stored secret never follows a destination to a new host.
    fn target_paths(&self) -> &'static [&'static str];
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
    /// Pull types (`polling`) are never sent to: deliveries wait for a poller.
    fn is_pull(&self) -> bool {
        false
    }
    /// The send limits used when the destination sets none: (requests per second,
    /// concurrent requests). E.g. Slack incoming webhooks allow about one per second.
    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>) {
        (None, None)
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
        out: &'a crate::outbound::Outbound,
        config: &'a Value,
        ctx: &'a DeliveryContext<'a>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = crate::dispatch::sender::Outcome> + Send + 'a>,
    >;
}

/// Every destination type, by `outputType`.
static REGISTRY: &[&dyn Integration] = &[
    &custom_webhook::CustomWebhook,
    &polling::Polling,
    &slack::Slack,
    &slack_bot::SlackBot,
    &ms_teams::MsTeams,
    &discord::Discord,
    &pager_duty::PagerDuty,
    &opsgenie::Opsgenie,
    &jira::Jira,
    &jira_data_center::JiraDataCenter,
    &github::Github,
    &asana::Asana,
    &sns::Sns,
    &sqs::Sqs,
    &google_pub_sub::GooglePubSub,
    &splunk::Splunk,
    &incident_io::IncidentIo,
    &tines::Tines,
    &torq::Torq,
    &blink_ops::BlinkOps,
    &mindflow::Mindflow,
    &service_now::ServiceNow,
    &rapid7::Rapid7,
    &email::Email,
];

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

/// Refuse a (validated) config whose requests would go to an IP literal the SSRF guard
/// blocks: each target field holding a URL, then the URL of the request built for the
/// test alert. The error names the field (`outputConfig.<type>.<field>: blocked: …`).
/// Host names pass: they are checked when resolved, at send time.
pub fn check_targets(
    kind: &dyn Integration,
    config: &Value,
    policy: &crate::outbound::OutboundPolicy,
) -> Result<(), String> {
    use crate::domain::{payload, time::now_ms, DeliveryKind};
    for path in kind.target_paths() {
        if let Some(url) = config.get(*path).and_then(Value::as_str) {
            crate::outbound::check_url(policy, url).map_err(|b| field_error(kind, path, b))?;
        }
    }
    let alert = payload::test_alert(now_ms());
    let body = payload::panther_payload(&alert, "https://herald.invalid", DeliveryKind::Test);
    let ctx = DeliveryContext {
        delivery_id: "target-check",
        alert: &alert,
        payload: &body,
        timestamp: now_ms() / 1000,
        kind: DeliveryKind::Test,
        // Bounded like any render; only the URL of the result matters here.
        template_budget: Default::default(),
    };
    if let Ok(req) = kind.build_request(config, &ctx) {
        crate::outbound::check_url(policy, &req.url).map_err(|b| {
            let field = match kind.target_paths() {
                [] => "url".to_string(),
                paths => paths.join("/"),
            };
            field_error(kind, &field, b)
        })?;
    }
    Ok(())
}

fn field_error(kind: &dyn Integration, field: &str, b: crate::outbound::Blocked) -> String {
    format!("outputConfig.{}.{field}: {b}", kind.output_type())
}

/// Deserialize a stored config into the type's struct, with a clear error.
pub fn parse_config<T: serde::de::DeserializeOwned>(config: &Value) -> Result<T, String> {
    serde_json::from_value(config.clone()).map_err(|e| format!("invalid configuration: {e}"))
}
