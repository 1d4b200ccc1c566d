//! `email`: a plain-text + HTML e-mail over SMTP (lettre). Not one HTTP request, so it
//! sends through [`CustomSender`]; `build_request` describes the message for previews.
use super::common::{field, is_set, plain_body};
use super::{parse_config, secrets, CustomSender, DeliveryContext, Integration, OutboundRequest};
use crate::dispatch::retry::Class;
use crate::dispatch::sender::{truncate, Outcome};
use async_graphql::{InputObject, SimpleObject};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "EmailConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct EmailConfig {
    /// `smtp://host:25` (plain), `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`.
    pub smtp_url: String,
    /// Sender address, e.g. `Herald <herald@example.com>`.
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// SMTP user name, when the server needs authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password. Secret: shown redacted.
    #[serde(default)]
    pub password: Option<String>,
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn mailbox(field: &str, s: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("{field} {s:?} is not an e-mail address: {e}"))
}

fn check_url(u: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(u.trim()).map_err(|e| format!("smtpUrl is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err("smtpUrl must be an smtp:// or smtps:// URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("smtpUrl must have a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("smtpUrl must not contain credentials: use username and password".into());
    }
    if let Some((_, tls)) = url.query_pairs().find(|(k, _)| k == "tls") {
        if url.scheme() == "smtps" || !matches!(tls.as_ref(), "required" | "opportunistic") {
            return Err("smtpUrl: tls must be required or opportunistic, on smtp:// URLs".into());
        }
    }
    Ok(url)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn subject(payload: &Value) -> String {
    format!(
        "[{}] {}",
        field(payload, "severity"),
        field(payload, "title")
    )
}

fn html_body(payload: &Value) -> String {
    let link = escape_html(field(payload, "link"));
    format!(
        "<html><body><h2><a href=\"{link}\">{}</a></h2><pre style=\"font-family:inherit;white-space:pre-wrap\">{}</pre></body></html>",
        escape_html(field(payload, "title")),
        escape_html(&plain_body(payload)),
    )
}

fn message(c: &EmailConfig, payload: &Value) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(mailbox("from", &c.from)?)
        .subject(subject(payload));
    for to in &c.to {
        builder = builder.to(mailbox("to", to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            plain_body(payload),
            html_body(payload),
        ))
        .map_err(|e| format!("cannot build the e-mail: {e}"))
}

pub struct Email;

impl Integration for Email {
    fn output_type(&self) -> &'static str {
        "email"
    }

    fn target_paths(&self) -> &'static [&'static str] {
        &["smtpUrl"]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["password"]
    }

    fn validate(&self, config: &Value) -> Result<(), String> {
        let c: EmailConfig = parse_config(config)?;
        check_url(&c.smtp_url)?;
        mailbox("from", &c.from)?;
        if c.to.is_empty() {
            return Err("to must name at least one recipient".into());
        }
        for t in &c.to {
            mailbox("to", t)?;
        }
        if is_set(&c.password) && !is_set(&c.username) {
            return Err("username is required with password".into());
        }
        Ok(())
    }

    /// What would be sent: method `SMTP`, the server URL, the envelope headers, the text.
    fn build_request(
        &self,
        config: &Value,
        ctx: &DeliveryContext<'_>,
    ) -> Result<OutboundRequest, String> {
        let c: EmailConfig = parse_config(config)?;
        let url = check_url(&c.smtp_url)?;
        Ok(OutboundRequest {
            method: reqwest::Method::from_bytes(b"SMTP").map_err(|e| e.to_string())?,
            url: url.to_string(),
            headers: vec![
                ("from".into(), c.from.trim().to_string()),
                (
                    "to".into(),
                    c.to.iter().map(|t| t.trim()).collect::<Vec<_>>().join(", "),
                ),
                ("subject".into(), subject(ctx.payload)),
                (
                    "content-type".into(),
                    "multipart/alternative (text/plain, text/html)".into(),
                ),
            ],
            body: plain_body(ctx.payload),
        })
    }

    fn custom_sender(&self) -> Option<&dyn CustomSender> {
        Some(self)
    }
}

impl CustomSender for Email {
    fn send<'a>(
        &'a self,
        _client: &'a reqwest::Client,
        config: &'a Value,
        ctx: &'a DeliveryContext<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send + 'a>> {
        Box::pin(async move {
            let secret_values = secrets::values(config, self.secret_paths());
            let prepared = (|| {
                let c: EmailConfig = parse_config(config)?;
                let url = check_url(&c.smtp_url)?;
                let msg = message(&c, ctx.payload)?;
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                    .map_err(|e| format!("smtpUrl: {e}"))?
                    .timeout(Some(TIMEOUT));
                if let (Some(user), Some(pass)) = (
                    c.username.filter(|u| !u.is_empty()),
                    c.password.filter(|p| !p.is_empty()),
                ) {
                    builder = builder.credentials(Credentials::new(user, pass));
                }
                Ok::<_, String>((builder.build(), msg))
            })();
            let (mailer, msg) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    return Outcome::not_sent(secrets::scrub(&e, &secret_values), Class::Permanent)
                }
            };
            let started = Instant::now();
            let result = mailer.send(msg).await;
            let duration_ms = started.elapsed().as_millis() as i64;
            let (status_code, class, message) = match result {
                Ok(r) => {
                    let code: u16 = r.code().to_string().parse().unwrap_or(250);
                    (
                        code,
                        Class::Success,
                        format!("{code} {}", r.message().collect::<Vec<_>>().join(" ")),
                    )
                }
                Err(e) => {
                    let code = e
                        .status()
                        .and_then(|c| c.to_string().parse().ok())
                        .unwrap_or(0);
                    // 5xx replies and client-side problems (no usable AUTH mechanism, TLS
                    // setup) will not change on their own; 4xx, timeouts and I/O errors may.
                    let class = if e.is_permanent() || e.is_client() {
                        Class::Permanent
                    } else {
                        Class::Retryable
                    };
                    (code, class, format!("SMTP error: {e}"))
                }
            };
            Outcome {
                status_code,
                class,
                message: truncate(&secrets::scrub(&message, &secret_values)),
                duration_ms,
                retry_after: None,
                external: None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        assert!(check_url("smtp://127.0.0.1:2525").is_ok());
        assert!(check_url("smtps://mail.example.com").is_ok());
        assert!(check_url("smtp://mail.example.com:587?tls=required").is_ok());
        assert!(check_url("https://mail.example.com").is_err());
        assert!(check_url("smtp://u:p@mail.example.com").is_err());
    }
}
