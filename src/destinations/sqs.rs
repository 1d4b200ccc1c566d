//! `sqs`: SQS `SendMessage` signed with SigV4; body = the Panther payload JSON.
use super::aws::{signed_form_post, validate_credentials, validate_region, xml_value};
use super::common::{base_url, validate_opt_url};
use super::{
    parse_config, validate_url, DeliveryContext, ExternalRef, Integration, OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SqsConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SqsConfig {
    /// `https://sqs.<region>.amazonaws.com/<account>/<queue>`.
    pub queue_url: String,
    /// Default: the region in the queue URL.
    #[serde(default)]
    pub region: Option<String>,
    /// Leave both keys empty to use Herald's AWS environment credentials.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret: shown redacted.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Replaces `https://sqs.{region}.amazonaws.com` as the endpoint.
    #[serde(default)]
    pub api_url: Option<String>,
}

fn region(c: &SqsConfig) -> Result<String, String> {
    if let Some(r) = c.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(r.to_string());
    }
    let host = url::Url::parse(c.queue_url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        ["sqs", region, "amazonaws", ..] => Ok(region.to_string()),
        [region, "queue", "amazonaws", ..] => Ok(region.to_string()),
        _ => {
            Err("region is required when queueUrl is not an sqs.<region>.amazonaws.com URL".into())
        }
    }
}

pub struct Sqs;

impl Integration for Sqs {
    fn output_type(&self) -> &'static str {
        "sqs"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["queueUrl", "region", "apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["secretAccessKey"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: SqsConfig = parse_config(config)?;
        validate_url("queueUrl", &c.queue_url)?;
        validate_region(&region(&c)?)?;
        validate_credentials(&c.access_key_id, &c.secret_access_key)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: SqsConfig = parse_config(config)?;
        let region = region(&c)?;
        let url = format!(
            "{}/",
            base_url(
                c.api_url.as_deref(),
                &format!("https://sqs.{region}.amazonaws.com")
            )
        );
        let message = ctx.payload.to_string();
        let form = [
            ("Action", "SendMessage"),
            ("Version", "2012-11-05"),
            ("QueueUrl", c.queue_url.trim()),
            ("MessageBody", message.as_str()),
        ];
        signed_form_post(
            &url,
            &form,
            "sqs",
            &region,
            &c.access_key_id,
            &c.secret_access_key,
            ctx.timestamp,
        )
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        xml_value(body, "MessageId").map(|id| ExternalRef { id, url: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_from_queue_url() {
        let c: SqsConfig = serde_json::from_value(serde_json::json!({"queueUrl": "https://sqs.us-west-2.amazonaws.com/123456789012/alerts"})).unwrap();
        assert_eq!(region(&c).unwrap(), "us-west-2");
    }
}
