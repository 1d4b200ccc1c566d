//! `opsgenie`: `POST /v2/alerts` with `GenieKey` auth, alias = alert id; resolving or
//! closing the alert closes the Opsgenie alert by alias.
use super::common::{base_url, cut, field, require_secret, validate_opt_url};
use super::{parse_config, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use crate::domain::DeliveryKind;
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "OpsgenieConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct OpsgenieConfig {
    /// API integration key. Secret: shown redacted.
    pub api_key: String,
    /// `US` (default) or `EU`.
    #[serde(default)]
    pub service_region: Option<String>,
    /// Replaces the regional API base URL.
    #[serde(default)]
    pub api_url: Option<String>,
}

/// Panther severity → Opsgenie priority.
pub fn priority(s: &str) -> &'static str {
    match s {
        "CRITICAL" => "P1",
        "HIGH" => "P2",
        "MEDIUM" => "P3",
        "LOW" => "P4",
        _ => "P5",
    }
}

fn region(c: &OpsgenieConfig) -> Result<&'static str, String> {
    match c.service_region.as_deref().map(str::trim).unwrap_or("") {
        "" | "US" | "us" => Ok("https://api.opsgenie.com"),
        "EU" | "eu" => Ok("https://api.eu.opsgenie.com"),
        other => Err(format!("serviceRegion must be US or EU, not {other:?}")),
    }
}

fn encode_path(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

pub struct Opsgenie;

impl Integration for Opsgenie {
    fn output_type(&self) -> &'static str {
        "opsgenie"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["serviceRegion", "apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["apiKey"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: OpsgenieConfig = parse_config(config)?;
        require_secret("apiKey", &c.api_key)?;
        region(&c)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: OpsgenieConfig = parse_config(config)?;
        let base = base_url(c.api_url.as_deref(), region(&c)?);
        let p = ctx.payload;
        let mut req = if ctx.kind == DeliveryKind::Resolve {
            OutboundRequest::post_json(
                format!(
                    "{base}/v2/alerts/{}/close?identifierType=alias",
                    encode_path(&ctx.alert.id)
                ),
                &json!({"source": "Herald", "user": "Herald", "note": format!("Alert {} in Herald", ctx.alert.status.as_str().to_lowercase())}),
            )
        } else {
            let details = json!({
                "severity": field(p, "severity"),
                "detection": field(p, "id"),
                "link": field(p, "link"),
                "runbook": field(p, "runbook"),
                "createdAt": field(p, "createdAt"),
                "alertContext": p.get("alertContext").map(Value::to_string).unwrap_or_default(),
            });
            OutboundRequest::post_json(
                format!("{base}/v2/alerts"),
                &json!({
                    "message": cut(field(p, "title"), 130),
                    "alias": ctx.alert.id,
                    "description": cut(field(p, "description"), 15000),
                    "priority": priority(field(p, "severity")),
                    "tags": p.get("tags").cloned().unwrap_or(json!([])),
                    "details": details,
                    "source": "Herald",
                    "entity": field(p, "id"),
                }),
            )
        };
        req.headers.push((
            "authorization".into(),
            format!("GenieKey {}", c.api_key.trim()),
        ));
        Ok(req)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let id = v.get("requestId").and_then(Value::as_str)?;
        Some(ExternalRef {
            id: id.to_string(),
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
    fn maps_priorities_and_regions() {
        assert_eq!(priority("CRITICAL"), "P1");
        assert_eq!(priority("INFO"), "P5");
        let eu: OpsgenieConfig =
            serde_json::from_value(json!({"apiKey": "k", "serviceRegion": "EU"})).unwrap();
        assert_eq!(region(&eu).unwrap(), "https://api.eu.opsgenie.com");
        let bad: OpsgenieConfig =
            serde_json::from_value(json!({"apiKey": "k", "serviceRegion": "APAC"})).unwrap();
        assert!(region(&bad).is_err());
    }
}
