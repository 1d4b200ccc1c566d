//! `jira`: a Jira Cloud issue through the REST API with Basic auth (user + API token).
//! The reply's issue key and browse URL are stored on the delivery.
use super::common::{
    base_url, basic_auth, cut, field, markdown_body, require, require_secret, validate_opt_url,
};
use super::{parse_config, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

pub fn validate_labels(labels: &Option<Vec<String>>) -> Result<(), String> {
    for l in labels.iter().flatten() {
        if l.trim().is_empty() || l.chars().any(char::is_whitespace) {
            return Err(format!(
                "label {l:?} must be non-empty and contain no spaces"
            ));
        }
    }
    Ok(())
}

pub fn validate_project_key(key: &str) -> Result<(), String> {
    require("projectKey", key)?;
    if !key
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "projectKey {key:?} must be letters, digits and underscores"
        ));
    }
    Ok(())
}

/// The `fields` of a new issue.
pub fn issue_fields(
    project_key: &str,
    issue_type: Option<&str>,
    labels: &Option<Vec<String>>,
    payload: &Value,
) -> Value {
    json!({
        "project": {"key": project_key.trim()},
        "issuetype": {"name": issue_type.map(str::trim).filter(|t| !t.is_empty()).unwrap_or("Task")},
        "summary": cut(field(payload, "title"), 255),
        "description": markdown_body(payload),
        "labels": labels.clone().unwrap_or_default(),
    })
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

pub struct Jira;

impl Integration for Jira {
    fn output_type(&self) -> &'static str {
        "jira"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["orgDomain", "apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["apiKey"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: JiraConfig = parse_config(config)?;
        require("orgDomain", &c.org_domain)?;
        super::validate_url("orgDomain", &site_url(&c.org_domain))?;
        validate_project_key(&c.project_key)?;
        require("userName", &c.user_name)?;
        require_secret("apiKey", &c.api_key)?;
        validate_labels(&c.labels)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: JiraConfig = parse_config(config)?;
        let base = base_url(c.api_url.as_deref(), &site_url(&c.org_domain));
        let mut fields = issue_fields(
            &c.project_key,
            c.issue_type.as_deref(),
            &c.labels,
            ctx.payload,
        );
        if let Some(a) = c
            .assignee_id
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            fields["assignee"] = json!({"id": a});
        }
        let mut req = OutboundRequest::post_json(
            format!("{base}/rest/api/2/issue"),
            &json!({"fields": fields}),
        );
        req.headers
            .push(("accept".into(), "application/json".into()));
        req.headers.push((
            "authorization".into(),
            basic_auth(c.user_name.trim(), c.api_key.trim()),
        ));
        Ok(req)
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
