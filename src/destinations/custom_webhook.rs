//! `customWebhook`: the Panther payload as JSON to any URL, with optional custom headers
//! and an optional Standard Webhooks signature.
use super::{
    json_webhook, signing, template, validate_url, ConfigError, ConfigResult, DeliveryContext,
    Integration, OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "HeaderInput")]
pub struct Header {
    pub key: String,
    /// Secret: shown redacted.
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "CustomWebhookConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct CustomWebhookConfig {
    /// Secret: shown redacted.
    #[graphql(name = "webhookURL")]
    #[serde(rename = "webhookURL")]
    pub webhook_url: String,
    #[serde(default)]
    pub headers: Option<Vec<Header>>,
    /// Optional Standard Webhooks secret (`whsec_…`); secret.
    #[serde(default)]
    pub signing_secret: Option<String>,
    /// Optional minijinja template for the request body (default: the Panther payload).
    #[serde(default)]
    pub payload_template: Option<String>,
}

#[derive(Default)]
pub struct CustomWebhook;

impl Integration for CustomWebhook {
    type Config = CustomWebhookConfig;
    const OUTPUT_TYPE: &'static str = "customwebhook";
    const TARGET_PATHS: &'static [&'static str] = &["webhookURL"];
    const SECRET_PATHS: &'static [&'static str] =
        &["webhookURL", "headers[key].value", "signingSecret"];

    fn validate(&self, c: &CustomWebhookConfig) -> ConfigResult<()> {
        validate_url("webhookURL", &c.webhook_url)?;
        for h in c.headers.iter().flatten() {
            reqwest::header::HeaderName::from_bytes(h.key.as_bytes()).map_err(|_| {
                ConfigError::at(
                    format!("headers[{}].key", h.key),
                    format!("header name {:?} is not a valid HTTP header name", h.key),
                )
            })?;
            reqwest::header::HeaderValue::from_str(&h.value).map_err(|_| {
                ConfigError::at(
                    format!("headers[{}].value", h.key),
                    format!(
                        "the value of header {:?} is not a valid HTTP header value",
                        h.key
                    ),
                )
            })?;
        }
        if let Some(secret) = c.signing_secret.as_deref().filter(|s| !s.is_empty()) {
            signing::key_bytes(secret)?;
        }
        template::check_opt("payloadTemplate", c.payload_template.as_deref())
    }

    fn build_request(
        &self,
        c: &CustomWebhookConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let mut req = json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)?;
        for h in c.headers.iter().flatten() {
            req.headers.push((h.key.clone(), h.value.clone()));
        }
        if let Some(secret) = c.signing_secret.as_deref().filter(|s| !s.is_empty()) {
            let signature = signing::sign(secret, ctx.delivery_id, ctx.timestamp, &req.body)?;
            req = req
                .with_header("webhook-timestamp", ctx.timestamp.to_string())
                .with_header("webhook-signature", signature);
        }
        Ok(req)
    }
}
