//! `customWebhook`: the Panther payload as JSON to any URL, with optional custom headers
//! and an optional Standard Webhooks signature.
use super::{
    json_webhook, parse_config, signing, template, validate_url, DeliveryContext, Integration,
    OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

pub struct CustomWebhook;

impl Integration for CustomWebhook {
    fn output_type(&self) -> &'static str {
        "customwebhook"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["webhookURL", "headers[key].value", "signingSecret"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: CustomWebhookConfig = parse_config(config)?;
        validate_url("webhookURL", &c.webhook_url)?;
        for h in c.headers.iter().flatten() {
            reqwest::header::HeaderName::from_bytes(h.key.as_bytes())
                .map_err(|_| format!("header name {:?} is not a valid HTTP header name", h.key))?;
            reqwest::header::HeaderValue::from_str(&h.value).map_err(|_| {
                format!(
                    "the value of header {:?} is not a valid HTTP header value",
                    h.key
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
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: CustomWebhookConfig = parse_config(config)?;
        let mut req = json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)?;
        for h in c.headers.unwrap_or_default() {
            req.headers.push((h.key, h.value));
        }
        if let Some(secret) = c.signing_secret.filter(|s| !s.is_empty()) {
            req.headers
                .push(("webhook-timestamp".into(), ctx.timestamp.to_string()));
            req.headers.push((
                "webhook-signature".into(),
                signing::sign(&secret, ctx.delivery_id, ctx.timestamp, &req.body)?,
            ));
        }
        Ok(req)
    }
}
