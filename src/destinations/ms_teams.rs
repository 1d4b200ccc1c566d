//! `msTeams`: a Microsoft Teams webhook card with title, facts and an open-link action.
use super::common::{context_json, field, severity_hex, tags};
use super::{parse_config, template, validate_url, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "MsTeamsConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct MsTeamsConfig {
    /// Secret: shown redacted.
    #[graphql(name = "webhookURL")]
    #[serde(rename = "webhookURL")]
    pub webhook_url: String,
    /// Optional minijinja template for the card text.
    #[serde(default)]
    pub message_template: Option<String>,
}

pub struct MsTeams;

impl Integration for MsTeams {
    /// Teams webhooks throttle above about four requests per second.
    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>) {
        (Some(4.0), Some(2))
    }

    fn output_type(&self) -> &'static str {
        "msteams"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: MsTeamsConfig = parse_config(config)?;
        validate_url("webhookURL", &c.webhook_url)?;
        template::check_opt("messageTemplate", c.message_template.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: MsTeamsConfig = parse_config(config)?;
        let p = ctx.payload;
        let text = template::render_opt(
            "messageTemplate",
            c.message_template.as_deref(),
            p,
            ctx.template_budget,
        )?;
        let mut facts = vec![json!({"name": "Severity", "value": field(p, "severity")})];
        for (name, value) in [
            ("Description", field(p, "description").to_string()),
            ("Runbook", field(p, "runbook").to_string()),
            ("Tags", tags(p)),
            ("Alert Context", context_json(p)),
        ] {
            if !value.is_empty() {
                facts.push(json!({"name": name, "value": value}));
            }
        }
        let body = json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": severity_hex(field(p, "severity")).trim_start_matches('#'),
            "summary": field(p, "title"),
            "title": field(p, "title"),
            "text": text.unwrap_or_else(|| field(p, "description").to_string()),
            "sections": [{"facts": facts}],
            "potentialAction": [{
                "@type": "OpenUri",
                "name": "Open in Herald",
                "targets": [{"os": "default", "uri": field(p, "link")}],
            }],
        });
        Ok(OutboundRequest::post_json(c.webhook_url, &body))
    }
}
