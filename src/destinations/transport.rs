//! The transport every destination type sends through: one built request sent with
//! the guarded client, the reply read up to its cap and described as an [`Outcome`]
//! (status line, short excerpt, scrubbed of the destination's secrets in every form
//! Herald sent them), and how an HTTP status classifies ([`Class`]). It sits below the
//! integrations, so custom senders (Pub/Sub's token exchange) use it too; `dispatch`
//! records what it returns and decides on retries.
use super::{secrets::Scrubber, DynIntegration, OutboundRequest};
use crate::outbound::{self, Outbound};
use std::time::{Duration, Instant, SystemTime};

/// What an outcome means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    /// 408, 429, 5xx, timeouts, connection errors.
    Retryable,
    /// Other 4xx, bad configuration, a template that cannot render.
    Permanent,
}

/// Classify an HTTP status; `None` is a network error or timeout.
pub fn classify(status: Option<u16>) -> Class {
    match status {
        None => Class::Retryable,
        Some(s) if (200..300).contains(&s) => Class::Success,
        Some(408 | 429) => Class::Retryable,
        Some(s) if s >= 500 => Class::Retryable,
        Some(_) => Class::Permanent,
    }
}

/// Parse a Retry-After value: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Longest error text kept on an attempt.
pub const MESSAGE_LIMIT: usize = 2048;
/// Most characters of a reply body kept on an attempt.
pub const EXCERPT_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct Outcome {
    /// HTTP status, 0 for network errors and requests never sent.
    pub status_code: u16,
    pub class: Class,
    pub message: String,
    pub duration_ms: i64,
    pub retry_after: Option<Duration>,
    /// What the vendor's reply identified (issue key, URL…).
    pub external: Option<super::ExternalRef>,
}

impl Outcome {
    /// An attempt that failed before anything was sent (bad config, template error).
    pub fn not_sent(message: String, class: Class) -> Self {
        Outcome {
            status_code: 0,
            class,
            message: truncate(&message),
            duration_ms: 0,
            retry_after: None,
            external: None,
        }
    }

    /// A connection the SSRF guard refused: permanent, it will not change by itself.
    pub fn blocked(b: &outbound::Blocked, started: Instant) -> Self {
        Outcome {
            duration_ms: started.elapsed().as_millis() as i64,
            ..Outcome::not_sent(b.to_string(), Class::Permanent)
        }
    }

    /// No answer within the time budget (retryable).
    pub fn timed_out(after: Duration) -> Self {
        Outcome {
            duration_ms: after.as_millis() as i64,
            ..Outcome::not_sent(
                format!(
                    "timeout: no complete answer within {} ms",
                    after.as_millis()
                ),
                Class::Retryable,
            )
        }
    }
}

pub fn truncate(s: &str) -> String {
    if s.len() <= MESSAGE_LIMIT {
        return s.to_string();
    }
    let mut end = MESSAGE_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The first [`EXCERPT_CHARS`] characters of a reply, whitespace runs folded to one space.
pub fn excerpt(text: &str, truncated: bool) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = folded.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() || (truncated && !head.is_empty()) {
        format!("{head}…")
    } else {
        head
    }
}

/// `HTTP 500 Internal Server Error`, then `: ` and an excerpt of the reply when it has one.
pub fn status_message(status: reqwest::StatusCode, body_excerpt: &str) -> String {
    let line = match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    };
    if body_excerpt.is_empty() {
        line
    } else {
        format!("{line}: {body_excerpt}")
    }
}

/// What a failed `send()` means for the attempt.
pub fn request_error(e: reqwest::Error, scrubber: &Scrubber, started: Instant) -> Outcome {
    if let Some(b) = outbound::find_blocked(&e) {
        return Outcome::blocked(b, started);
    }
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection error"
    } else {
        "request error"
    };
    let text = format!("{kind}: {}", error_chain(&e.without_url()));
    Outcome {
        status_code: 0,
        class: Class::Retryable,
        message: truncate(&scrubber.scrub(&text)),
        duration_ms: started.elapsed().as_millis() as i64,
        retry_after: None,
        external: None,
    }
}

/// Send `req`, adding the stable `webhook-id` header. Secrets are scrubbed from the message.
pub async fn send(
    out: &Outbound,
    integration: &dyn DynIntegration,
    req: OutboundRequest,
    delivery_id: &str,
    scrubber: &Scrubber,
) -> Outcome {
    let started = Instant::now();
    // Parsed once, for the check and the request (parsing, with the host's IDNA
    // processing, was 2% of a delivery's CPU when done twice); a URL that does not
    // parse is checked and refused as before.
    let parsed = reqwest::Url::parse(&req.url).ok();
    let checked = match &parsed {
        Some(url) => out.check_parsed(url),
        None => out.check_url(&req.url),
    };
    if let Err(b) = checked {
        return Outcome::blocked(&b, started);
    }
    let mut scrubber = scrubber.clone();
    scrubber.add_sent_headers(&req.headers);
    let builder = match parsed {
        Some(url) => out.client().request(req.method.clone(), url),
        None => out.client().request(req.method.clone(), &req.url),
    };
    let mut builder = builder.header("webhook-id", delivery_id).body(req.body);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) => return request_error(e, &scrubber, started),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let (body, truncated, unreadable) = match out.read(response).await {
        Ok(b) => (b.text(), b.truncated, None),
        Err(e) => (
            String::new(),
            false,
            Some(if e.is_timeout() { "timeout" } else { "error" }),
        ),
    };
    let class = classify(Some(status.as_u16()));
    let duration_ms = started.elapsed().as_millis() as i64;
    let mut external = None;
    if class == Class::Success {
        if let Some(reason) = integration.reply_error(status.as_u16(), &body) {
            return Outcome {
                status_code: status.as_u16(),
                class: Class::Permanent,
                message: truncate(&excerpt(&scrubber.scrub(&reason), false)),
                duration_ms,
                retry_after,
                external,
            };
        }
        external = integration.reply_reference(&body);
    }
    let mut text = excerpt(&scrubber.scrub(&body), truncated);
    if let Some(what) = unreadable {
        text = format!("(reply body {what} while reading)");
    }
    Outcome {
        status_code: status.as_u16(),
        class,
        message: status_message(status, &text),
        duration_ms,
        retry_after,
        external,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_becomes_a_status_line_and_a_short_excerpt() {
        let long = "x".repeat(5000);
        let m = status_message(
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            &excerpt(&long, false),
        );
        assert!(m.starts_with("HTTP 500 Internal Server Error: xxx"), "{m}");
        assert!(m.chars().count() < 250, "{}", m.len());
        assert_eq!(
            status_message(reqwest::StatusCode::OK, &excerpt("", false)),
            "HTTP 200 OK"
        );
        assert_eq!(excerpt("a\n  b\tc", false), "a b c");
        assert_eq!(excerpt("abc", true), "abc…");
        assert_eq!(
            status_message(reqwest::StatusCode::from_u16(599).unwrap(), "x"),
            "HTTP 599: x"
        );
    }

    #[test]
    fn classifies_statuses() {
        assert_eq!(classify(Some(200)), Class::Success);
        assert_eq!(classify(Some(204)), Class::Success);
        assert_eq!(classify(Some(408)), Class::Retryable);
        assert_eq!(classify(Some(429)), Class::Retryable);
        assert_eq!(classify(Some(500)), Class::Retryable);
        assert_eq!(classify(Some(503)), Class::Retryable);
        assert_eq!(classify(None), Class::Retryable);
        assert_eq!(classify(Some(400)), Class::Permanent);
        assert_eq!(classify(Some(404)), Class::Permanent);
        assert_eq!(classify(Some(301)), Class::Permanent);
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
