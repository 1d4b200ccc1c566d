//! `discord`: a Discord webhook with one embed coloured by severity.
use super::common::{context_json, cut, field, severity_int, tags};
use super::{parse_config, template, validate_url, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "DiscordConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct DiscordConfig {
    /// Secret: shown redacted.
    #[graphql(name = "webhookURL")]
    #[serde(rename = "webhookURL")]
    pub webhook_url: String,
    /// Optional minijinja template for the message content.
    #[serde(default)]
    pub message_template: Option<String>,
}

pub struct Discord;

impl Integration for Discord {
    /// Discord webhooks allow 30 requests per minute per channel.
    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>) {
        (Some(0.5), Some(2))
    }

    fn output_type(&self) -> &'static str {
        "discord"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: DiscordConfig = parse_config(config)?;
        validate_url("webhookURL", &c.webhook_url)?;
        template::check_opt("messageTemplate", c.message_template.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: DiscordConfig = parse_config(config)?;
        let p = ctx.payload;
        let content = template::render_opt(
            "messageTemplate",
            c.message_template.as_deref(),
            p,
            ctx.template_budget,
        )?;
        let mut fields =
            vec![json!({"name": "Severity", "value": field(p, "severity"), "inline": true})];
        for (name, value) in [
            ("Runbook", field(p, "runbook").to_string()),
            ("Tags", tags(p)),
            ("Alert Context", context_json(p)),
        ] {
            if !value.is_empty() {
                let value = if name == "Alert Context" {
                    format!("```json\n{}\n```", cut(&value, 1000))
                } else {
                    cut(&value, 1024)
                };
                fields.push(json!({"name": name, "value": value, "inline": false}));
            }
        }
        let mut body = json!({
            "username": "Herald",
            "embeds": [{
                "title": cut(field(p, "title"), 256),
                "url": field(p, "link"),
                "description": cut(field(p, "description"), 4096),
                "color": severity_int(field(p, "severity")),
                "timestamp": field(p, "createdAt"),
                "fields": fields,
            }],
        });
        if let Some(content) = content {
            body["content"] = Value::String(cut(&content, 2000));
        }
        Ok(OutboundRequest::post_json(c.webhook_url, &body))
    }
}
