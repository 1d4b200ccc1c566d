//! `splunk`: the HTTP Event Collector, `Authorization: Splunk <token>`, the payload as the event.
use super::common::{opt, require};
use super::{validate_url, ConfigResult, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SplunkConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SplunkConfig {
    /// The HEC endpoint (`https://host:8088/services/collector/event`); a bare host gets that path.
    pub hec_url: String,
    /// Secret: shown redacted.
    pub hec_token: String,
    /// Default `herald:alert`.
    #[serde(default)]
    pub sourcetype: Option<String>,
    /// The index, when not the token's default.
    #[serde(default)]
    pub index: Option<String>,
}

fn endpoint(hec_url: &str) -> String {
    let u = hec_url.trim().trim_end_matches('/');
    match url::Url::parse(u) {
        Ok(parsed) if parsed.path() == "/" || parsed.path().is_empty() => {
            format!("{u}/services/collector/event")
        }
        _ => u.to_string(),
    }
}

/// A HEC event (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
struct Event<'a> {
    event: &'a serde_json::value::RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a str>,
    source: &'static str,
    sourcetype: &'a str,
    time: f64,
}

#[derive(Default)]
pub struct Splunk;

impl Integration for Splunk {
    type Config = SplunkConfig;
    const OUTPUT_TYPE: &'static str = "splunk";
    const TARGET_PATHS: &'static [&'static str] = &["hecUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["hecToken"];

    fn validate(&self, c: &SplunkConfig) -> ConfigResult<()> {
        validate_url("hecUrl", &c.hec_url)?;
        require("hecToken", &c.hec_token)
    }

    fn build_request(
        &self,
        c: &SplunkConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let event = Event {
            time: ctx.alert.created_at as f64 / 1000.0,
            source: "herald",
            sourcetype: opt(&c.sourcetype).unwrap_or("herald:alert"),
            event: ctx.payload.raw(),
            index: opt(&c.index),
        };
        Ok(OutboundRequest::post_json(endpoint(&c.hec_url), &event)
            .with_header("authorization", format!("Splunk {}", c.hec_token.trim())))
    }

    fn reply_error(&self, _status: u16, body: &str) -> Option<String> {
        let v: Value = serde_json::from_str(body).ok()?;
        match v.get("code").and_then(Value::as_i64) {
            Some(0) | None => None,
            Some(code) => Some(format!(
                "Splunk HEC error {code}: {}",
                v.get("text").and_then(Value::as_str).unwrap_or("")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts_get_the_event_path() {
        assert_eq!(
            endpoint("https://splunk:8088"),
            "https://splunk:8088/services/collector/event"
        );
        assert_eq!(
            endpoint("https://splunk:8088/services/collector/raw"),
            "https://splunk:8088/services/collector/raw"
        );
    }
}
