//! `slack`: a Slack incoming webhook. The message has the severity colour, a title
//! linking to the alert, and fields for severity, runbook, description and context.
use super::common::{context_json, field, severity_hex, tags};
use super::{parse_config, template, validate_url, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SlackConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SlackConfig {
    /// Secret: shown redacted.
    #[graphql(name = "webhookURL")]
    #[serde(rename = "webhookURL")]
    pub webhook_url: String,
    /// Optional minijinja template for the message text.
    #[serde(default)]
    pub message_template: Option<String>,
}

/// The Slack message (attachments with colour and fields); `text` replaces the default text.
pub fn message(payload: &Value, text: Option<String>) -> Value {
    let title = field(payload, "title");
    let sev = field(payload, "severity");
    let mut fields = vec![json!({"title": "Severity", "value": sev, "short": true})];
    let runbook = field(payload, "runbook");
    if !runbook.is_empty() {
        fields.push(json!({"title": "Runbook", "value": runbook, "short": false}));
    }
    let desc = field(payload, "description");
    if !desc.is_empty() {
        fields.push(json!({"title": "Description", "value": desc, "short": false}));
    }
    let t = tags(payload);
    if !t.is_empty() {
        fields.push(json!({"title": "Tags", "value": t, "short": true}));
    }
    let context = context_json(payload);
    if !context.is_empty() {
        fields.push(
            json!({"title": "Alert Context", "value": format!("```{context}```"), "short": false}),
        );
    }
    json!({
        "text": text.unwrap_or_else(|| format!("{sev} alert: {title}")),
        "attachments": [{
            "color": severity_hex(sev),
            "fallback": title,
            "title": title,
            "title_link": field(payload, "link"),
            "fields": fields,
            "footer": "Herald",
        }],
    })
}

pub struct Slack;

impl Integration for Slack {
    /// Slack incoming webhooks accept about one message per second.
    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>) {
        (Some(1.0), Some(2))
    }

    fn output_type(&self) -> &'static str {
        "slack"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["webhookURL"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: SlackConfig = parse_config(config)?;
        validate_url("webhookURL", &c.webhook_url)?;
        template::check_opt("messageTemplate", c.message_template.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: SlackConfig = parse_config(config)?;
        let text = template::render_opt(
            "messageTemplate",
            c.message_template.as_deref(),
            ctx.payload,
            ctx.template_budget,
        )?;
        Ok(OutboundRequest::post_json(
            c.webhook_url,
            &message(ctx.payload, text),
        ))
    }
}
