//! `jira`: a Jira Cloud issue through the REST API with Basic auth (user + API token).
//! The reply's issue key and browse URL are stored on the delivery.
use super::common::{base_url, basic_auth, cut, markdown_body, opt, require, validate_opt_url};
use super::{ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "JiraConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct JiraConfig {
    /// The site, e.g. `acme.atlassian.net` (or its https URL).
    pub org_domain: String,
    pub project_key: String,
    /// The Atlassian account e-mail the API token belongs to.
    pub user_name: String,
    /// Atlassian API token. Secret: shown redacted.
    pub api_key: String,
    /// Default `Task`.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Atlassian account id to assign the issue to.
    #[serde(default)]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Replaces `https://{orgDomain}` as the API base URL.
    #[serde(default)]
    pub api_url: Option<String>,
}

/// `https://host` for a bare domain, the URL itself otherwise.
pub fn site_url(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('/');
    if d.contains("://") {
        d.to_string()
    } else {
        format!("https://{d}")
    }
}

pub fn validate_labels(labels: &Option<Vec<String>>) -> ConfigResult<()> {
    for l in labels.iter().flatten() {
        if l.trim().is_empty() || l.chars().any(char::is_whitespace) {
            return Err(ConfigError::at(
                "labels",
                format!("label {l:?} must be non-empty and contain no spaces"),
            ));
        }
    }
    Ok(())
}

pub fn validate_project_key(key: &str) -> ConfigResult<()> {
    require("projectKey", key)?;
    if !key
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ConfigError::at(
            "projectKey",
            format!("{key:?} must be letters, digits and underscores"),
        ));
    }
    Ok(())
}

/// `POST /rest/api/2/issue`.
#[derive(Debug, Serialize)]
pub struct NewIssue<'a> {
    pub fields: IssueFields<'a>,
}

/// The `fields` of a new issue (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
pub struct IssueFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee<'a>>,
    pub description: String,
    pub issuetype: Named<'a>,
    pub labels: &'a [String],
    pub project: Key<'a>,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct Assignee<'a> {
    pub id: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Named<'a> {
    pub name: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Key<'a> {
    pub key: &'a str,
}

/// A new issue for the alert.
pub fn new_issue<'a>(
    project_key: &'a str,
    issue_type: &'a Option<String>,
    labels: &'a Option<Vec<String>>,
    ctx: &DeliveryContext<'_>,
) -> NewIssue<'a> {
    NewIssue {
        fields: IssueFields {
            assignee: None,
            project: Key {
                key: project_key.trim(),
            },
            issuetype: Named {
                name: opt(issue_type).unwrap_or("Task"),
            },
            summary: cut(&ctx.title(), 255),
            description: markdown_body(ctx),
            labels: labels.as_deref().unwrap_or_default(),
        },
    }
}

/// `{"key": "SEC-1", "self": "https://site/rest/api/2/issue/10001"}` → key and browse URL.
pub fn issue_reference(body: &str) -> Option<ExternalRef> {
    let v: Value = serde_json::from_str(body).ok()?;
    let key = v.get("key").and_then(Value::as_str)?;
    let url = v.get("self").and_then(Value::as_str).and_then(|s| {
        s.find("/rest/api/")
            .map(|i| format!("{}/browse/{key}", &s[..i]))
    });
    Some(ExternalRef {
        id: key.to_string(),
        url,
    })
}

#[derive(Default)]
pub struct Jira;

impl Integration for Jira {
    type Config = JiraConfig;
    const OUTPUT_TYPE: &'static str = "jira";
    const TARGET_PATHS: &'static [&'static str] = &["orgDomain", "apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["apiKey"];

    fn validate(&self, c: &JiraConfig) -> ConfigResult<()> {
        require("orgDomain", &c.org_domain)?;
        super::validate_url("orgDomain", &site_url(&c.org_domain))?;
        validate_project_key(&c.project_key)?;
        require("userName", &c.user_name)?;
        require("apiKey", &c.api_key)?;
        validate_labels(&c.labels)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        c: &JiraConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let base = base_url(c.api_url.as_deref(), &site_url(&c.org_domain));
        let mut issue = new_issue(&c.project_key, &c.issue_type, &c.labels, ctx);
        issue.fields.assignee = opt(&c.assignee_id).map(|id| Assignee { id });
        Ok(
            OutboundRequest::post_json(format!("{base}/rest/api/2/issue"), &issue)
                .with_header("accept", "application/json")
                .with_header(
                    "authorization",
                    basic_auth(c.user_name.trim(), c.api_key.trim()),
                ),
        )
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        issue_reference(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_key_and_browse_url() {
        let r = issue_reference(r#"{"id":"10001","key":"SEC-7","self":"https://acme.atlassian.net/rest/api/2/issue/10001"}"#).unwrap();
        assert_eq!(r.id, "SEC-7");
        assert_eq!(
            r.url.as_deref(),
            Some("https://acme.atlassian.net/browse/SEC-7")
        );
    }

    #[test]
    fn site_urls() {
        assert_eq!(site_url("acme.atlassian.net"), "https://acme.atlassian.net");
        assert_eq!(
            site_url("https://acme.atlassian.net/"),
            "https://acme.atlassian.net"
        );
    }
}
