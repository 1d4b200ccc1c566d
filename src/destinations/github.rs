//! `github`: an issue with the alert title and a Markdown body.
use super::common::{base_url, bearer, cut, markdown_body, require, validate_opt_url};
use super::{ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

fn split_repo(name: &str) -> ConfigResult<(&str, &str)> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match name.trim().split_once('/') {
        Some((owner, repo)) if valid(owner) && valid(repo) => Ok((owner, repo)),
        _ => Err(ConfigError::at(
            "repoName",
            format!("must be owner/repo, not {name:?}"),
        )),
    }
}

/// `POST /repos/{owner}/{repo}/issues`.
#[derive(Debug, Serialize)]
struct NewIssue {
    body: String,
    title: String,
}

#[derive(Default)]
pub struct Github;

impl Integration for Github {
    type Config = GithubConfig;
    const OUTPUT_TYPE: &'static str = "github";
    const TARGET_PATHS: &'static [&'static str] = &["apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["token"];

    fn validate(&self, c: &GithubConfig) -> ConfigResult<()> {
        split_repo(&c.repo_name)?;
        require("token", &c.token)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        c: &GithubConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let (owner, repo) = split_repo(&c.repo_name)?;
        let url = format!(
            "{}/repos/{owner}/{repo}/issues",
            base_url(c.api_url.as_deref(), "https://api.github.com")
        );
        let issue = NewIssue {
            title: cut(
                &format!("[{}] {}", ctx.alert.severity.as_str(), ctx.title()),
                256,
            ),
            body: markdown_body(ctx),
        };
        Ok(OutboundRequest::post_json(url, &issue)
            .with_header("accept", "application/vnd.github+json")
            .with_header("x-github-api-version", "2022-11-28")
            .with_header("authorization", bearer(&c.token)))
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
