//! `slackBot`: `chat.postMessage` with a bot token. Slack answers 200 with
//! `{"ok": false, "error": …}` on failure; that is a failed delivery.
use super::common::{base_url, bearer, require, require_secret, validate_opt_url};
use super::{parse_config, slack, DeliveryContext, ExternalRef, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

pub struct SlackBot;

impl Integration for SlackBot {
    /// chat.postMessage allows about one message per second per channel.
    fn default_rate_limit(&self) -> (Option<f64>, Option<usize>) {
        (Some(1.0), Some(2))
    }

    fn output_type(&self) -> &'static str {
        "slackbot"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["apiUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["botToken"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: SlackBotConfig = parse_config(config)?;
        require_secret("botToken", &c.bot_token)?;
        require("channel", &c.channel)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())
    }

    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: SlackBotConfig = parse_config(config)?;
        let mut body = slack::message(ctx.payload, None);
        body["channel"] = Value::String(c.channel.trim().to_string());
        let url = format!(
            "{}/chat.postMessage",
            base_url(c.api_url.as_deref(), "https://slack.com/api")
        );
        let mut req = OutboundRequest::post_json(url, &body);
        req.headers[0].1 = "application/json; charset=utf-8".into();
        req.headers
            .push(("authorization".into(), bearer(&c.bot_token)));
        Ok(req)
    }

    fn reply_error(&self, _status: u16, body: &str) -> Option<String> {
        let v: Value = serde_json::from_str(body).ok()?;
        if v.get("ok").and_then(Value::as_bool) == Some(false) {
            let error = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return Some(format!("Slack API error: {error}"));
        }
        None
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let ts = v.get("ts").and_then(Value::as_str)?;
        Some(ExternalRef {
            id: ts.to_string(),
            url: None,
        })
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
