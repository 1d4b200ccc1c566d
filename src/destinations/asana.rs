//! `asana`: a task in the configured projects.
use super::common::{base_url, bearer, markdown_body, require, validate_opt_url};
use super::{ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "AsanaConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct AsanaConfig {
    /// Secret: shown redacted.
    pub personal_access_token: String,
    /// The projects the task is added to.
    pub project_gids: Vec<String>,
    /// API base URL (default `https://app.asana.com/api/1.0`).
    #[serde(default)]
    pub api_url: Option<String>,
}

/// `POST /tasks`: `{"data": …}`.
#[derive(Debug, Serialize)]
struct NewTask<'a> {
    data: Task<'a>,
}

#[derive(Debug, Serialize)]
struct Task<'a> {
    name: String,
    notes: String,
    projects: Vec<&'a str>,
}

#[derive(Default)]
pub struct Asana;

impl Integration for Asana {
    type Config = AsanaConfig;
    const OUTPUT_TYPE: &'static str = "asana";
    const TARGET_PATHS: &'static [&'static str] = &["apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["personalAccessToken"];

    fn validate(&self, c: &AsanaConfig) -> ConfigResult<()> {
        require("personalAccessToken", &c.personal_access_token)?;
        if c.project_gids.is_empty() {
            return Err(ConfigError::at(
                "projectGids",
                "must name at least one project",
            ));
        }
        if let Some(bad) = c
            .project_gids
            .iter()
            .find(|g| g.trim().is_empty() || !g.trim().chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ConfigError::at(
                "projectGids",
                format!("project gid {bad:?} must be numeric"),
            ));
        }
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        c: &AsanaConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let url = format!(
            "{}/tasks",
            base_url(c.api_url.as_deref(), "https://app.asana.com/api/1.0")
        );
        let task = NewTask {
            data: Task {
                name: ctx.title(),
                notes: markdown_body(ctx),
                projects: c.project_gids.iter().map(|g| g.trim()).collect(),
            },
        };
        Ok(OutboundRequest::post_json(url, &task)
            .with_header("accept", "application/json")
            .with_header("authorization", bearer(&c.personal_access_token)))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let data = v.get("data")?;
        let gid = data.get("gid").and_then(Value::as_str)?;
        let url = data
            .get("permalink_url")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(ExternalRef {
            id: gid.to_string(),
            url,
        })
    }
}
