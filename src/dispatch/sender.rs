//! Sends one built request and describes what happened, ready to store as an attempt.
use crate::destinations::{secrets, Integration, OutboundRequest};
use crate::dispatch::retry::{classify, parse_retry_after, Class};
use std::time::{Duration, Instant, SystemTime};

/// Longest response body or error text kept on an attempt.
pub const MESSAGE_LIMIT: usize = 2048;

#[derive(Debug, Clone)]
pub struct Outcome {
    /// HTTP status, 0 for network errors and requests never sent.
    pub status_code: u16,
    pub class: Class,
    pub message: String,
    pub duration_ms: i64,
    pub retry_after: Option<Duration>,
    /// What the vendor's reply identified (issue key, URL…).
    pub external: Option<crate::destinations::ExternalRef>,
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

/// Send `req`, adding the stable `webhook-id` header. Secrets are scrubbed from the message.
pub async fn send(
    client: &reqwest::Client,
    integration: &dyn Integration,
    req: OutboundRequest,
    delivery_id: &str,
    secret_values: &[String],
) -> Outcome {
    let started = Instant::now();
    let mut builder = client
        .request(req.method.clone(), &req.url)
        .header("webhook-id", delivery_id)
        .body(req.body);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let result = builder.send().await;
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connection error"
            } else {
                "request error"
            };
            let text = format!("{kind}: {}", error_chain(&e.without_url()));
            return Outcome {
                status_code: 0,
                class: Class::Retryable,
                message: truncate(&secrets::scrub(&text, secret_values)),
                duration_ms: started.elapsed().as_millis() as i64,
                retry_after: None,
                external: None,
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let body = response.text().await.unwrap_or_default();
    let class = classify(Some(status));
    let mut external = None;
    if class == Class::Success {
        if let Some(reason) = integration.reply_error(status, &body) {
            return Outcome {
                status_code: status,
                class: Class::Permanent,
                message: truncate(&secrets::scrub(&reason, secret_values)),
                duration_ms: started.elapsed().as_millis() as i64,
                retry_after,
                external,
            };
        }
        external = integration.reply_reference(&body);
    }
    let message = body;
    Outcome {
        status_code: status,
        class,
        message: truncate(&secrets::scrub(&message, secret_values)),
        duration_ms: started.elapsed().as_millis() as i64,
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
