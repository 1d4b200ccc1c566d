//! `sqs`: SQS `SendMessage` signed with SigV4; body = the Panther payload JSON.
use super::aws::{message_id, AwsCredentials, AwsTarget};
use super::common::opt;
use super::{
    validate_url, ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration,
    OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SqsConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SqsConfig {
    /// `https://sqs.<region>.amazonaws.com/<account>/<queue>`.
    pub queue_url: String,
    /// Default: the region in the queue URL.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub credentials: AwsCredentials,
    /// Replaces `https://sqs.{region}.amazonaws.com` as the endpoint.
    #[serde(default)]
    pub api_url: Option<String>,
}

fn region(c: &SqsConfig) -> ConfigResult<String> {
    if let Some(r) = opt(&c.region) {
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
        _ => Err(ConfigError::at(
            "region",
            "is required when queueUrl is not an sqs.<region>.amazonaws.com URL",
        )),
    }
}

fn target(c: &SqsConfig) -> ConfigResult<AwsTarget<'_>> {
    Ok(AwsTarget {
        service: "sqs",
        region: region(c)?,
        api_url: c.api_url.as_deref(),
        credentials: &c.credentials,
    })
}

#[derive(Default)]
pub struct Sqs;

impl Integration for Sqs {
    type Config = SqsConfig;
    const OUTPUT_TYPE: &'static str = "sqs";
    const TARGET_PATHS: &'static [&'static str] = &["queueUrl", "region", "apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = AwsCredentials::SECRET_PATHS;

    fn validate(&self, c: &SqsConfig) -> ConfigResult<()> {
        validate_url("queueUrl", &c.queue_url)?;
        target(c)?.validate()
    }

    fn build_request(
        &self,
        c: &SqsConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let message = ctx.payload.json().to_string();
        let form = [
            ("Action", "SendMessage"),
            ("Version", "2012-11-05"),
            ("QueueUrl", c.queue_url.trim()),
            ("MessageBody", message.as_str()),
        ];
        target(c)?.post(&form, ctx.timestamp)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        message_id(body)
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
