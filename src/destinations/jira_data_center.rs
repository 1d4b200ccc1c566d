//! `jiraDataCenter`: a Jira Data Center / Server issue with a Bearer personal access token.
use super::common::{bearer, require};
use super::jira::{issue_reference, new_issue, validate_labels, validate_project_key};
use super::{validate_url, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

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

#[derive(Default)]
pub struct JiraDataCenter;

impl Integration for JiraDataCenter {
    type Config = JiraDataCenterConfig;
    const OUTPUT_TYPE: &'static str = "jiradatacenter";
    const TARGET_PATHS: &'static [&'static str] = &["url"];
    const SECRET_PATHS: &'static [&'static str] = &["personalAccessToken"];

    fn validate(&self, c: &JiraDataCenterConfig) -> ConfigResult<()> {
        validate_url("url", &c.url)?;
        validate_project_key(&c.project_key)?;
        require("personalAccessToken", &c.personal_access_token)?;
        validate_labels(&c.labels)
    }

    fn build_request(
        &self,
        c: &JiraDataCenterConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let issue = new_issue(&c.project_key, &c.issue_type, &c.labels, ctx);
        let url = format!("{}/rest/api/2/issue", c.url.trim().trim_end_matches('/'));
        Ok(OutboundRequest::post_json(url, &issue)
            .with_header("accept", "application/json")
            .with_header("authorization", bearer(&c.personal_access_token)))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        issue_reference(body)
    }
}
