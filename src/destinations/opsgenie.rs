//! `opsgenie`: `POST /v2/alerts` with `GenieKey` auth, alias = alert id; resolving or
//! closing the alert closes the Opsgenie alert by alias.
use super::common::{base_url, cut, reply_member, require, validate_opt_url};
use super::{ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use crate::domain::{DeliveryKind, Severity};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

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

/// Herald severity → Opsgenie priority.
pub fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "P1",
        Severity::High => "P2",
        Severity::Medium => "P3",
        Severity::Low => "P4",
        Severity::Info => "P5",
    }
}

fn region(c: &OpsgenieConfig) -> ConfigResult<&'static str> {
    match c.service_region.as_deref().map(str::trim).unwrap_or("") {
        "" | "US" | "us" => Ok("https://api.opsgenie.com"),
        "EU" | "eu" => Ok("https://api.eu.opsgenie.com"),
        other => Err(ConfigError::at(
            "serviceRegion",
            format!("must be US or EU, not {other:?}"),
        )),
    }
}

fn encode_path(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `POST /v2/alerts` (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
struct CreateAlert<'a> {
    alias: &'a str,
    description: String,
    details: Details<'a>,
    entity: &'a str,
    message: String,
    priority: &'static str,
    source: &'static str,
    tags: &'a [String],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Details<'a> {
    alert_context: String,
    created_at: String,
    detection: &'a str,
    link: String,
    runbook: &'a str,
    severity: &'static str,
}

/// `POST /v2/alerts/{alias}/close`.
#[derive(Debug, Serialize)]
struct Close {
    note: String,
    source: &'static str,
    user: &'static str,
}

#[derive(Default)]
pub struct Opsgenie;

impl Integration for Opsgenie {
    type Config = OpsgenieConfig;
    const OUTPUT_TYPE: &'static str = "opsgenie";
    const TARGET_PATHS: &'static [&'static str] = &["serviceRegion", "apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["apiKey"];
    const SUPPORTS_RESOLVE: bool = true;

    fn validate(&self, c: &OpsgenieConfig) -> ConfigResult<()> {
        require("apiKey", &c.api_key)?;
        region(c)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        c: &OpsgenieConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let base = base_url(c.api_url.as_deref(), region(c)?);
        let a = ctx.alert;
        let req = if ctx.kind == DeliveryKind::Resolve {
            OutboundRequest::post_json(
                format!(
                    "{base}/v2/alerts/{}/close?identifierType=alias",
                    encode_path(&a.id)
                ),
                &Close {
                    source: "Herald",
                    user: "Herald",
                    note: format!("Alert {} in Herald", a.status.as_str().to_lowercase()),
                },
            )
        } else {
            let alert_context = match &a.alert_context {
                serde_json::Value::Null => "{}".to_string(),
                v => v.to_string(),
            };
            OutboundRequest::post_json(
                format!("{base}/v2/alerts"),
                &CreateAlert {
                    message: cut(&ctx.title(), 130),
                    alias: &a.id,
                    description: cut(&a.description, 15000),
                    priority: priority(a.severity),
                    tags: &a.tags,
                    details: Details {
                        severity: a.severity.as_str(),
                        detection: &a.detection_id,
                        link: ctx.link(),
                        runbook: &a.runbook,
                        created_at: ctx.created_at(),
                        alert_context,
                    },
                    source: "Herald",
                    entity: &a.detection_id,
                },
            )
        };
        Ok(req.with_header("authorization", format!("GenieKey {}", c.api_key.trim())))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        reply_member(body, "requestId")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_priorities_and_regions() {
        assert_eq!(priority(Severity::Critical), "P1");
        assert_eq!(priority(Severity::Info), "P5");
        let eu: OpsgenieConfig =
            serde_json::from_value(json!({"apiKey": "k", "serviceRegion": "EU"})).unwrap();
        assert_eq!(region(&eu).unwrap(), "https://api.eu.opsgenie.com");
        let bad: OpsgenieConfig =
            serde_json::from_value(json!({"apiKey": "k", "serviceRegion": "APAC"})).unwrap();
        assert_eq!(region(&bad).unwrap_err().path, "serviceRegion");
    }
}
