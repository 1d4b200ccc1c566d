//! `slack`: a Slack incoming webhook. The message has the severity colour, a title
//! linking to the alert, and fields for severity, runbook, description and context.
use super::common::{context_json, severity_hex, tags, ChatWebhook};
use super::{ConfigResult, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SlackConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SlackConfig {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub hook: ChatWebhook,
    /// Optional minijinja template for the message text.
    #[serde(default)]
    pub message_template: Option<String>,
}

/// A Slack message (incoming webhook or `chat.postMessage`). Members are in the order
/// Herald has always sent them (alphabetical).
#[derive(Debug, Serialize)]
pub struct Message {
    pub attachments: Vec<Attachment>,
    /// Only for `chat.postMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Attachment {
    pub color: &'static str,
    pub fallback: String,
    pub fields: Vec<Field>,
    pub footer: &'static str,
    pub title: String,
    pub title_link: String,
}

#[derive(Debug, Serialize)]
pub struct Field {
    pub short: bool,
    pub title: &'static str,
    pub value: String,
}

impl Message {
    /// The message for the alert (attachments with colour and fields); `text` replaces
    /// the default text.
    pub fn new(ctx: &DeliveryContext<'_>, text: Option<String>) -> Self {
        let a = ctx.alert;
        let title = ctx.title();
        let sev = a.severity.as_str();
        let field = |title, value: String, short| Field {
            short,
            title,
            value,
        };
        let mut fields = vec![field("Severity", sev.to_string(), true)];
        if !a.runbook.is_empty() {
            fields.push(field("Runbook", a.runbook.clone(), false));
        }
        if !a.description.is_empty() {
            fields.push(field("Description", a.description.clone(), false));
        }
        let t = tags(a);
        if !t.is_empty() {
            fields.push(field("Tags", t, true));
        }
        let context = context_json(a);
        if !context.is_empty() {
            fields.push(field("Alert Context", format!("```{context}```"), false));
        }
        Message {
            text: text.unwrap_or_else(|| format!("{sev} alert: {title}")),
            attachments: vec![Attachment {
                color: severity_hex(a.severity),
                fallback: title.clone(),
                title,
                title_link: ctx.link(),
                fields,
                footer: "Herald",
            }],
            channel: None,
        }
    }
}

#[derive(Default)]
pub struct Slack;

impl Integration for Slack {
    type Config = SlackConfig;
    const OUTPUT_TYPE: &'static str = "slack";
    const TARGET_PATHS: &'static [&'static str] = ChatWebhook::PATHS;
    const SECRET_PATHS: &'static [&'static str] = ChatWebhook::PATHS;
    /// Slack incoming webhooks accept about one message per second.
    const DEFAULT_RATE_LIMIT: (Option<f64>, Option<usize>) = (Some(1.0), Some(2));

    fn validate(&self, c: &SlackConfig) -> ConfigResult<()> {
        c.hook.validate(c.message_template.as_deref())
    }

    fn build_request(
        &self,
        c: &SlackConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let text = ctx.render("messageTemplate", c.message_template.as_deref())?;
        Ok(OutboundRequest::post_json(
            &c.hook.webhook_url,
            &Message::new(ctx, text),
        ))
    }
}
