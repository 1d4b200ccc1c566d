//! Outbound I/O to destinations, bounded and guarded against SSRF.
//!
//! Every destination URL is user input, and every reply comes from an untrusted party.
//! So, unless `HERALD_ALLOW_PRIVATE_NETWORKS=true` or the address is inside a
//! `HERALD_OUTBOUND_ALLOWLIST` CIDR, Herald refuses to connect to addresses that are
//! not public unicast: loopback, unspecified (`0.0.0.0`, `::`), RFC 1918, link-local
//! (169.254.0.0/16, where cloud metadata lives; fe80::/10), CGNAT, the IETF, benchmark,
//! documentation and reserved ranges, broadcast and multicast, unique-local and
//! site-local IPv6, discard-only and Teredo, and IPv6 forms embedding a refused IPv4
//! address (IPv4-mapped, IPv4-compatible, NAT64, 6to4). Otherwise a destination could
//! reach services that trust the machine's network position (metadata endpoints,
//! admin ports, databases) and read their answers back through attempt messages.
//!
//! The check runs on the addresses actually dialled: names go through
//! [`resolver::GuardedResolver`] (so `localhost.` and DNS rebinding fail too), IP
//! literals in any notation are checked on the parsed URL before each send
//! ([`Outbound::check_url`]), redirects are not followed, and SMTP connects only to an
//! address checked the same way. A refused delivery fails permanently, with a message
//! starting `blocked:`.
//!
//! Egress from a known address (`HERALD_OUTBOUND_PROXY`, `HERALD_OUTBOUND_BIND_ADDRESS`,
//! see [`Egress`]): with a proxy, every HTTP delivery goes through it (`http://` URLs
//! in absolute form, `https://` through `CONNECT`) and the proxy resolves destination
//! names, so the guard checks IP literals on the URL (as always) but cannot see what a
//! name resolves to there: the proxy's own rules must refuse inward addresses. Proxy
//! variables of the environment (`HTTP_PROXY`…) are never used. E-mail goes through
//! an `http://` proxy's `CONNECT` (plain or STARTTLS; implicit-TLS `smtps://` cannot,
//! and is refused); with an `https://` proxy e-mail is refused, never sent around it.
//!
//! Replies are read up to `HERALD_MAX_RESPONSE_BYTES` ([`body::read_limited`]) and
//! every request is time-boxed (connect, then the whole request), so an endless or
//! stalled reply cannot exhaust memory or hold a worker.
pub mod body;
pub mod policy;
pub mod resolver;

pub use body::{read_limited, Limited};
pub use policy::{Blocked, OutboundPolicy};

use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Where deliveries leave from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Egress {
    /// `HERALD_OUTBOUND_PROXY`: every HTTP delivery goes through this proxy.
    pub proxy: Option<Url>,
    /// `HERALD_OUTBOUND_BIND_ADDRESS`: the local address outbound connections use.
    pub bind_address: Option<std::net::IpAddr>,
    /// `HERALD_GATEWAY_PUBLIC_IP`: the address receivers see (shown by `generalSettings`).
    pub gateway_public_ip: Option<String>,
}

impl Egress {
    /// From the settings: a proxy must be an `http://` or `https://` URL with a host.
    pub fn new(
        proxy: Option<&str>,
        bind_address: Option<std::net::IpAddr>,
        gateway_public_ip: Option<&str>,
    ) -> Result<Self, String> {
        let proxy = match proxy.map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => {
                let url = Url::parse(p)
                    .map_err(|e| format!("HERALD_OUTBOUND_PROXY is not a URL: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(
                        "HERALD_OUTBOUND_PROXY must be an http:// or https:// URL with a host"
                            .into(),
                    );
                }
                Some(url)
            }
        };
        Ok(Egress {
            proxy,
            bind_address,
            gateway_public_ip: gateway_public_ip
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string),
        })
    }

    /// The proxy's host name (not an IP literal): resolved without the guard.
    fn proxy_host(&self) -> Option<String> {
        match self.proxy.as_ref()?.host()? {
            Host::Domain(d) => Some(d.to_ascii_lowercase()),
            _ => None,
        }
    }
}

/// What every outbound sender shares: the guarded client, the policy and the limits.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    egress: Arc<Egress>,
    policy: Arc<OutboundPolicy>,
    timeout: Duration,
    max_response_bytes: usize,
}

/// The longest a TCP (and TLS) connection may take to open.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client for destinations: the guarded resolver, no proxy from the
/// environment, no redirects, a connect timeout and a total request timeout.
pub fn client(policy: Arc<OutboundPolicy>, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    client_with(policy, timeout, &Egress::default())
}

/// [`client`], leaving through the egress settings: the configured proxy (the only
/// one: the environment's are ignored) and the bind address.
pub fn client_with(
    policy: Arc<OutboundPolicy>,
    timeout: Duration,
    egress: &Egress,
) -> reqwest::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(resolver::GuardedResolver::new(
            policy,
            egress.proxy_host(),
        )));
    if let Some(proxy) = &egress.proxy {
        b = b.proxy(reqwest::Proxy::all(proxy.as_str())?);
    }
    if let Some(ip) = egress.bind_address {
        b = b.local_address(ip);
    }
    b.build()
}

impl Outbound {
    pub fn new(
        policy: OutboundPolicy,
        timeout: Duration,
        max_response_bytes: usize,
    ) -> reqwest::Result<Self> {
        Self::with_egress(policy, timeout, max_response_bytes, Egress::default())
    }

    /// [`Outbound::new`], leaving through a proxy and/or from a bind address.
    pub fn with_egress(
        policy: OutboundPolicy,
        timeout: Duration,
        max_response_bytes: usize,
        egress: Egress,
    ) -> reqwest::Result<Self> {
        let policy = Arc::new(policy);
        Ok(Outbound {
            client: client_with(policy.clone(), timeout, &egress)?,
            egress: Arc::new(egress),
            policy,
            timeout,
            max_response_bytes,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Where deliveries leave from.
    pub fn egress(&self) -> &Egress {
        &self.egress
    }

    /// The time budget of one request (connect, headers and body).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// Refuse a URL whose host is a blocked IP literal (names are checked when resolved).
    pub fn check_url(&self, url: &str) -> Result<(), Blocked> {
        check_url(&self.policy, url)
    }

    /// [`Outbound::check_url`] of a URL already parsed (to be sent as it is).
    pub fn check_parsed(&self, url: &Url) -> Result<(), Blocked> {
        literal_ip(url).map_or(Ok(()), |ip| self.policy.check_ip(ip))
    }

    /// Read at most `max_response_bytes` of a reply.
    pub async fn read(&self, response: reqwest::Response) -> Result<Limited, reqwest::Error> {
        read_limited(response, self.max_response_bytes).await
    }
}

/// The IP address a URL's host denotes, in any notation the WHATWG URL standard
/// accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, `[::ffff:7f00:1]`): `None`
/// for names. Hosts of non-special schemes (`smtp://`) are read as an http URL's would be.
pub fn literal_ip(url: &Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(ip.into()),
        Host::Ipv6(ip) => Some(ip.into()),
        Host::Domain(d) => {
            if matches!(url.scheme(), "http" | "https") {
                return None;
            }
            match Url::parse(&format!("http://{d}/")).ok()?.host()? {
                Host::Ipv4(ip) => Some(ip.into()),
                Host::Ipv6(ip) => Some(ip.into()),
                Host::Domain(_) => None,
            }
        }
    }
}

/// See [`Outbound::check_url`]. A URL that does not parse passes: sending it fails anyway.
pub fn check_url(policy: &OutboundPolicy, url: &str) -> Result<(), Blocked> {
    match Url::parse(url.trim()).ok().as_ref().and_then(literal_ip) {
        Some(ip) => policy.check_ip(ip),
        None => Ok(()),
    }
}

/// The refusal inside an error chain (reqwest wraps the resolver's error).
pub fn find_blocked<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Blocked> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(b) = err.downcast_ref::<Blocked>() {
            return Some(b);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ipv4_notation_is_read_as_the_address() {
        let p = OutboundPolicy::default();
        for u in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://0177.1/",
            "http://127.1/",
            "http://127.0.1/",
            "https://[::1]:8443/x",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:ffff:7f00:1]/",
            "http://0.0.0.0:80/",
            "http://0/",
            "http://[::]/",
            "http://169.254.169.254/latest/meta-data",
            "http://0xa9fea9fe/",
            "http://2852039166/",
            "http://10.1/",
            "smtp://127.0.0.1:25",
            "smtp://2130706433:25",
            "smtps://[::1]:465",
            "http://user:pw@127.0.0.1/",
        ] {
            let r = check_url(&p, u);
            assert!(r.is_err(), "{u} must be refused");
            println!("{u} -> {}", r.unwrap_err());
        }
    }

    #[test]
    fn egress_settings_are_checked() {
        let e = Egress::new(
            Some(" http://u:p@proxy.internal:3128 "),
            None,
            Some(" 203.0.113.7 "),
        )
        .unwrap();
        assert_eq!(e.proxy_host().as_deref(), Some("proxy.internal"));
        assert_eq!(e.gateway_public_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(
            Egress::new(Some(""), None, Some("")).unwrap(),
            Egress::default()
        );
        assert_eq!(
            Egress::new(Some("http://10.0.0.5:3128"), None, None)
                .unwrap()
                .proxy_host(),
            None,
            "a literal proxy is never resolved"
        );
        for bad in ["socks5://proxy:1080", "proxy:3128", "http://"] {
            assert!(Egress::new(Some(bad), None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_public_literals_pass_the_literal_check() {
        let p = OutboundPolicy::default();
        for u in [
            "https://hooks.slack.com/services/x",
            "http://localhost./",
            "http://8.8.8.8/",
            "http://134744072/",
            "https://[2606:4700:4700::1111]/",
            "smtp://mail.example.com:587",
            "not a url",
        ] {
            assert_eq!(check_url(&p, u), Ok(()), "{u}");
        }
        assert_eq!(
            check_url(&OutboundPolicy::allow_all(), "http://127.1/"),
            Ok(())
        );
    }

    #[test]
    fn the_refusal_is_found_in_an_error_chain() {
        #[derive(Debug)]
        struct Wrap(Box<dyn std::error::Error + Send + Sync>);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&*self.0)
            }
        }
        let b = OutboundPolicy::default()
            .check_ip("127.0.0.1".parse().unwrap())
            .unwrap_err();
        let w = Wrap(Box::new(b.clone()));
        assert_eq!(find_blocked(&w), Some(&b));
    }

    #[tokio::test]
    async fn the_resolver_drops_non_public_addresses() {
        let p = OutboundPolicy::default();
        let e = resolver::resolve_allowed(&p, "localhost.", 80)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("blocked: localhost. resolves only to non-public addresses"),
            "{text}"
        );
        assert!(matches!(e, resolver::ResolveError::Blocked(_)));
        let e = resolver::resolve_allowed(&p, "127.0.0.1", 80)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        let open = OutboundPolicy::new(false, &["127.0.0.0/8".into(), "::1/128".into()]).unwrap();
        let ok = resolver::resolve_allowed(&open, "localhost", 80)
            .await
            .unwrap();
        assert!(
            ok.iter().all(|a| a.ip().is_loopback() && a.port() == 80),
            "{ok:?}"
        );
    }

    #[tokio::test]
    async fn the_client_refuses_names_resolving_inward() {
        let out = Outbound::new(OutboundPolicy::default(), Duration::from_secs(2), 1024).unwrap();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let e = out
            .client()
            .get(format!("http://localhost.:{port}/"))
            .send()
            .await
            .unwrap_err();
        let b = find_blocked(&e).expect("the refusal is in the chain");
        assert!(b.to_string().starts_with("blocked: localhost."), "{b}");
    }
}
