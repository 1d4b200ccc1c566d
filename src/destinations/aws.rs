//! AWS query-protocol requests (SNS `Publish`, SQS `SendMessage`) signed with SigV4 by
//! `aws-sigv4`. Credentials come from the config, or from the standard environment
//! variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
use super::common::{base_url, is_set, validate_opt_url};
use super::{ConfigError, ConfigResult, ExternalRef, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde::{Deserialize, Serialize};
use std::time::{Duration, UNIX_EPOCH};

/// Static credentials, part of the SNS and SQS configs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "AwsCredentialsInput")]
#[serde(rename_all = "camelCase")]
pub struct AwsCredentials {
    /// Leave both keys empty to use Herald's AWS environment credentials.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret: shown redacted.
    #[serde(default)]
    pub secret_access_key: Option<String>,
}

impl AwsCredentials {
    /// The secret of the config.
    pub const SECRET_PATHS: &'static [&'static str] = &["secretAccessKey"];

    /// Both static credential fields or neither.
    pub fn validate(&self) -> ConfigResult<()> {
        match (is_set(&self.access_key_id), is_set(&self.secret_access_key)) {
            (true, false) => Err(ConfigError::at(
                "secretAccessKey",
                "is required with accessKeyId",
            )),
            (false, true) => Err(ConfigError::at(
                "accessKeyId",
                "is required with secretAccessKey",
            )),
            _ => Ok(()),
        }
    }

    fn resolve(&self) -> ConfigResult<Credentials> {
        if is_set(&self.access_key_id) && is_set(&self.secret_access_key) {
            return Ok(Credentials::new(
                self.access_key_id.as_deref().unwrap_or_default().trim(),
                self.secret_access_key.as_deref().unwrap_or_default().trim(),
                None,
                None,
                "herald-config",
            ));
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Ok(Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment")),
            _ => Err(ConfigError::whole("no AWS credentials: set accessKeyId and secretAccessKey, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in Herald's environment")),
        }
    }
}

pub fn validate_region(region: &str) -> ConfigResult<()> {
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(ConfigError::at(
            "region",
            format!("{region:?} is not an AWS region name"),
        ));
    }
    Ok(())
}

/// Where an SNS or SQS request goes and how it is signed: the service, its region,
/// the endpoint (`apiUrl`, else `https://{service}.{region}.amazonaws.com`) and the
/// credentials.
pub struct AwsTarget<'a> {
    pub service: &'static str,
    pub region: String,
    pub api_url: Option<&'a str>,
    pub credentials: &'a AwsCredentials,
}

impl AwsTarget<'_> {
    /// The region's name, the credentials and the endpoint are valid.
    pub fn validate(&self) -> ConfigResult<()> {
        validate_region(&self.region)?;
        self.credentials.validate()?;
        validate_opt_url("apiUrl", self.api_url)
    }

    /// A signed `POST` of the query-protocol `form`, signed at `timestamp`.
    pub fn post(&self, form: &[(&str, &str)], timestamp: i64) -> ConfigResult<OutboundRequest> {
        let default = format!("https://{}.{}.amazonaws.com", self.service, self.region);
        let url = format!("{}/", base_url(self.api_url, &default));
        signed_form_post(
            &url,
            form,
            self.service,
            &self.region,
            &self.credentials.resolve()?,
            timestamp,
        )
    }
}

/// The `MessageId` an SNS or SQS reply carries.
pub fn message_id(body: &str) -> Option<ExternalRef> {
    xml_value(body, "MessageId").map(|id| ExternalRef { id, url: None })
}

/// A signed `POST {url}` with a form body, for `service` in `region`, signed at `timestamp`.
fn signed_form_post(
    url: &str,
    form: &[(&str, &str)],
    service: &str,
    region: &str,
    credentials: &Credentials,
    timestamp: i64,
) -> ConfigResult<OutboundRequest> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(timestamp.max(0) as u64))
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ConfigError::whole(format!("cannot sign the request: {e}")))?
        .into();
    let headers = [("content-type", content_type)];
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| ConfigError::whole(format!("cannot sign the request: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| ConfigError::whole(format!("cannot sign the request: {e}")))?
        .into_parts();
    let mut out = OutboundRequest {
        method: reqwest::Method::POST,
        url: url.to_string(),
        headers: vec![("content-type".into(), content_type.into())],
        body,
    };
    for (k, v) in instructions.headers() {
        out.headers.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// The text of `<tag>…</tag>` in an XML reply.
fn xml_value(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..start + end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_sigv4() {
        let req = signed_form_post(
            "https://sns.us-east-1.amazonaws.com/",
            &[("Action", "Publish"), ("Message", "hi")],
            "sns",
            "us-east-1",
            &Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ),
            1_700_000_000,
        )
        .unwrap();
        let auth = req
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1
            .clone();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/sns/aws4_request"
            ),
            "{auth}"
        );
        assert!(req
            .headers
            .iter()
            .any(|(k, v)| k == "x-amz-date" && v == "20231114T221320Z"));
        assert_eq!(req.body, "Action=Publish&Message=hi");
    }

    #[test]
    fn half_credentials_are_rejected() {
        let half = AwsCredentials {
            access_key_id: Some("A".into()),
            secret_access_key: None,
        };
        assert_eq!(half.validate().unwrap_err().path, "secretAccessKey");
        assert!(AwsCredentials::default().validate().is_ok());
    }
}
