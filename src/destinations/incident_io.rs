//! `incidentIo`: an incident.io HTTP alert source event, deduplicated on the alert id;
//! resolving or closing the alert sends the same key with status `resolved`.
use super::common::{bearer, field, require_secret};
use super::{
    parse_config, validate_url, DeliveryContext, ExternalRef, Integration, OutboundRequest,
};
use crate::domain::DeliveryKind;
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "IncidentIoConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct IncidentIoConfig {
    /// The alert source's URL (`https://api.incident.io/v2/alert_events/http/<id>`).
    pub alert_source_url: String,
    /// The alert source's token. Secret: shown redacted.
    pub token: String,
}

pub struct IncidentIo;

impl Integration for IncidentIo {
    fn output_type(&self) -> &'static str {
        "incidentio"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["alertSourceUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["token"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: IncidentIoConfig = parse_config(config)?;
        validate_url("alertSourceUrl", &c.alert_source_url)?;
        require_secret("token", &c.token)
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: IncidentIoConfig = parse_config(config)?;
        let p = ctx.payload;
        let status = if ctx.kind == DeliveryKind::Resolve {
            "resolved"
        } else {
            "firing"
        };
        let body = json!({
            "title": field(p, "title"),
            "description": field(p, "description"),
            "deduplication_key": ctx.alert.id,
            "status": status,
            "source_url": field(p, "link"),
            "metadata": p,
        });
        let mut req = OutboundRequest::post_json(c.alert_source_url.trim(), &body);
        req.headers.push(("authorization".into(), bearer(&c.token)));
        Ok(req)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let key = v.get("deduplication_key").and_then(Value::as_str)?;
        Some(ExternalRef {
            id: key.to_string(),
            url: None,
        })
    }

    fn supports_resolve(&self) -> bool {
        true
    }
}
