//! Destination types. Each type is one module with a typed config and a type
//! implementing [`Integration`]: it names its `outputType`, its secret and target
//! fields, validates its config and builds the outbound request from the typed
//! [`Alert`]. The stored JSON is parsed once per call, by the one generic
//! implementation of [`DynIntegration`] (what the rest of Herald holds).
//!
//! Every type is declared once, in the `destinations!` list below: that line makes
//! its module, puts an instance in the registry, and gives it its field in the GraphQL
//! one-of input [`DestinationConfigInput`] and output [`DestinationConfig`]. Adding a
//! type is one new file here and one line in that list (see the README, "Adding a
//! destination type").
//!
//! Below the types sits [`transport`] (send one request, describe the reply); above
//! them, `dispatch` delivers, retries and records. Nothing here imports `dispatch`,
//! `graphql`, `service` or `store`.
pub mod aws;
pub mod common;
pub mod error;
pub mod json_webhook;
pub mod secrets;
pub mod signing;
pub mod template;
pub mod transport;

pub use error::{ConfigError, ConfigResult};

use crate::domain::{Alert, DeliveryKind};
use crate::outbound::Outbound;
use async_graphql::{OneofObject, SimpleObject};
use secrets::Scrubber;
use serde::{de::DeserializeOwned, Deserialize as _, Serialize};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use transport::{Class, Outcome};

/// Every destination type: `module::Type = "Label"`. The module is the snake_case GraphQL
/// field (`slack_bot` → `slackBot`), the type the one-of variant, the label its name for
/// people.
macro_rules! destinations {
    ($($module:ident :: $ty:ident = $label:literal),* $(,)?) => {
        $(pub mod $module;)*

        /// Every type's module (its GraphQL field in snake case) and `outputType`.
        #[cfg(test)]
        const DECLARED: &[(&str, &str)] = &[
            $((stringify!($module), <$module::$ty as Integration>::OUTPUT_TYPE)),*
        ];

        /// What a client needs to know of every type, in declaration order.
        pub fn kinds() -> Vec<Kind> {
            vec![$(Kind {
                field: camel(stringify!($module)),
                label: $label,
                input_type: <<$module::$ty as Integration>::Config as async_graphql::InputType>::type_name()
                    .into_owned(),
                output_type: <$module::$ty as Integration>::OUTPUT_TYPE,
                secret_paths: <$module::$ty as Integration>::SECRET_PATHS,
                target_paths: <$module::$ty as Integration>::TARGET_PATHS,
            }),*]
        }

        /// One instance of every type, in declaration order.
        fn instances() -> Vec<Box<dyn DynIntegration>> {
            vec![$(Box::new($module::$ty::default()) as Box<dyn DynIntegration>),*]
        }

        /// Exactly one field: the destination type and its configuration.
        #[derive(OneofObject)]
        pub enum DestinationConfigInput {
            $($ty(<$module::$ty as Integration>::Config),)*
        }

        impl DestinationConfigInput {
            /// The `outputType` and the config as stored.
            pub fn into_parts(self) -> (String, Value) {
                match self {
                    $(DestinationConfigInput::$ty(c) => (
                        <$module::$ty as Integration>::OUTPUT_TYPE.to_string(),
                        stored(&c),
                    ),)*
                }
            }
        }

        /// The configuration of a destination, secrets redacted; one field is set.
        #[derive(SimpleObject, Default)]
        pub struct DestinationConfig {
            $($module: Option<<$module::$ty as Integration>::Config>,)*
        }

        impl DestinationConfig {
            /// The stored config of an `output_type` destination in its field (none
            /// set when the type is unknown or the config does not parse).
            pub fn from_stored(output_type: &str, config: &Value) -> Self {
                let mut out = DestinationConfig::default();
                $(if output_type == <$module::$ty as Integration>::OUTPUT_TYPE {
                    out.$module = serde_json::from_value(config.clone()).ok();
                })*
                out
            }
        }
    };
}

destinations! {
    custom_webhook::CustomWebhook = "Custom webhook",
    polling::Polling = "Polling (pull)",
    slack::Slack = "Slack",
    slack_bot::SlackBot = "Slack bot",
    ms_teams::MsTeams = "Microsoft Teams",
    discord::Discord = "Discord",
    pager_duty::PagerDuty = "PagerDuty",
    opsgenie::Opsgenie = "Opsgenie",
    jira::Jira = "Jira Cloud",
    jira_data_center::JiraDataCenter = "Jira Data Center",
    github::Github = "GitHub",
    asana::Asana = "Asana",
    sns::Sns = "Amazon SNS",
    sqs::Sqs = "Amazon SQS",
    google_pub_sub::GooglePubSub = "Google Pub/Sub",
    splunk::Splunk = "Splunk",
    incident_io::IncidentIo = "incident.io",
    tines::Tines = "Tines",
    torq::Torq = "Torq",
    blink_ops::BlinkOps = "BlinkOps",
    mindflow::Mindflow = "Mindflow",
    service_now::ServiceNow = "ServiceNow",
    rapid7::Rapid7 = "Rapid7",
    email::Email = "E-mail (SMTP)",
}

/// A destination type as clients see it (the `destinationTypes` query).
#[derive(Debug, Clone)]
pub struct Kind {
    /// Its field in `DestinationConfigInput` and `DestinationConfig` (`slackBot`).
    pub field: String,
    /// Its name for people (`Slack bot`).
    pub label: &'static str,
    /// The GraphQL input object of its config (`SlackBotConfigInput`).
    pub input_type: String,
    pub output_type: &'static str,
    pub secret_paths: &'static [&'static str],
    pub target_paths: &'static [&'static str],
}

/// `slack_bot` → `slackBot`.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A config as stored (the JSON the store keeps and the types parse).
fn stored<C: Serialize>(config: &C) -> Value {
    serde_json::to_value(config).unwrap_or_default()
}

/// A request ready to send. The transport adds `webhook-id` and the user agent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl OutboundRequest {
    /// `POST` of `body` serialized as JSON.
    pub fn post_json(url: impl Into<String>, body: &impl Serialize) -> Self {
        OutboundRequest {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_string(body).unwrap_or_default(),
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// What a destination needs to build its request for one delivery.
pub struct DeliveryContext<'a> {
    /// Stable per delivery (the `webhook-id` receivers de-duplicate on).
    pub delivery_id: &'a str,
    pub alert: &'a Alert,
    /// The Panther payload (see `domain::payload`): what JSON webhooks receive and
    /// templates render.
    pub payload: &'a crate::domain::payload::Payload,
    /// `HERALD_PUBLIC_URL`, for links to the alert.
    pub public_url: &'a str,
    /// Seconds since the epoch at send time (for signatures).
    pub timestamp: i64,
    /// Why this delivery exists; `Resolve` asks the destination to close what it opened.
    pub kind: DeliveryKind,
    /// What rendering the destination's templates may spend.
    pub template_budget: template::Budget,
}

impl DeliveryContext<'_> {
    /// The alert title as this delivery shows it (re-sends are marked).
    pub fn title(&self) -> String {
        crate::domain::payload::delivered_title(self.alert, self.kind)
    }

    /// The alert's page in Herald.
    pub fn link(&self) -> String {
        crate::domain::payload::alert_link(self.public_url, &self.alert.id)
    }

    /// When the alert was created, RFC 3339 with milliseconds.
    pub fn created_at(&self) -> String {
        crate::domain::time::to_rfc3339(self.alert.created_at)
    }

    /// Render an optional template of the config against the payload.
    pub fn render(&self, field: &str, source: Option<&str>) -> ConfigResult<Option<String>> {
        template::render_opt(field, source, self.payload.value(), self.template_budget)
    }
}

/// An id or link the vendor's reply carried (Jira issue key, GitHub issue URL, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExternalRef {
    pub id: String,
    pub url: Option<String>,
}

/// A send in progress (see [`Sender`]).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// One destination type. An instance lives as long as the process (the registry holds
/// one of each) and owns whatever state the type keeps between sends (a token cache).
pub trait Integration: Default + Send + Sync + 'static {
    /// The config: stored as JSON, the type's GraphQL input and output object.
    type Config: Serialize
        + DeserializeOwned
        + async_graphql::InputType
        + async_graphql::OutputType
        + Send
        + Sync
        + 'static;
    /// The `outputType`: the lower-case name of the config field (`customwebhook`).
    const OUTPUT_TYPE: &'static str;
    /// Paths of secret values inside the config: `field`, or `list[key].field` for a
    /// list whose elements are matched by their `key` (see [`secrets`]).
    const SECRET_PATHS: &'static [&'static str];
    /// Paths of the fields that decide where the destination sends (URL, host, domain,
    /// region/endpoint). Changing one of them requires re-entering every secret, so a
    /// stored secret never follows a destination to a new host.
    const TARGET_PATHS: &'static [&'static str];
    /// The send limits used when the destination sets none: (requests per second,
    /// concurrent requests). E.g. Slack incoming webhooks allow about one per second.
    const DEFAULT_RATE_LIMIT: (Option<f64>, Option<usize>) = (None, None);
    /// Whether the type closes what it opened when an alert is RESOLVED or CLOSED
    /// (it then gets `DeliveryKind::Resolve` deliveries).
    const SUPPORTS_RESOLVE: bool = false;
    /// Pull types (`polling`) are never sent to: deliveries wait for a poller.
    const IS_PULL: bool = false;

    /// Check a (secret-merged) config; the error names the field.
    fn validate(&self, config: &Self::Config) -> ConfigResult<()>;
    /// Build the request for one delivery.
    fn build_request(
        &self,
        config: &Self::Config,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest>;
    /// A 2xx reply that still means failure (e.g. Slack's `{"ok": false}`): the reason.
    fn reply_error(&self, _status: u16, _body: &str) -> Option<String> {
        None
    }
    /// The id/link in a successful reply, stored on the delivery.
    fn reply_reference(&self, _body: &str) -> Option<ExternalRef> {
        None
    }
    /// Types that do not send one plain HTTP request (SMTP e-mail, or an OAuth token
    /// exchange first) return their sender; the dispatcher then awaits it instead of
    /// sending `build_request`'s result. Retry policy and recording stay in `dispatch`.
    fn sender(&self) -> Option<&dyn Sender<Self::Config>> {
        None
    }
}

/// A whole send for types that are not one HTTP request (see [`Integration::sender`]).
pub trait Sender<C>: Send + Sync {
    /// Send for one delivery; `scrubber` masks the config's secrets.
    fn send<'a>(
        &'a self,
        out: &'a Outbound,
        config: &'a C,
        ctx: &'a DeliveryContext<'a>,
        scrubber: Scrubber,
    ) -> SendFuture<'a>;
}

/// A destination type as the rest of Herald holds it: configs are stored JSON, parsed
/// here once per call. Implemented for every [`Integration`].
pub trait DynIntegration: Send + Sync {
    fn output_type(&self) -> &'static str;
    fn secret_paths(&self) -> &'static [&'static str];
    fn target_paths(&self) -> &'static [&'static str];
    /// Check a (secret-merged) stored config; the error's path starts with
    /// `outputConfig.<outputType>`.
    fn validate(&self, config: &Value) -> ConfigResult<()>;
    /// Build the request for one delivery.
    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest>;
    fn reply_error(&self, status: u16, body: &str) -> Option<String>;
    fn reply_reference(&self, body: &str) -> Option<ExternalRef>;
    fn supports_resolve(&self) -> bool;
    fn is_pull(&self) -> bool;
    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>);
    /// What a send must mask: the secrets of `config`.
    fn scrubber(&self, config: &Value) -> Scrubber;
    /// The whole send, for types with their own [`Sender`]; `None` means: send
    /// `build_request`'s result with [`transport::send`].
    fn send_itself<'a>(
        &'a self,
        out: &'a Outbound,
        config: &'a Value,
        ctx: &'a DeliveryContext<'a>,
    ) -> Option<SendFuture<'a>>;
}

/// Parse a stored config into `T`'s config, with a clear error.
fn parse<T: Integration>(config: &Value) -> ConfigResult<T::Config> {
    T::Config::deserialize(config)
        .map_err(|e| ConfigError::whole(format!("invalid configuration: {e}")))
}

impl<T: Integration> DynIntegration for T {
    fn output_type(&self) -> &'static str {
        T::OUTPUT_TYPE
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        T::SECRET_PATHS
    }

    fn target_paths(&self) -> &'static [&'static str] {
        T::TARGET_PATHS
    }

    fn validate(&self, config: &Value) -> ConfigResult<()> {
        parse::<T>(config)
            .and_then(|c| Integration::validate(self, &c))
            .map_err(|e| e.under(&format!("outputConfig.{}", T::OUTPUT_TYPE)))
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        Integration::build_request(self, &parse::<T>(config)?, ctx)
    }

    fn reply_error(&self, status: u16, body: &str) -> Option<String> {
        Integration::reply_error(self, status, body)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        Integration::reply_reference(self, body)
    }

    fn supports_resolve(&self) -> bool {
        T::SUPPORTS_RESOLVE
    }

    fn is_pull(&self) -> bool {
        T::IS_PULL
    }

    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>) {
        T::DEFAULT_RATE_LIMIT
    }

    fn scrubber(&self, config: &Value) -> Scrubber {
        Scrubber::for_config(config, T::SECRET_PATHS)
    }

    fn send_itself<'a>(
        &'a self,
        out: &'a Outbound,
        config: &'a Value,
        ctx: &'a DeliveryContext<'a>,
    ) -> Option<SendFuture<'a>> {
        let sender = self.sender()?;
        let scrubber = self.scrubber(config);
        Some(match parse::<T>(config) {
            Ok(c) => Box::pin(async move { sender.send(out, &c, ctx, scrubber).await }),
            Err(e) => {
                let outcome = Outcome::not_sent(scrubber.scrub(&e.to_string()), Class::Permanent);
                Box::pin(std::future::ready(outcome))
            }
        })
    }
}

/// One instance of every type, built once per process.
static REGISTRY: LazyLock<Vec<Box<dyn DynIntegration>>> = LazyLock::new(instances);

/// Every destination type.
pub fn registry() -> impl Iterator<Item = &'static dyn DynIntegration> {
    REGISTRY.iter().map(|b| b.as_ref())
}

/// The type with this `outputType`.
pub fn integration(output_type: &str) -> Option<&'static dyn DynIntegration> {
    registry().find(|i| i.output_type() == output_type)
}

/// Whether destinations of this type are polled (their deliveries are never sent).
pub fn is_pull(output_type: &str) -> bool {
    integration(output_type).is_some_and(|i| i.is_pull())
}

/// Shared validation: an absolute http(s) URL with a host.
pub fn validate_url(field: &str, value: &str) -> ConfigResult<()> {
    let url = url::Url::parse(value)
        .map_err(|e| ConfigError::at(field, format!("is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::at(field, "must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::at(field, "must have a host"));
    }
    Ok(())
}

/// Refuse a (validated) config whose requests would go to an IP literal the SSRF guard
/// blocks: each target field holding a URL, then the URL of the request built for the
/// test alert. The error names the field (`outputConfig.<type>.<field>: blocked: …`).
/// Host names pass: they are checked when resolved, at send time.
pub fn check_targets(
    kind: &dyn DynIntegration,
    config: &Value,
    policy: &crate::outbound::OutboundPolicy,
) -> ConfigResult<()> {
    use crate::domain::{payload, time::now_ms};
    let blocked = |field: &str, b: crate::outbound::Blocked| {
        ConfigError::at(field, b.to_string()).under(&format!("outputConfig.{}", kind.output_type()))
    };
    for path in kind.target_paths() {
        if let Some(url) = config.get(*path).and_then(Value::as_str) {
            crate::outbound::check_url(policy, url).map_err(|b| blocked(path, b))?;
        }
    }
    let alert = payload::test_alert(now_ms());
    let public_url = "https://herald.invalid";
    let body = payload::Payload::new(&alert, public_url, DeliveryKind::Test);
    let ctx = DeliveryContext {
        delivery_id: "target-check",
        alert: &alert,
        payload: &body,
        public_url,
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
            blocked(&field, b)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_registered_once_under_its_field_name() {
        let names: Vec<&str> = registry().map(|i| i.output_type()).collect();
        assert_eq!(names.len(), 24);
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} twice");
            assert_eq!(integration(n).map(|i| i.output_type()), Some(*n));
        }
        assert!(integration("slak").is_none());
    }

    #[test]
    fn kinds_name_the_graphql_fields_and_input_objects() {
        let kinds = kinds();
        assert_eq!(kinds.len(), registry().count());
        let bot = kinds.iter().find(|k| k.output_type == "slackbot").unwrap();
        assert_eq!(bot.field, "slackBot");
        assert_eq!(bot.input_type, "SlackBotConfigInput");
        assert_eq!(bot.label, "Slack bot");
        let hook = kinds.iter().find(|k| k.field == "customWebhook").unwrap();
        assert_eq!(
            hook.secret_paths,
            &["webhookURL", "headers[key].value", "signingSecret"]
        );
        for k in &kinds {
            assert_eq!(k.field.to_lowercase(), k.output_type);
        }
    }

    #[test]
    fn output_types_are_the_lower_cased_field_names() {
        assert_eq!(DECLARED.len(), registry().count());
        for (module, output_type) in DECLARED {
            assert_eq!(module.replace('_', ""), *output_type, "{module}");
        }
    }

    #[test]
    fn stored_configs_round_trip_through_the_graphql_types() {
        let input = DestinationConfigInput::Slack(slack::SlackConfig {
            message_template: None,
            hook: common::ChatWebhook {
                webhook_url: "https://hooks.example/x".into(),
            },
        });
        let (output_type, config) = input.into_parts();
        assert_eq!(output_type, "slack");
        assert_eq!(
            config,
            serde_json::json!({"webhookURL": "https://hooks.example/x", "messageTemplate": null})
        );
        let out = DestinationConfig::from_stored("slack", &config);
        assert_eq!(
            out.slack.map(|c| c.hook.webhook_url).as_deref(),
            Some("https://hooks.example/x")
        );
        assert!(DestinationConfig::from_stored("nope", &config)
            .slack
            .is_none());
    }

    #[test]
    fn validation_errors_name_the_field_under_output_config() {
        let slack = integration("slack").unwrap();
        let e = slack
            .validate(&serde_json::json!({"webhookURL": "ftp://x"}))
            .unwrap_err();
        assert_eq!(e.path, "outputConfig.slack.webhookURL");
        assert_eq!(
            e.to_string(),
            "outputConfig.slack.webhookURL: must be an http or https URL"
        );
        let e = slack.validate(&serde_json::json!({})).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("outputConfig.slack: invalid configuration: missing field"),
            "{e}"
        );
    }

    /// A valid config of every type that sends one JSON request.
    fn sample_configs() -> Vec<(&'static str, Value)> {
        use serde_json::json;
        let hook = json!({"webhookURL": "https://hooks.example/x"});
        vec![
            (
                "customwebhook",
                json!({"webhookURL": "https://hooks.example/x", "headers": [{"key": "X-A", "value": "b"}]}),
            ),
            ("slack", hook.clone()),
            ("slackbot", json!({"botToken": "xoxb-1", "channel": "#sec"})),
            ("msteams", hook.clone()),
            (
                "discord",
                json!({"webhookURL": "https://hooks.example/x", "messageTemplate": "hi {{ title }}"}),
            ),
            (
                "pagerduty",
                json!({"integrationKey": "0123456789abcdef0123456789abcdef"}),
            ),
            ("opsgenie", json!({"apiKey": "k"})),
            (
                "jira",
                json!({"orgDomain": "acme.atlassian.net", "projectKey": "SEC", "userName": "u", "apiKey": "k", "assigneeId": "a1", "labels": ["x"]}),
            ),
            (
                "jiradatacenter",
                json!({"url": "https://jira.example", "projectKey": "SEC", "personalAccessToken": "t"}),
            ),
            ("github", json!({"repoName": "acme/sec", "token": "t"})),
            (
                "asana",
                json!({"personalAccessToken": "t", "projectGids": ["1", "2"]}),
            ),
            (
                "googlepubsub",
                json!({"projectId": "p", "topicId": "t", "serviceAccountKey": "{}"}),
            ),
            (
                "splunk",
                json!({"hecUrl": "https://splunk:8088", "hecToken": "t", "index": "main"}),
            ),
            (
                "incidentio",
                json!({"alertSourceUrl": "https://api.incident.io/v2/alert_events/http/1", "token": "t"}),
            ),
            ("tines", hook.clone()),
            (
                "torq",
                json!({"webhookURL": "https://hooks.example/x", "authHeaderName": "X-K", "authHeaderValue": "v"}),
            ),
            ("blinkops", hook.clone()),
            ("mindflow", hook.clone()),
            (
                "servicenow",
                json!({"webhookURL": "https://sn.example/x", "username": "u", "password": "p"}),
            ),
            ("rapid7", hook),
        ]
    }

    /// Herald has always sent JSON bodies with their members in key order (built as
    /// `serde_json::Value`); the typed wire structs must keep every byte, so each body
    /// must equal its own canonical re-serialization.
    #[test]
    fn json_bodies_keep_their_canonical_member_order() {
        use crate::domain::payload::{panther_payload, test_alert, Payload};
        let mut alert = test_alert(1_700_000_000_123);
        alert.alert_context = serde_json::json!({"ip": "203.0.113.7", "user": "root"});
        alert.tags = vec!["a".into(), "b".into()];
        alert.severity = crate::domain::Severity::High;
        for kind in [
            DeliveryKind::Routed,
            DeliveryKind::Resend,
            DeliveryKind::Resolve,
        ] {
            let payload = panther_payload(&alert, "https://herald.example", kind);
            let built = Payload::new(&alert, "https://herald.example", kind);
            let ctx = DeliveryContext {
                delivery_id: "d-1",
                alert: &alert,
                payload: &built,
                public_url: "https://herald.example",
                timestamp: 1_700_000_000,
                kind,
                template_budget: Default::default(),
            };
            for (output_type, config) in sample_configs() {
                let i = integration(output_type).unwrap();
                if output_type != "googlepubsub" {
                    // (its key is checked at validation; building needs none)
                    i.validate(&config).unwrap();
                }
                let req = i.build_request(&config, &ctx).unwrap();
                let canonical: Value = serde_json::from_str(&req.body).unwrap();
                assert_eq!(req.body, canonical.to_string(), "{output_type} {kind:?}");
                if output_type != "customwebhook" && output_type != "tines" {
                    continue;
                }
                assert_eq!(canonical, payload, "{output_type}");
            }
        }
    }
}
