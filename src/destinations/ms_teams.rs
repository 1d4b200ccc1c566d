//! `msTeams`: a Microsoft Teams webhook card with title, facts and an open-link action.
use super::common::{context_json, severity_hex, tags, ChatWebhook};
use super::{ConfigResult, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "MsTeamsConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct MsTeamsConfig {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub hook: ChatWebhook,
    /// Optional minijinja template for the card text.
    #[serde(default)]
    pub message_template: Option<String>,
}

/// A legacy `MessageCard` (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageCard {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    potential_action: [OpenUri; 1],
    sections: [Section; 1],
    summary: String,
    text: String,
    theme_color: &'static str,
    title: String,
}

#[derive(Debug, Serialize)]
struct Section {
    facts: Vec<Fact>,
}

#[derive(Debug, Serialize)]
struct Fact {
    name: &'static str,
    value: String,
}

#[derive(Debug, Serialize)]
struct OpenUri {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'static str,
    targets: [Target; 1],
}

#[derive(Debug, Serialize)]
struct Target {
    os: &'static str,
    uri: String,
}

#[derive(Default)]
pub struct MsTeams;

impl Integration for MsTeams {
    type Config = MsTeamsConfig;
    const OUTPUT_TYPE: &'static str = "msteams";
    const TARGET_PATHS: &'static [&'static str] = ChatWebhook::PATHS;
    const SECRET_PATHS: &'static [&'static str] = ChatWebhook::PATHS;
    /// Teams webhooks throttle above about four requests per second.
    const DEFAULT_RATE_LIMIT: (Option<f64>, Option<usize>) = (Some(4.0), Some(2));

    fn validate(&self, c: &MsTeamsConfig) -> ConfigResult<()> {
        c.hook.validate(c.message_template.as_deref())
    }

    fn build_request(
        &self,
        c: &MsTeamsConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let a = ctx.alert;
        let text = ctx.render("messageTemplate", c.message_template.as_deref())?;
        let mut facts = vec![Fact {
            name: "Severity",
            value: a.severity.as_str().to_string(),
        }];
        for (name, value) in [
            ("Description", a.description.clone()),
            ("Runbook", a.runbook.clone()),
            ("Tags", tags(a)),
            ("Alert Context", context_json(a)),
        ] {
            if !value.is_empty() {
                facts.push(Fact { name, value });
            }
        }
        let title = ctx.title();
        let card = MessageCard {
            kind: "MessageCard",
            context: "http://schema.org/extensions",
            theme_color: severity_hex(a.severity).trim_start_matches('#'),
            summary: title.clone(),
            title,
            text: text.unwrap_or_else(|| a.description.clone()),
            sections: [Section { facts }],
            potential_action: [OpenUri {
                kind: "OpenUri",
                name: "Open in Herald",
                targets: [Target {
                    os: "default",
                    uri: ctx.link(),
                }],
            }],
        };
        Ok(OutboundRequest::post_json(&c.hook.webhook_url, &card))
    }
}
