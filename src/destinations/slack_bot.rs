//! `slackBot`: `chat.postMessage` with a bot token. Slack answers 200 with
//! `{"ok": false, "error": …}` on failure; that is a failed delivery.
use super::common::{base_url, bearer, reply_member, require, validate_opt_url};
use super::{slack, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "SlackBotConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct SlackBotConfig {
    /// Bot user OAuth token (`xoxb-…`). Secret: shown redacted.
    pub bot_token: String,
    /// Channel id or name.
    pub channel: String,
    /// Slack API base URL (default `https://slack.com/api`).
    #[serde(default)]
    pub api_url: Option<String>,
}

#[derive(Default)]
pub struct SlackBot;

impl Integration for SlackBot {
    type Config = SlackBotConfig;
    const OUTPUT_TYPE: &'static str = "slackbot";
    const TARGET_PATHS: &'static [&'static str] = &["apiUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["botToken"];
    /// chat.postMessage allows about one message per second per channel.
    const DEFAULT_RATE_LIMIT: (Option<f64>, Option<usize>) = (Some(1.0), Some(2));

    fn validate(&self, c: &SlackBotConfig) -> ConfigResult<()> {
        require("botToken", &c.bot_token)?;
        require("channel", &c.channel)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        c: &SlackBotConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let mut message = slack::Message::new(ctx, None);
        message.channel = Some(c.channel.trim().to_string());
        let url = format!(
            "{}/chat.postMessage",
            base_url(c.api_url.as_deref(), "https://slack.com/api")
        );
        let mut req = OutboundRequest::post_json(url, &message);
        req.headers[0].1 = "application/json; charset=utf-8".into();
        Ok(req.with_header("authorization", bearer(&c.bot_token)))
    }

    fn reply_error(&self, _status: u16, body: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        if v.get("ok").and_then(|ok| ok.as_bool()) == Some(false) {
            let error = v.get("error").and_then(|e| e.as_str()).unwrap_or("unknown error");
            return Some(format!("Slack API error: {error}"));
        }
        None
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        reply_member(body, "ts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_false_is_an_error_and_ts_is_the_reference() {
        assert_eq!(
            SlackBot
                .reply_error(200, r#"{"ok":false,"error":"channel_not_found"}"#)
                .unwrap(),
            "Slack API error: channel_not_found"
        );
        assert!(SlackBot
            .reply_error(200, r#"{"ok":true,"ts":"1.2"}"#)
            .is_none());
        assert_eq!(
            SlackBot
                .reply_reference(r#"{"ok":true,"ts":"1.2"}"#)
                .unwrap()
                .id,
            "1.2"
        );
    }
}
