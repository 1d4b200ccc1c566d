//! `sns`: SNS `Publish` signed with SigV4; message = the Panther payload JSON,
//! subject = the title cut to 100 characters.
use super::aws::{signed_form_post, validate_credentials, validate_region, xml_value};
use super::common::{base_url, field, require, validate_opt_url};
use super::{parse_config, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SnsConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SnsConfig {
    /// `arn:aws:sns:<region>:<account>:<topic>`.
    pub topic_arn: String,
    /// Default: the region in the topic ARN.
    #[serde(default)]
    pub region: Option<String>,
    /// Leave both keys empty to use Herald's AWS environment credentials.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret: shown redacted.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Replaces `https://sns.{region}.amazonaws.com`.
    #[serde(default)]
    pub api_url: Option<String>,
}

fn region(c: &SnsConfig) -> Result<String, String> {
    if let Some(r) = c.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(r.to_string());
    }
    let parts: Vec<&str> = c.topic_arn.trim().split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sns", region, _, _] if !region.is_empty() => Ok(region.to_string()),
        _ => Err(format!(
            "topicArn {:?} is not an SNS topic ARN",
            c.topic_arn
        )),
    }
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

pub struct Sns;

impl Integration for Sns {
    fn output_type(&self) -> &'static str {
        "sns"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["topicArn", "region", "apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["secretAccessKey"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: SnsConfig = parse_config(config)?;
        require("topicArn", &c.topic_arn)?;
        if !c.topic_arn.trim().starts_with("arn:") || c.topic_arn.trim().split(':').count() != 6 {
            return Err(format!(
                "topicArn {:?} is not an SNS topic ARN",
                c.topic_arn
            ));
        }
        validate_region(&region(&c)?)?;
        validate_credentials(&c.access_key_id, &c.secret_access_key)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: SnsConfig = parse_config(config)?;
        let region = region(&c)?;
        let url = format!(
            "{}/",
            base_url(
                c.api_url.as_deref(),
                &format!("https://sns.{region}.amazonaws.com")
            )
        );
        let message = ctx.payload.to_string();
        let subject = subject(field(ctx.payload, "title"));
        let form = [
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("TopicArn", c.topic_arn.trim()),
            ("Subject", subject.as_str()),
            ("Message", message.as_str()),
        ];
        signed_form_post(
            &url,
            &form,
            "sns",
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
