//! Small helpers shared by the destination types: base URLs, auth headers, severity
//! mapping and the plain-text rendering of an alert.
use super::{validate_url, DeliveryContext};
use base64::{engine::general_purpose::STANDARD, Engine};
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
pub fn validate_opt_url(field: &str, value: Option<&str>) -> Result<(), String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => validate_url(field, v),
        None => Ok(()),
    }
}

/// A required, non-blank string field.
pub fn require(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    Ok(())
}

/// A required secret: empty means it was never set (updates keep stored secrets first).
pub fn require_secret(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    Ok(())
}

/// Whether an optional string is set (non-blank).
pub fn is_set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// `Authorization: Basic …` value.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// `Authorization: Bearer …` value.
pub fn bearer(token: &str) -> String {
    format!("Bearer {}", token.trim())
}

/// A string member of the payload ("" when missing).
pub fn field<'a>(payload: &'a Value, name: &str) -> &'a str {
    payload
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn severity(ctx: &DeliveryContext<'_>) -> &'static str {
    ctx.alert.severity.as_str()
}

/// Colour by severity, as `#rrggbb`.
pub fn severity_hex(severity: &str) -> &'static str {
    match severity {
        "CRITICAL" => "#8B0000",
        "HIGH" => "#E01E5A",
        "MEDIUM" => "#ECB22E",
        "LOW" => "#2EB67D",
        _ => "#439FE0",
    }
}

/// Colour by severity as the integer Discord wants.
pub fn severity_int(severity: &str) -> u32 {
    u32::from_str_radix(severity_hex(severity).trim_start_matches('#'), 16).unwrap_or(0)
}

/// The alert context as pretty JSON ("" when empty).
pub fn context_json(payload: &Value) -> String {
    match payload.get("alertContext") {
        Some(Value::Object(m)) if !m.is_empty() => {
            serde_json::to_string_pretty(&Value::Object(m.clone())).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// Tags joined by ", ".
pub fn tags(payload: &Value) -> String {
    payload
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// A Markdown description of the alert (GitHub issues, Jira, Asana notes).
pub fn markdown_body(payload: &Value) -> String {
    let mut out = String::new();
    let desc = field(payload, "description");
    if !desc.is_empty() {
        out.push_str(desc);
        out.push_str("\n\n");
    }
    out.push_str(&format!("**Severity:** {}\n", field(payload, "severity")));
    out.push_str(&format!("**Detection:** {}\n", field(payload, "id")));
    out.push_str(&format!("**Created:** {}\n", field(payload, "createdAt")));
    let runbook = field(payload, "runbook");
    if !runbook.is_empty() {
        out.push_str(&format!("**Runbook:** {runbook}\n"));
    }
    let tags = tags(payload);
    if !tags.is_empty() {
        out.push_str(&format!("**Tags:** {tags}\n"));
    }
    out.push_str(&format!("**Alert:** {}\n", field(payload, "link")));
    let context = context_json(payload);
    if !context.is_empty() {
        out.push_str(&format!("\n**Alert context:**\n```json\n{context}\n```\n"));
    }
    out
}

/// A plain-text description of the alert (e-mail, Jira wiki text).
pub fn plain_body(payload: &Value) -> String {
    let mut out = format!("{}\n\n", field(payload, "title"));
    let desc = field(payload, "description");
    if !desc.is_empty() {
        out.push_str(&format!("{desc}\n\n"));
    }
    out.push_str(&format!("Severity: {}\n", field(payload, "severity")));
    out.push_str(&format!("Detection: {}\n", field(payload, "id")));
    out.push_str(&format!("Created: {}\n", field(payload, "createdAt")));
    let runbook = field(payload, "runbook");
    if !runbook.is_empty() {
        out.push_str(&format!("Runbook: {runbook}\n"));
    }
    let tags = tags(payload);
    if !tags.is_empty() {
        out.push_str(&format!("Tags: {tags}\n"));
    }
    out.push_str(&format!("Link: {}\n", field(payload, "link")));
    let context = context_json(payload);
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

/// Validate an optional custom auth header pair (name required when a value is set).
pub fn validate_header_pair(name: Option<&str>, value: Option<&str>) -> Result<(), String> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let value = value.filter(|v| !v.is_empty());
    match (name, value) {
        (None, Some(_)) => Err("authHeaderName is required when authHeaderValue is set".into()),
        (Some(n), v) => {
            reqwest::header::HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| format!("authHeaderName {n:?} is not a valid HTTP header name"))?;
            if let Some(v) = v {
                reqwest::header::HeaderValue::from_str(v)
                    .map_err(|_| "authHeaderValue is not a valid HTTP header value".to_string())?;
            }
            Ok(())
        }
        (None, None) => Ok(()),
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
        assert_eq!(severity_int("CRITICAL"), 0x8B0000);
    }
}
