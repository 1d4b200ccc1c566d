//! `serviceNow`: the Panther payload JSON to a ServiceNow endpoint (e.g. a Scripted REST
//! API) with Basic auth.
use super::common::{basic_auth, require};
use super::{
    json_webhook, template, validate_url, ConfigError, ConfigResult, DeliveryContext, Integration,
    OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

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

#[derive(Default)]
pub struct ServiceNow;

impl Integration for ServiceNow {
    type Config = ServiceNowConfig;
    const OUTPUT_TYPE: &'static str = "servicenow";
    const TARGET_PATHS: &'static [&'static str] = &["webhookURL"];
    const SECRET_PATHS: &'static [&'static str] = &["password"];

    fn validate(&self, c: &ServiceNowConfig) -> ConfigResult<()> {
        validate_url("webhookURL", &c.webhook_url)?;
        require("username", &c.username)?;
        if c.username.contains(':') {
            return Err(ConfigError::at("username", "must not contain ':'"));
        }
        require("password", &c.password)?;
        template::check_opt("payloadTemplate", c.payload_template.as_deref())
    }

    fn build_request(
        &self,
        c: &ServiceNowConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        Ok(
            json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)?
                .with_header("accept", "application/json")
                .with_header("authorization", basic_auth(c.username.trim(), &c.password)),
        )
    }
}
