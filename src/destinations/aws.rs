//! AWS query-protocol requests (SNS `Publish`, SQS `SendMessage`) signed with SigV4 by
//! `aws-sigv4`. Credentials come from the config, or from the standard environment
//! variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
use super::common::is_set;
use super::OutboundRequest;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::{Duration, UNIX_EPOCH};

/// Both static credential fields or neither.
pub fn validate_credentials(
    access_key_id: &Option<String>,
    secret_access_key: &Option<String>,
) -> Result<(), String> {
    match (is_set(access_key_id), is_set(secret_access_key)) {
        (true, false) => Err("secretAccessKey is required with accessKeyId".into()),
        (false, true) => Err("accessKeyId is required with secretAccessKey".into()),
        _ => Ok(()),
    }
}

pub fn validate_region(region: &str) -> Result<(), String> {
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!("region {region:?} is not an AWS region name"));
    }
    Ok(())
}

fn credentials(
    access_key_id: &Option<String>,
    secret_access_key: &Option<String>,
) -> Result<Credentials, String> {
    if is_set(access_key_id) && is_set(secret_access_key) {
        return Ok(Credentials::new(
            access_key_id.as_deref().unwrap_or_default().trim(),
            secret_access_key.as_deref().unwrap_or_default().trim(),
            None,
            None,
            "herald-config",
        ));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment")),
        _ => Err("no AWS credentials: set accessKeyId and secretAccessKey, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in Herald's environment".into()),
    }
}

/// A signed `POST {url}` with a form body, for `service` in `region`, signed at `timestamp`.
pub fn signed_form_post(
    url: &str,
    form: &[(&str, &str)],
    service: &str,
    region: &str,
    access_key_id: &Option<String>,
    secret_access_key: &Option<String>,
    timestamp: i64,
) -> Result<OutboundRequest, String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = credentials(access_key_id, secret_access_key)?.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(timestamp.max(0) as u64))
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into();
    let headers = [("content-type", content_type)];
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the request: {e}"))?
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
pub fn xml_value(body: &str, tag: &str) -> Option<String> {
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
            &Some("AKIDEXAMPLE".into()),
            &Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
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
        assert!(validate_credentials(&Some("A".into()), &None).is_err());
        assert!(validate_credentials(&None, &None).is_ok());
    }
}
