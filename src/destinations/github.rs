//! `github`: an issue with the alert title and a Markdown body.
use super::common::{
    base_url, bearer, cut, field, markdown_body, require_secret, validate_opt_url,
};
use super::{parse_config, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "GithubConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct GithubConfig {
    /// `owner/repo`.
    pub repo_name: String,
    /// A token that may create issues in the repository. Secret: shown redacted.
    pub token: String,
    /// API base URL (default `https://api.github.com`; GitHub Enterprise: `https://host/api/v3`).
    #[serde(default)]
    pub api_url: Option<String>,
}

fn split_repo(name: &str) -> Result<(&str, &str), String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match name.trim().split_once('/') {
        Some((owner, repo)) if valid(owner) && valid(repo) => Ok((owner, repo)),
        _ => Err(format!("repoName must be owner/repo, not {name:?}")),
    }
}

pub struct Github;

impl Integration for Github {
    fn output_type(&self) -> &'static str {
        "github"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["token"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: GithubConfig = parse_config(config)?;
        split_repo(&c.repo_name)?;
        require_secret("token", &c.token)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: GithubConfig = parse_config(config)?;
        let (owner, repo) = split_repo(&c.repo_name)?;
        let url = format!(
            "{}/repos/{owner}/{repo}/issues",
            base_url(c.api_url.as_deref(), "https://api.github.com")
        );
        let p = ctx.payload;
        let body = json!({
            "title": cut(&format!("[{}] {}", field(p, "severity"), field(p, "title")), 256),
            "body": markdown_body(p),
        });
        let mut req = OutboundRequest::post_json(url, &body);
        req.headers
            .push(("accept".into(), "application/vnd.github+json".into()));
        req.headers
            .push(("x-github-api-version".into(), "2022-11-28".into()));
        req.headers.push(("authorization".into(), bearer(&c.token)));
        Ok(req)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let number = v.get("number").and_then(Value::as_i64)?;
        let url = v.get("html_url").and_then(Value::as_str).map(str::to_owned);
        Some(ExternalRef {
            id: format!("#{number}"),
            url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names() {
        assert_eq!(
            split_repo("acme/sec-alerts").unwrap(),
            ("acme", "sec-alerts")
        );
        assert!(split_repo("acme").is_err());
        assert!(split_repo("acme/a/b").is_err());
    }
}
