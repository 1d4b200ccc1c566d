//! `serviceNow`: the Panther payload JSON to a ServiceNow endpoint (e.g. a Scripted REST
//! API) with Basic auth.
use super::common::{basic_auth, require, require_secret};
use super::{
    json_webhook, parse_config, template, validate_url, DeliveryContext, Integration,
    OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "ServiceNowConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct ServiceNowConfig {
    #[graphql(name = "webhookURL")]
    #[serde(rename = "webhookURL")]
    pub webhook_url: String,
    pub username: String,
    /// Secret: shown redacted.
    pub password: String,
    /// Optional minijinja template for the request body (default: the Panther payload).
    #[serde(default)]
    pub payload_template: Option<String>,
}

pub struct ServiceNow;

impl Integration for ServiceNow {
    fn output_type(&self) -> &'static str {
        "servicenow"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["password"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: ServiceNowConfig = parse_config(config)?;
        validate_url("webhookURL", &c.webhook_url)?;
        require("username", &c.username)?;
        if c.username.contains(':') {
            return Err("username must not contain ':'".into());
        }
        require_secret("password", &c.password)?;
        template::check_opt("payloadTemplate", c.payload_template.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: ServiceNowConfig = parse_config(config)?;
        let mut req = json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)?;
        req.headers
            .push(("accept".into(), "application/json".into()));
        req.headers.push((
            "authorization".into(),
            basic_auth(c.username.trim(), &c.password),
        ));
        Ok(req)
    }
}
