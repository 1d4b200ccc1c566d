//! `incidentIo`: an incident.io HTTP alert source event, deduplicated on the alert id;
//! resolving or closing the alert sends the same key with status `resolved`.
use super::common::{bearer, reply_member, require};
use super::{validate_url, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use crate::domain::DeliveryKind;
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "IncidentIoConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct IncidentIoConfig {
    /// The alert source's URL (`https://api.incident.io/v2/alert_events/http/<id>`).
    pub alert_source_url: String,
    /// The alert source's token. Secret: shown redacted.
    pub token: String,
}

/// An HTTP alert source event (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
struct AlertEvent<'a> {
    deduplication_key: &'a str,
    description: &'a str,
    metadata: &'a serde_json::value::RawValue,
    source_url: String,
    status: &'static str,
    title: String,
}

#[derive(Default)]
pub struct IncidentIo;

impl Integration for IncidentIo {
    type Config = IncidentIoConfig;
    const OUTPUT_TYPE: &'static str = "incidentio";
    const TARGET_PATHS: &'static [&'static str] = &["alertSourceUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["token"];
    const SUPPORTS_RESOLVE: bool = true;

    fn validate(&self, c: &IncidentIoConfig) -> ConfigResult<()> {
        validate_url("alertSourceUrl", &c.alert_source_url)?;
        require("token", &c.token)
    }

    fn build_request(
        &self,
        c: &IncidentIoConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let event = AlertEvent {
            title: ctx.title(),
            description: &ctx.alert.description,
            deduplication_key: &ctx.alert.id,
            status: if ctx.kind == DeliveryKind::Resolve {
                "resolved"
            } else {
                "firing"
            },
            source_url: ctx.link(),
            metadata: ctx.payload.raw(),
        };
        Ok(OutboundRequest::post_json(c.alert_source_url.trim(), &event)
            .with_header("authorization", bearer(&c.token)))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        reply_member(body, "deduplication_key")
    }
}
