//! `splunk`: the HTTP Event Collector, `Authorization: Splunk <token>`, the payload as the event.
use super::common::require_secret;
use super::{parse_config, validate_url, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

pub struct Splunk;

impl Integration for Splunk {
    fn output_type(&self) -> &'static str {
        "splunk"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["hecUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["hecToken"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: SplunkConfig = parse_config(config)?;
        validate_url("hecUrl", &c.hec_url)?;
        require_secret("hecToken", &c.hec_token)
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: SplunkConfig = parse_config(config)?;
        let mut body = json!({
            "time": ctx.alert.created_at as f64 / 1000.0,
            "source": "herald",
            "sourcetype": c.sourcetype.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("herald:alert"),
            "event": ctx.payload,
        });
        if let Some(index) = c.index.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            body["index"] = Value::String(index.into());
        }
        let mut req = OutboundRequest::post_json(endpoint(&c.hec_url), &body);
        req.headers.push((
            "authorization".into(),
            format!("Splunk {}", c.hec_token.trim()),
        ));
        Ok(req)
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
