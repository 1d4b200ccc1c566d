//! `asana`: a task in the configured projects.
use super::common::{base_url, bearer, field, markdown_body, require_secret, validate_opt_url};
use super::{parse_config, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

pub struct Asana;

impl Integration for Asana {
    fn output_type(&self) -> &'static str {
        "asana"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["personalAccessToken"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: AsanaConfig = parse_config(config)?;
        require_secret("personalAccessToken", &c.personal_access_token)?;
        if c.project_gids.is_empty() {
            return Err("projectGids must name at least one project".into());
        }
        if let Some(bad) = c
            .project_gids
            .iter()
            .find(|g| g.trim().is_empty() || !g.trim().chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!("project gid {bad:?} must be numeric"));
        }
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: AsanaConfig = parse_config(config)?;
        let url = format!(
            "{}/tasks",
            base_url(c.api_url.as_deref(), "https://app.asana.com/api/1.0")
        );
        let p = ctx.payload;
        let projects: Vec<&str> = c.project_gids.iter().map(|g| g.trim()).collect();
        let body = json!({"data": {
            "name": field(p, "title"),
            "notes": markdown_body(p),
            "projects": projects,
        }});
        let mut req = OutboundRequest::post_json(url, &body);
        req.headers
            .push(("accept".into(), "application/json".into()));
        req.headers
            .push(("authorization".into(), bearer(&c.personal_access_token)));
        Ok(req)
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
