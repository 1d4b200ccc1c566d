//! Name resolution that only hands out addresses the policy allows, so that names
//! pointing inward (`localhost.`, DNS rebinding, internal zones) cannot be dialled.
use super::policy::{Blocked, OutboundPolicy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Why a host could not be turned into addresses to dial.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Blocked(#[from] Blocked),
    #[error("cannot resolve {host}: {source}")]
    Lookup {
        host: String,
        source: std::io::Error,
    },
}

/// Resolve `host` (a name or an IP literal) and keep the allowed addresses; an error
/// when none remain.
pub async fn resolve_allowed(
    policy: &OutboundPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        policy.check_ip(ip)?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let found = lookup(host, port).await?;
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
        .into_iter()
        .partition(|a| policy.check_ip(a.ip()).is_ok());
    if allowed.is_empty() {
        let mut ips: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
        ips.dedup();
        return Err(Blocked {
            target: host.to_string(),
            detail: format!(
                "resolves only to non-public addresses ({})",
                if ips.is_empty() {
                    "none".to_string()
                } else {
                    ips.join(", ")
                }
            ),
        }
        .into());
    }
    if !refused.is_empty() {
        tracing::warn!(%host, refused = refused.len(), "dropped non-public addresses of a destination host");
    }
    Ok(allowed)
}

/// The addresses of `host`. `localhost` and names under `.localhost` are loopback
/// without asking anyone (RFC 6761); a fully qualified name (`name.`) that the system
/// resolver does not know is tried without its final dot.
async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    let lower = host.to_ascii_lowercase();
    let bare = lower.strip_suffix('.').unwrap_or(&lower);
    if bare == "localhost" || bare.ends_with(".localhost") {
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), port),
        ]);
    }
    let failed = |source| ResolveError::Lookup {
        host: host.to_string(),
        source,
    };
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => Ok(addrs.collect()),
        Err(e) => match host.strip_suffix('.') {
            Some(short) if !short.is_empty() => tokio::net::lookup_host((short, port))
                .await
                .map(|a| a.collect())
                .map_err(|_| failed(e)),
            _ => Err(failed(e)),
        },
    }
}

/// A reqwest resolver applying [`OutboundPolicy`] to every address it returns, except
/// for the configured proxy's own name (an operator's choice, often on the private
/// network).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
    proxy_host: Option<String>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<OutboundPolicy>, proxy_host: Option<String>) -> Self {
        GuardedResolver { policy, proxy_host }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let is_proxy = self
            .proxy_host
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(name.as_str()));
        Box::pin(async move {
            if is_proxy {
                return match lookup(name.as_str(), 0).await {
                    Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                    Err(e) => Err(Box::new(e) as _),
                };
            }
            // The port is replaced by the connector; 0 is only a placeholder here.
            match resolve_allowed(&policy, name.as_str(), 0).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(ResolveError::Blocked(b)) => Err(Box::new(b) as _),
                Err(e) => Err(Box::new(e) as _),
            }
        })
    }
}
