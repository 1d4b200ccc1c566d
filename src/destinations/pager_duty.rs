//! `pagerDuty`: Events API v2. A routed alert triggers an event deduplicated on the
//! alert id; resolving or closing the alert sends `resolve` for the same key.
use super::common::{base_url, cut, reply_member, require, validate_opt_url};
use super::{ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use crate::domain::{DeliveryKind, Severity};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "PagerDutyConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct PagerDutyConfig {
    /// Events API v2 integration (routing) key. Secret: shown redacted.
    pub integration_key: String,
    /// Events API base URL (default `https://events.pagerduty.com`).
    #[serde(default)]
    pub api_url: Option<String>,
}

/// Herald severity → PagerDuty severity.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "info",
    }
}

/// An Events API v2 event (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
struct Event<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_url: Option<String>,
    dedup_key: &'a str,
    event_action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<[Link; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Payload<'a>>,
    routing_key: &'a str,
}

#[derive(Debug, Serialize)]
struct Link {
    href: String,
    text: &'static str,
}

#[derive(Debug, Serialize)]
struct Payload<'a> {
    class: &'static str,
    component: &'a str,
    custom_details: &'a serde_json::value::RawValue,
    severity: &'static str,
    source: &'static str,
    summary: String,
    timestamp: String,
}

#[derive(Default)]
pub struct PagerDuty;

impl Integration for PagerDuty {
    type Config = PagerDutyConfig;
    const OUTPUT_TYPE: &'static str = "pagerduty";
    const TARGET_PATHS: &'static [&'static str] = &["apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["integrationKey"];
    const SUPPORTS_RESOLVE: bool = true;

    fn validate(&self, c: &PagerDutyConfig) -> ConfigResult<()> {
        let key = c.integration_key.trim();
        require("integrationKey", key)?;
        if key.len() != 32 || !key.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            return Err(ConfigError::at(
                "integrationKey",
                "must be a 32-character PagerDuty integration key",
            ));
        }
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        c: &PagerDutyConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let a = ctx.alert;
        let url = format!(
            "{}/v2/enqueue",
            base_url(c.api_url.as_deref(), "https://events.pagerduty.com")
        );
        let mut event = Event {
            client: None,
            client_url: None,
            dedup_key: &a.id,
            event_action: "resolve",
            links: None,
            payload: None,
            routing_key: c.integration_key.trim(),
        };
        if ctx.kind != DeliveryKind::Resolve {
            let link = ctx.link();
            event.event_action = "trigger";
            event.client = Some("Herald");
            event.client_url = Some(link.clone());
            event.links = Some([Link {
                href: link,
                text: "Alert in Herald",
            }]);
            event.payload = Some(Payload {
                summary: cut(&ctx.title(), 1024),
                source: "Herald",
                severity: severity(a.severity),
                timestamp: ctx.created_at(),
                component: &a.detection_id,
                class: a.alert_type.as_str(),
                custom_details: ctx.payload.raw(),
            });
        }
        Ok(OutboundRequest::post_json(url, &event))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        reply_member(body, "dedup_key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_severities() {
        assert_eq!(severity(Severity::Info), "info");
        assert_eq!(severity(Severity::Low), "info");
        assert_eq!(severity(Severity::Medium), "warning");
        assert_eq!(severity(Severity::High), "error");
        assert_eq!(severity(Severity::Critical), "critical");
    }
}
