//! Small pieces shared by the destination types: base URLs, required fields, auth
//! headers, severity colours, the text renderings of an alert, reply references, and
//! the config parts several types share (a chat incoming webhook, a vendor auth header).
use super::{validate_url, ConfigError, ConfigResult, DeliveryContext, ExternalRef};
use crate::domain::{Alert, Severity};
use async_graphql::{InputObject, SimpleObject};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `api_url` (trailing `/` removed) when set, else the vendor's default base URL.
pub fn base_url(api_url: Option<&str>, default: &str) -> String {
    api_url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

/// Validate an optional URL field (empty counts as unset).
pub fn validate_opt_url(field: &str, value: Option<&str>) -> ConfigResult<()> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => validate_url(field, v),
        None => Ok(()),
    }
}

/// A required, non-blank field. For a secret, empty means it was never set (updates
/// keep stored secrets first), so the same rule holds.
pub fn require(field: &str, value: &str) -> ConfigResult<()> {
    if value.trim().is_empty() {
        return Err(ConfigError::at(field, "is required"));
    }
    Ok(())
}

/// Whether an optional string is set (non-blank).
pub fn is_set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// An optional string, trimmed, when set.
pub fn opt(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `Authorization: Basic …` value.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// `Authorization: Bearer …` value.
pub fn bearer(token: &str) -> String {
    format!("Bearer {}", token.trim())
}

/// Colour by severity, as `#rrggbb`.
pub fn severity_hex(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#8B0000",
        Severity::High => "#E01E5A",
        Severity::Medium => "#ECB22E",
        Severity::Low => "#2EB67D",
        Severity::Info => "#439FE0",
    }
}

/// Colour by severity as the integer Discord wants.
pub fn severity_int(severity: Severity) -> u32 {
    u32::from_str_radix(severity_hex(severity).trim_start_matches('#'), 16).unwrap_or(0)
}

/// The alert context as pretty JSON ("" when empty).
pub fn context_json(alert: &Alert) -> String {
    match &alert.alert_context {
        Value::Object(m) if !m.is_empty() => {
            serde_json::to_string_pretty(&alert.alert_context).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// Tags joined by ", ".
pub fn tags(alert: &Alert) -> String {
    alert.tags.join(", ")
}

/// A Markdown description of the alert (GitHub issues, Jira, Asana notes).
pub fn markdown_body(ctx: &DeliveryContext<'_>) -> String {
    let a = ctx.alert;
    let mut out = String::new();
    if !a.description.is_empty() {
        out.push_str(&a.description);
        out.push_str("\n\n");
    }
    out.push_str(&format!("**Severity:** {}\n", a.severity.as_str()));
    out.push_str(&format!("**Detection:** {}\n", a.detection_id));
    out.push_str(&format!("**Created:** {}\n", ctx.created_at()));
    if !a.runbook.is_empty() {
        out.push_str(&format!("**Runbook:** {}\n", a.runbook));
    }
    let tags = tags(a);
    if !tags.is_empty() {
        out.push_str(&format!("**Tags:** {tags}\n"));
    }
    out.push_str(&format!("**Alert:** {}\n", ctx.link()));
    let context = context_json(a);
    if !context.is_empty() {
        out.push_str(&format!("\n**Alert context:**\n```json\n{context}\n```\n"));
    }
    out
}

/// A plain-text description of the alert (e-mail).
pub fn plain_body(ctx: &DeliveryContext<'_>) -> String {
    let a = ctx.alert;
    let mut out = format!("{}\n\n", ctx.title());
    if !a.description.is_empty() {
        out.push_str(&format!("{}\n\n", a.description));
    }
    out.push_str(&format!("Severity: {}\n", a.severity.as_str()));
    out.push_str(&format!("Detection: {}\n", a.detection_id));
    out.push_str(&format!("Created: {}\n", ctx.created_at()));
    if !a.runbook.is_empty() {
        out.push_str(&format!("Runbook: {}\n", a.runbook));
    }
    let tags = tags(a);
    if !tags.is_empty() {
        out.push_str(&format!("Tags: {tags}\n"));
    }
    out.push_str(&format!("Link: {}\n", ctx.link()));
    let context = context_json(a);
    if !context.is_empty() {
        out.push_str(&format!("\nAlert context:\n{context}\n"));
    }
    out
}

/// Cut `s` to at most `max` characters.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars()
        .take(max.saturating_sub(1))
        .chain(std::iter::once('…'))
        .collect()
}

/// The reference a JSON reply carries as the string member `key` (PagerDuty's
/// `dedup_key`, Opsgenie's `requestId`, Slack's `ts`, …).
pub fn reply_member(body: &str, key: &str) -> Option<ExternalRef> {
    let v: Value = serde_json::from_str(body).ok()?;
    let id = v.get(key).and_then(Value::as_str)?;
    Some(ExternalRef {
        id: id.to_string(),
        url: None,
    })
}

/// The incoming-webhook URL the chat types (Slack, Microsoft Teams, Discord) post to;
/// part of each one's config.
#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "ChatWebhookInput")]
pub struct ChatWebhook {
    /// Secret: shown redacted.
    #[graphql(name = "webhookURL")]
    #[serde(rename = "webhookURL")]
    pub webhook_url: String,
}

impl ChatWebhook {
    /// The URL is the secret and decides where messages go.
    pub const PATHS: &'static [&'static str] = &["webhookURL"];

    /// A valid URL, and a template that parses.
    pub fn validate(&self, message_template: Option<&str>) -> ConfigResult<()> {
        validate_url("webhookURL", &self.webhook_url)?;
        super::template::check_opt("messageTemplate", message_template)
    }
}

/// An optional header a vendor's webhook authenticates with; part of a config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "AuthHeaderInput")]
#[serde(rename_all = "camelCase")]
pub struct AuthHeader {
    /// The header the webhook authenticates with, as configured at the vendor.
    #[serde(default)]
    pub auth_header_name: Option<String>,
    /// Its value. Secret: shown redacted.
    #[serde(default)]
    pub auth_header_value: Option<String>,
}

impl AuthHeader {
    /// A name is required when a value is set, and both must be valid in HTTP.
    pub fn validate(&self) -> ConfigResult<()> {
        let name = opt(&self.auth_header_name);
        let value = self.auth_header_value.as_deref().filter(|v| !v.is_empty());
        match (name, value) {
            (None, Some(_)) => Err(ConfigError::at(
                "authHeaderName",
                "is required when authHeaderValue is set",
            )),
            (Some(n), v) => {
                reqwest::header::HeaderName::from_bytes(n.as_bytes()).map_err(|_| {
                    ConfigError::at(
                        "authHeaderName",
                        format!("{n:?} is not a valid HTTP header name"),
                    )
                })?;
                if let Some(v) = v {
                    reqwest::header::HeaderValue::from_str(v).map_err(|_| {
                        ConfigError::at("authHeaderValue", "is not a valid HTTP header value")
                    })?;
                }
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// The header to send, when both parts are set.
    pub fn header(&self) -> Option<(String, String)> {
        let name = opt(&self.auth_header_name)?;
        let value = self
            .auth_header_value
            .as_deref()
            .filter(|v| !v.is_empty())?;
        Some((name.to_string(), value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_prefers_api_url_without_trailing_slash() {
        assert_eq!(
            base_url(Some("http://127.0.0.1:9/"), "https://x"),
            "http://127.0.0.1:9"
        );
        assert_eq!(base_url(Some(" "), "https://x/"), "https://x");
        assert_eq!(base_url(None, "https://x"), "https://x");
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("äbc", 3), "äbc");
    }

    #[test]
    fn colours() {
        assert_eq!(severity_int(Severity::Critical), 0x8B0000);
        assert_eq!(severity_hex(Severity::Info), "#439FE0");
    }

    #[test]
    fn required_fields_and_reply_members() {
        assert_eq!(
            require("token", " ").unwrap_err().to_string(),
            "token: is required"
        );
        assert!(require("token", "x").is_ok());
        assert_eq!(reply_member(r#"{"ts":"1.2"}"#, "ts").unwrap().id, "1.2");
        assert!(reply_member(r#"{"ts":1}"#, "ts").is_none());
        assert!(reply_member("not json", "ts").is_none());
    }

    #[test]
    fn an_auth_header_needs_its_name() {
        let h = AuthHeader {
            auth_header_name: None,
            auth_header_value: Some("v".into()),
        };
        assert_eq!(h.validate().unwrap_err().path, "authHeaderName");
        let h = AuthHeader {
            auth_header_name: Some(" X-Key ".into()),
            auth_header_value: Some("v".into()),
        };
        assert!(h.validate().is_ok());
        assert_eq!(h.header(), Some(("X-Key".into(), "v".into())));
    }
}
