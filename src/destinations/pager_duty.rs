//! `pagerDuty`: Events API v2. A routed alert triggers an event deduplicated on the
//! alert id; resolving or closing the alert sends `resolve` for the same key.
use super::common::{base_url, cut, field, require_secret, validate_opt_url};
use super::{parse_config, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use crate::domain::DeliveryKind;
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

/// Panther severity → PagerDuty severity.
pub fn severity(s: &str) -> &'static str {
    match s {
        "CRITICAL" => "critical",
        "HIGH" => "error",
        "MEDIUM" => "warning",
        _ => "info",
    }
}

pub struct PagerDuty;

impl Integration for PagerDuty {
    fn output_type(&self) -> &'static str {
        "pagerduty"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["integrationKey"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: PagerDutyConfig = parse_config(config)?;
        require_secret("integrationKey", &c.integration_key)?;
        if c.integration_key.trim().len() != 32
            || !c
                .integration_key
                .trim()
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric())
        {
            return Err("integrationKey must be a 32-character PagerDuty integration key".into());
        }
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: PagerDutyConfig = parse_config(config)?;
        let p = ctx.payload;
        let url = format!(
            "{}/v2/enqueue",
            base_url(c.api_url.as_deref(), "https://events.pagerduty.com")
        );
        let body = if ctx.kind == DeliveryKind::Resolve {
            json!({
                "routing_key": c.integration_key.trim(),
                "event_action": "resolve",
                "dedup_key": ctx.alert.id,
            })
        } else {
            json!({
                "routing_key": c.integration_key.trim(),
                "event_action": "trigger",
                "dedup_key": ctx.alert.id,
                "payload": {
                    "summary": cut(field(p, "title"), 1024),
                    "source": "Herald",
                    "severity": severity(field(p, "severity")),
                    "timestamp": field(p, "createdAt"),
                    "component": field(p, "id"),
                    "class": field(p, "type"),
                    "custom_details": p,
                },
                "links": [{"href": field(p, "link"), "text": "Alert in Herald"}],
                "client": "Herald",
                "client_url": field(p, "link"),
            })
        };
        Ok(OutboundRequest::post_json(url, &body))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let key = v.get("dedup_key").and_then(Value::as_str)?;
        Some(ExternalRef {
            id: key.to_string(),
            url: None,
        })
    }

    fn supports_resolve(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_severities() {
        assert_eq!(severity("INFO"), "info");
        assert_eq!(severity("LOW"), "info");
        assert_eq!(severity("MEDIUM"), "warning");
        assert_eq!(severity("HIGH"), "error");
        assert_eq!(severity("CRITICAL"), "critical");
    }
}
