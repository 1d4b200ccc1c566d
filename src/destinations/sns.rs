//! `sns`: SNS `Publish` signed with SigV4; message = the Panther payload JSON,
//! subject = the title cut to 100 characters.
use super::aws::{message_id, AwsCredentials, AwsTarget};
use super::common::{opt, require};
use super::{ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SnsConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SnsConfig {
    /// `arn:aws:sns:<region>:<account>:<topic>`.
    pub topic_arn: String,
    /// Default: the region in the topic ARN.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub credentials: AwsCredentials,
    /// Replaces `https://sns.{region}.amazonaws.com`.
    #[serde(default)]
    pub api_url: Option<String>,
}

fn not_an_arn(c: &SnsConfig) -> ConfigError {
    ConfigError::at(
        "topicArn",
        format!("{:?} is not an SNS topic ARN", c.topic_arn),
    )
}

fn region(c: &SnsConfig) -> ConfigResult<String> {
    if let Some(r) = opt(&c.region) {
        return Ok(r.to_string());
    }
    let parts: Vec<&str> = c.topic_arn.trim().split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sns", region, _, _] if !region.is_empty() => Ok(region.to_string()),
        _ => Err(not_an_arn(c)),
    }
}

fn target(c: &SnsConfig) -> ConfigResult<AwsTarget<'_>> {
    Ok(AwsTarget {
        service: "sns",
        region: region(c)?,
        api_url: c.api_url.as_deref(),
        credentials: &c.credentials,
    })
}

/// SNS subjects: ASCII, no line breaks, at most 100 characters.
fn subject(title: &str) -> String {
    let clean: String = title
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return "Herald alert".into();
    }
    clean.chars().take(100).collect()
}

#[derive(Default)]
pub struct Sns;

impl Integration for Sns {
    type Config = SnsConfig;
    const OUTPUT_TYPE: &'static str = "sns";
    const TARGET_PATHS: &'static [&'static str] = &["topicArn", "region", "apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = AwsCredentials::SECRET_PATHS;

    fn validate(&self, c: &SnsConfig) -> ConfigResult<()> {
        require("topicArn", &c.topic_arn)?;
        if !c.topic_arn.trim().starts_with("arn:") || c.topic_arn.trim().split(':').count() != 6 {
            return Err(not_an_arn(c));
        }
        target(c)?.validate()
    }

    fn build_request(
        &self,
        c: &SnsConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let target = target(c)?;
        let message = ctx.payload.json().to_string();
        let subject = subject(&ctx.title());
        let form = [
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("TopicArn", c.topic_arn.trim()),
            ("Subject", subject.as_str()),
            ("Message", message.as_str()),
        ];
        target.post(&form, ctx.timestamp)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        message_id(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_ascii_and_short() {
        assert_eq!(subject("héllo\nworld"), "h llo world");
        assert_eq!(subject(&"x".repeat(150)).len(), 100);
    }

    #[test]
    fn region_from_arn() {
        let c: SnsConfig = serde_json::from_value(
            serde_json::json!({"topicArn": "arn:aws:sns:eu-west-1:123456789012:alerts"}),
        )
        .unwrap();
        assert_eq!(region(&c).unwrap(), "eu-west-1");
    }
}
