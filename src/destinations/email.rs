//! `email`: a plain-text + HTML e-mail over SMTP (lettre). Not one HTTP request, so it
//! sends through its own [`Sender`]; `build_request` describes the message for previews.
use super::common::{is_set, plain_body};
use super::secrets::Scrubber;
use super::transport::{excerpt, truncate, Class, Outcome};
use super::{
    ConfigError, ConfigResult, DeliveryContext, Integration, OutboundRequest, SendFuture, Sender,
};
use crate::outbound::{resolver, Outbound};
use async_graphql::{InputObject, SimpleObject};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{SMTP_PORT, SUBMISSIONS_PORT, SUBMISSION_PORT};
use lettre::Message;
use serde::{Deserialize, Serialize};
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

/// Longest SMTP exchange, whatever the request timeout says.
const TIMEOUT: Duration = Duration::from_secs(30);

fn mailbox(field: &str, s: &str) -> ConfigResult<Mailbox> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| ConfigError::at(field, format!("{s:?} is not an e-mail address: {e}")))
}

fn check_url(u: &str) -> ConfigResult<url::Url> {
    let bad = |reason: String| ConfigError::at("smtpUrl", reason);
    let url = url::Url::parse(u.trim()).map_err(|e| bad(format!("is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err(bad("must be an smtp:// or smtps:// URL".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must have a host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not contain credentials: use username and password".into(),
        ));
    }
    if let Some((_, tls)) = url.query_pairs().find(|(k, _)| k == "tls") {
        if url.scheme() == "smtps" || !matches!(tls.as_ref(), "required" | "opportunistic") {
            return Err(bad(
                "tls must be required or opportunistic, on smtp:// URLs".into(),
            ));
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

fn subject(ctx: &DeliveryContext<'_>) -> String {
    format!("[{}] {}", ctx.alert.severity.as_str(), ctx.title())
}

fn html_body(ctx: &DeliveryContext<'_>) -> String {
    let link = escape_html(&ctx.link());
    format!(
        "<html><body><h2><a href=\"{link}\">{}</a></h2><pre style=\"font-family:inherit;white-space:pre-wrap\">{}</pre></body></html>",
        escape_html(&ctx.title()),
        escape_html(&plain_body(ctx)),
    )
}

/// The `Message-ID` of a delivery (RFC 5322 §3.6.4): derived from the delivery id, so
/// every retry of one delivery carries the same id and receivers can de-duplicate.
fn message_id(delivery_id: &str, from: &Mailbox) -> String {
    let local: String = delivery_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    let domain = from.email.domain().trim_matches(['[', ']']);
    let domain = if domain.is_empty() || !domain.is_ascii() {
        "localhost"
    } else {
        domain
    };
    format!("<{local}@herald.{domain}>")
}

fn message(c: &EmailConfig, ctx: &DeliveryContext<'_>) -> ConfigResult<Message> {
    let from = mailbox("from", &c.from)?;
    // `Date` is added by the builder (the send time).
    let mut builder = Message::builder()
        .message_id(Some(message_id(ctx.delivery_id, &from)))
        .from(from)
        .subject(subject(ctx));
    for to in &c.to {
        builder = builder.to(mailbox("to", to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            plain_body(ctx),
            html_body(ctx),
        ))
        .map_err(|e| ConfigError::whole(format!("cannot build the e-mail: {e}")))
}

#[derive(Default)]
pub struct Email;

impl Integration for Email {
    type Config = EmailConfig;
    const OUTPUT_TYPE: &'static str = "email";
    const TARGET_PATHS: &'static [&'static str] = &["smtpUrl"];
    const SECRET_PATHS: &'static [&'static str] = &["password"];

    fn validate(&self, c: &EmailConfig) -> ConfigResult<()> {
        check_url(&c.smtp_url)?;
        mailbox("from", &c.from)?;
        if c.to.is_empty() {
            return Err(ConfigError::at("to", "must name at least one recipient"));
        }
        for t in &c.to {
            mailbox("to", t)?;
        }
        if is_set(&c.password) && !is_set(&c.username) {
            return Err(ConfigError::at("username", "is required with password"));
        }
        Ok(())
    }

    /// What would be sent: method `SMTP`, the server URL, the envelope headers, the text.
    fn build_request(
        &self,
        c: &EmailConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let url = check_url(&c.smtp_url)?;
        Ok(OutboundRequest {
            method: reqwest::Method::from_bytes(b"SMTP")
                .map_err(|e| ConfigError::whole(e.to_string()))?,
            url: url.to_string(),
            headers: vec![
                ("from".into(), c.from.trim().to_string()),
                (
                    "to".into(),
                    c.to.iter().map(|t| t.trim()).collect::<Vec<_>>().join(", "),
                ),
                ("subject".into(), subject(ctx)),
                (
                    "message-id".into(),
                    message_id(ctx.delivery_id, &mailbox("from", &c.from)?),
                ),
                (
                    "content-type".into(),
                    "multipart/alternative (text/plain, text/html)".into(),
                ),
            ],
            body: plain_body(ctx),
        })
    }

    fn sender(&self) -> Option<&dyn Sender<EmailConfig>> {
        Some(self)
    }
}

/// How TLS is used with the server.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TlsMode {
    /// Implicit TLS from the first byte (`smtps://`).
    Wrapper,
    /// `STARTTLS`, refusing a server without it.
    Required,
    /// `STARTTLS` when the server offers it.
    Opportunistic,
}

/// Why an SMTP dialogue did not happen or failed.
enum Failure {
    Smtp(lettre::transport::smtp::Error),
    Blocked(crate::outbound::Blocked),
    Other(String, Class),
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Failure::Smtp(e)
    }
}

/// Open the SMTP connection (greeting and EHLO read): through the HTTP proxy's
/// `CONNECT` when `HERALD_OUTBOUND_PROXY` is an `http://` proxy, otherwise (no proxy)
/// directly to an address the SSRF guard allows; from the bind address either way. With
/// an `https://` proxy e-mail is refused rather than sent around the proxy, so mail
/// never leaves from another address than the one receivers allow-list.
async fn connect(
    out: &Outbound,
    smtp_url: &str,
    srv: &Server,
    hello: &ClientId,
    tls: Option<(TlsMode, TlsParameters)>,
    budget: Duration,
) -> Result<AsyncSmtpConnection, Failure> {
    let egress = out.egress();
    let bind = egress.bind_address;
    let wrapper = tls.filter(|(m, _)| *m == TlsMode::Wrapper).map(|(_, p)| p);
    if egress.proxy.as_ref().is_some_and(|p| p.scheme() != "http") {
        return Err(Failure::Other(
            "e-mail cannot go through an https:// HERALD_OUTBOUND_PROXY (use an http:// proxy, which tunnels SMTP with CONNECT); not sent around the proxy".into(),
            Class::Permanent,
        ));
    }
    if let Some(proxy) = egress.proxy.as_ref() {
        // The proxy resolves the name; a literal, in any notation, is checked here.
        out.check_url(smtp_url).map_err(Failure::Blocked)?;
        if wrapper.is_some() {
            return Err(Failure::Other(
                "smtps:// cannot go through HERALD_OUTBOUND_PROXY: use smtp://…?tls=required (STARTTLS)".into(),
                Class::Permanent,
            ));
        }
        let stream = proxy_tunnel(proxy, &srv.host, srv.port, bind)
            .await
            .map_err(|e| Failure::Other(format!("SMTP error: {e}"), Class::Retryable))?;
        return Ok(AsyncSmtpConnection::connect_with_transport(Box::new(stream), hello).await?);
    }
    let addr = match resolver::resolve_allowed(out.policy(), &srv.host, srv.port).await {
        Ok(addrs) => addrs[0],
        Err(resolver::ResolveError::Blocked(b)) => return Err(Failure::Blocked(b)),
        Err(e) => return Err(Failure::Other(format!("SMTP error: {e}"), Class::Retryable)),
    };
    Ok(AsyncSmtpConnection::connect_tokio1(addr, Some(budget), hello, wrapper, bind).await?)
}

/// A TCP stream to `host:port` through an HTTP proxy's `CONNECT` (with the proxy URL's
/// credentials as `Proxy-Authorization: Basic`).
async fn proxy_tunnel(
    proxy: &url::Url,
    host: &str,
    port: u16,
    bind: Option<std::net::IpAddr>,
) -> std::io::Result<tokio::net::TcpStream> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let other = |m: String| std::io::Error::other(m);
    let proxy_host = proxy.host_str().unwrap_or_default();
    let proxy_host = proxy_host.trim_start_matches('[').trim_end_matches(']');
    let proxy_port = proxy.port_or_known_default().unwrap_or(80);
    let mut last = None;
    let mut stream = None;
    for addr in tokio::net::lookup_host((proxy_host, proxy_port)).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        if let Some(ip) = bind {
            socket.bind(std::net::SocketAddr::new(ip, 0))?;
        }
        match socket.connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| {
        last.unwrap_or_else(|| other(format!("the proxy {proxy_host} has no address")))
    })?;
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if !proxy.username().is_empty() {
        use base64::Engine;
        let user = percent_decode(proxy.username());
        let pass = percent_decode(proxy.password().unwrap_or_default());
        let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {creds}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    // The reply head, byte by byte, so nothing of the SMTP greeting is consumed.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8 * 1024 {
            return Err(other("the proxy's reply to CONNECT is too long".into()));
        }
        if stream.read(&mut b).await? == 0 {
            return Err(other(
                "the proxy closed the connection during CONNECT".into(),
            ));
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status = head.lines().next().unwrap_or_default();
    match status.split(' ').nth(1) {
        Some(code) if code.starts_with('2') => Ok(stream),
        _ => Err(other(format!(
            "the proxy refused CONNECT {target}: {}",
            status.trim()
        ))),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// How to reach the server of a checked `smtpUrl`: host name (for TLS), port, TLS mode.
struct Server {
    host: String,
    port: u16,
    tls: Option<TlsMode>,
    hello: Option<String>,
}

fn server(url: &url::Url) -> Server {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let (port, tls): (u16, Option<TlsMode>) = match (url.scheme(), tls.as_deref()) {
        ("smtps", _) => (SUBMISSIONS_PORT, Some(TlsMode::Wrapper)),
        (_, Some("required")) => (SUBMISSION_PORT, Some(TlsMode::Required)),
        (_, Some("opportunistic")) => (SUBMISSION_PORT, Some(TlsMode::Opportunistic)),
        _ => (SMTP_PORT, None),
    };
    let path = url.path().trim_matches('/');
    Server {
        host,
        port: url.port().unwrap_or(port),
        tls,
        hello: (!path.is_empty()).then(|| path.to_string()),
    }
}

impl Sender<EmailConfig> for Email {
    fn send<'a>(
        &'a self,
        out: &'a Outbound,
        c: &'a EmailConfig,
        ctx: &'a DeliveryContext<'a>,
        mut scrubber: Scrubber,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let prepared = check_url(&c.smtp_url)
                .and_then(|url| Ok((server(&url), message(c, ctx)?)));
            let (srv, msg) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    return Outcome::not_sent(scrubber.scrub(&e.to_string()), Class::Permanent)
                }
            };
            let budget = out.timeout().min(TIMEOUT);
            let hello = srv.hello.clone().map(ClientId::Domain).unwrap_or_default();
            let tls = match srv
                .tls
                .map(|mode| TlsParameters::new(srv.host.clone()).map(|p| (mode, p)))
            {
                None => None,
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => {
                    return Outcome::not_sent(
                        format!("smtpUrl: cannot set up TLS: {e}"),
                        Class::Permanent,
                    )
                }
            };
            let credentials = match (
                c.username.clone().filter(|u| !u.is_empty()),
                c.password.clone().filter(|p| !p.is_empty()),
            ) {
                (Some(user), Some(pass)) => {
                    // A server echoing the AUTH PLAIN line back sends base64("\0user\0password").
                    scrubber.add_secret(&format!("\0{user}\0{pass}"));
                    Some(Credentials::new(user, pass))
                }
                _ => None,
            };
            // The whole dialogue is time-boxed: a server that accepts and stalls cannot
            // hold the worker.
            let dialogue = async {
                let mut conn = connect(out, &c.smtp_url, &srv, &hello, tls.clone(), budget).await?;
                if let Some((mode, params)) = tls {
                    let upgrade = match mode {
                        TlsMode::Required => true,
                        TlsMode::Opportunistic => conn.can_starttls(),
                        TlsMode::Wrapper => false,
                    };
                    if upgrade {
                        conn.starttls(params, &hello).await?;
                    }
                }
                if let Some(creds) = &credentials {
                    conn.auth(DEFAULT_MECHANISMS, creds).await?;
                }
                let sent = conn.send(msg.envelope(), &msg.formatted()).await;
                if sent.is_ok() {
                    let _ = conn.quit().await;
                } else {
                    conn.abort().await;
                }
                Ok::<_, Failure>(sent?)
            };
            let result = match tokio::time::timeout(budget, dialogue).await {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(Failure::Smtp(e))) => Err(e),
                Ok(Err(Failure::Blocked(b))) => return Outcome::blocked(&b, started),
                Ok(Err(Failure::Other(message, class))) => {
                    return Outcome {
                        duration_ms: started.elapsed().as_millis() as i64,
                        ..Outcome::not_sent(scrubber.scrub(&message), class)
                    }
                }
                Err(_) => return Outcome::timed_out(started.elapsed()),
            };
            let duration_ms = started.elapsed().as_millis() as i64;
            let (status_code, class, message) = match result {
                Ok(r) => {
                    let code: u16 = r.code().to_string().parse().unwrap_or(250);
                    let reply = r.message().collect::<Vec<_>>().join(" ");
                    (
                        code,
                        Class::Success,
                        format!("{code} {}", excerpt(&reply, false)),
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
                    let text = scrubber.scrub(&e.to_string());
                    (
                        code,
                        class,
                        format!("SMTP error: {}", excerpt(&text, false)),
                    )
                }
            };
            Outcome {
                status_code,
                class,
                message: truncate(&scrubber.scrub(&message)),
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

    #[test]
    fn server_keeps_the_host_name_for_tls() {
        let s = server(&check_url("smtps://mail.example.com").unwrap());
        assert_eq!((s.host.as_str(), s.port), ("mail.example.com", 465));
        assert!(s.tls.is_some());
        let s = server(&check_url("smtp://[::1]:2525/herald.example").unwrap());
        assert_eq!((s.host.as_str(), s.port), ("::1", 2525));
        assert!(s.tls.is_none());
        assert_eq!(s.hello.as_deref(), Some("herald.example"));
        let s = server(&check_url("smtp://mail.example.com?tls=required").unwrap());
        assert_eq!(s.port, 587);
    }

    #[test]
    fn message_id_is_derived_from_the_delivery() {
        let from: Mailbox = "Herald <alerts@example.com>".parse().unwrap();
        let id = message_id("4f9c-11aa", &from);
        assert_eq!(id, "<4f9c-11aa@herald.example.com>");
        assert_eq!(message_id("4f9c-11aa", &from), id);
        let c = EmailConfig {
            smtp_url: "smtp://127.0.0.1:2525".into(),
            from: "alerts@example.com".into(),
            to: vec!["a@example.com".into()],
            username: None,
            password: None,
        };
        let alert = crate::domain::payload::test_alert(0);
        let payload = crate::domain::payload::Payload::new(
            &alert,
            "https://herald.example",
            crate::domain::DeliveryKind::Test,
        );
        let ctx = DeliveryContext {
            delivery_id: "d-1",
            alert: &alert,
            payload: &payload,
            public_url: "https://herald.example",
            timestamp: 0,
            kind: crate::domain::DeliveryKind::Test,
            template_budget: Default::default(),
        };
        let raw = String::from_utf8(message(&c, &ctx).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <d-1@herald.example.com>"),
            "{raw}"
        );
        assert!(raw.contains("Date: "), "{raw}");
    }
}
