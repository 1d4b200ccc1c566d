//! `discord`: a Discord webhook with one embed coloured by severity.
use super::common::{context_json, cut, severity_int, tags, ChatWebhook};
use super::{ConfigResult, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "DiscordConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct DiscordConfig {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub hook: ChatWebhook,
    /// Optional minijinja template for the message content.
    #[serde(default)]
    pub message_template: Option<String>,
}

/// The webhook message (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
struct Message {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    embeds: [Embed; 1],
    username: &'static str,
}

#[derive(Debug, Serialize)]
struct Embed {
    color: u32,
    description: String,
    fields: Vec<Field>,
    timestamp: String,
    title: String,
    url: String,
}

#[derive(Debug, Serialize)]
struct Field {
    inline: bool,
    name: &'static str,
    value: String,
}

#[derive(Default)]
pub struct Discord;

impl Integration for Discord {
    type Config = DiscordConfig;
    const OUTPUT_TYPE: &'static str = "discord";
    const TARGET_PATHS: &'static [&'static str] = ChatWebhook::PATHS;
    const SECRET_PATHS: &'static [&'static str] = ChatWebhook::PATHS;
    /// Discord webhooks allow 30 requests per minute per channel.
    const DEFAULT_RATE_LIMIT: (Option<f64>, Option<usize>) = (Some(0.5), Some(2));

    fn validate(&self, c: &DiscordConfig) -> ConfigResult<()> {
        c.hook.validate(c.message_template.as_deref())
    }

    fn build_request(
        &self,
        c: &DiscordConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let a = ctx.alert;
        let content = ctx.render("messageTemplate", c.message_template.as_deref())?;
        let mut fields = vec![Field {
            inline: true,
            name: "Severity",
            value: a.severity.as_str().to_string(),
        }];
        for (name, value) in [
            ("Runbook", a.runbook.clone()),
            ("Tags", tags(a)),
            ("Alert Context", context_json(a)),
        ] {
            if !value.is_empty() {
                let value = if name == "Alert Context" {
                    format!("```json\n{}\n```", cut(&value, 1000))
                } else {
                    cut(&value, 1024)
                };
                fields.push(Field {
                    inline: false,
                    name,
                    value,
                });
            }
        }
        let body = Message {
            content: content.map(|c| cut(&c, 2000)),
            embeds: [Embed {
                title: cut(&ctx.title(), 256),
                url: ctx.link(),
                description: cut(&a.description, 4096),
                color: severity_int(a.severity),
                timestamp: ctx.created_at(),
                fields,
            }],
            username: "Herald",
        };
        Ok(OutboundRequest::post_json(&c.hook.webhook_url, &body))
    }
}
