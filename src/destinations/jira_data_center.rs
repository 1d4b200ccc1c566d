//! `jiraDataCenter`: a Jira Data Center / Server issue with a Bearer personal access token.
use super::common::{bearer, require_secret};
use super::jira::{issue_fields, issue_reference, validate_labels, validate_project_key};
use super::{
    parse_config, validate_url, DeliveryContext, ExternalRef, Integration, OutboundRequest,
};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "JiraDataCenterConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct JiraDataCenterConfig {
    /// The Jira base URL, e.g. `https://jira.example.com`.
    pub url: String,
    pub project_key: String,
    /// Secret: shown redacted.
    pub personal_access_token: String,
    /// Default `Task`.
    #[serde(default)]
    pub issue_type: Option<String>,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

pub struct JiraDataCenter;

impl Integration for JiraDataCenter {
    fn output_type(&self) -> &'static str {
        "jiradatacenter"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["url"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["personalAccessToken"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: JiraDataCenterConfig = parse_config(config)?;
        validate_url("url", &c.url)?;
        validate_project_key(&c.project_key)?;
        require_secret("personalAccessToken", &c.personal_access_token)?;
        validate_labels(&c.labels)
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: JiraDataCenterConfig = parse_config(config)?;
        let fields = issue_fields(
            &c.project_key,
            c.issue_type.as_deref(),
            &c.labels,
            ctx.payload,
        );
        let url = format!("{}/rest/api/2/issue", c.url.trim().trim_end_matches('/'));
        let mut req = OutboundRequest::post_json(url, &json!({"fields": fields}));
        req.headers
            .push(("accept".into(), "application/json".into()));
        req.headers
            .push(("authorization".into(), bearer(&c.personal_access_token)));
        Ok(req)
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        issue_reference(body)
    }
}
