//! Which addresses Herald may connect to.
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How to open the guard, in refusal messages.
const HOW_TO_ALLOW: &str =
    "set HERALD_ALLOW_PRIVATE_NETWORKS or HERALD_OUTBOUND_ALLOWLIST to allow it";

/// A connection the policy refuses. The text starts with `blocked:` and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blocked: {target} {detail}; {HOW_TO_ALLOW}")]
pub struct Blocked {
    /// The address or host name refused.
    pub target: String,
    /// Why, e.g. "is a loopback address".
    pub detail: String,
}

/// The SSRF guard's settings: by default only public unicast addresses are reached.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundPolicy {
    /// `HERALD_ALLOW_PRIVATE_NETWORKS`: every address passes.
    pub allow_private: bool,
    /// `HERALD_OUTBOUND_ALLOWLIST`: non-public ranges that pass anyway.
    pub allowlist: Vec<IpNet>,
}

impl OutboundPolicy {
    /// From the settings; a CIDR (or single address) that does not parse is an error.
    pub fn new(allow_private: bool, allowlist: &[String]) -> Result<Self, String> {
        let allowlist = allowlist
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("HERALD_OUTBOUND_ALLOWLIST: {s:?} is not a CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OutboundPolicy {
            allow_private,
            allowlist,
        })
    }

    /// A policy that lets everything through (tests, embedding).
    pub fn allow_all() -> Self {
        OutboundPolicy {
            allow_private: true,
            allowlist: Vec::new(),
        }
    }

    fn allowlisted(&self, ip: IpAddr) -> bool {
        let embedded = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allowlist
            .iter()
            .any(|net| net.contains(&ip) || embedded.is_some_and(|v4| net.contains(&v4)))
    }

    /// May Herald connect to `ip`?
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        if self.allow_private || self.allowlisted(ip) {
            return Ok(());
        }
        match non_public(ip) {
            None => Ok(()),
            Some(what) => Err(Blocked {
                target: ip.to_string(),
                detail: format!("is {what}"),
            }),
        }
    }
}

/// The IPv4 address carried inside an IPv6 one: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, a, b, ..] => Some(Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )),
        _ => None,
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// IPv4 ranges that are not public unicast, with what they are.
const V4_RANGES: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 32, "the unspecified address"),
    ([0, 0, 0, 0], 8, "a \"this network\" address (0.0.0.0/8)"),
    ([10, 0, 0, 0], 8, "a private address (RFC 1918)"),
    (
        [100, 64, 0, 0],
        10,
        "a carrier-grade NAT address (100.64.0.0/10)",
    ),
    ([127, 0, 0, 0], 8, "a loopback address"),
    (
        [169, 254, 0, 0],
        16,
        "a link-local address (169.254.0.0/16, cloud metadata)",
    ),
    ([172, 16, 0, 0], 12, "a private address (RFC 1918)"),
    (
        [192, 0, 0, 0],
        24,
        "an IETF protocol assignment address (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "a documentation address (192.0.2.0/24)"),
    (
        [192, 88, 99, 0],
        24,
        "a 6to4 relay anycast address (192.88.99.0/24)",
    ),
    ([192, 168, 0, 0], 16, "a private address (RFC 1918)"),
    (
        [198, 18, 0, 0],
        15,
        "a benchmarking address (198.18.0.0/15)",
    ),
    (
        [198, 51, 100, 0],
        24,
        "a documentation address (198.51.100.0/24)",
    ),
    (
        [203, 0, 113, 0],
        24,
        "a documentation address (203.0.113.0/24)",
    ),
    ([224, 0, 0, 0], 4, "a multicast address"),
    ([255, 255, 255, 255], 32, "the broadcast address"),
    ([240, 0, 0, 0], 4, "a reserved address (240.0.0.0/4)"),
];

/// IPv6 ranges that are not public unicast (embedded IPv4 forms are handled apart).
const V6_RANGES: &[([u16; 8], u8, &str)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, "the unspecified address"),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, "a loopback address"),
    (
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        "a discard-only address (100::/64)",
    ),
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        32,
        "a Teredo address (2001::/32)",
    ),
    (
        [0x2001, 0x2, 0, 0, 0, 0, 0, 0],
        48,
        "a benchmarking address (2001:2::/48)",
    ),
    (
        [0x2001, 0x10, 0, 0, 0, 0, 0, 0],
        28,
        "an ORCHID address (2001:10::/28)",
    ),
    (
        [0x2001, 0x20, 0, 0, 0, 0, 0, 0],
        28,
        "an ORCHIDv2 address (2001:20::/28)",
    ),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "a documentation address (2001:db8::/32)",
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "a documentation address (3fff::/20)",
    ),
    (
        [0x64, 0xff9b, 0x1, 0, 0, 0, 0, 0],
        48,
        "a local-use NAT64 address (64:ff9b:1::/48)",
    ),
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        "a unique-local address (fc00::/7)",
    ),
    (
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        "a link-local address (fe80::/10)",
    ),
    (
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "a site-local address (fec0::/10)",
    ),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "a multicast address"),
];

/// What `ip` is when it is not a public unicast address.
pub fn non_public(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => V4_RANGES
            .iter()
            .find(|(net, prefix, _)| in_v4(v4, *net, *prefix))
            .map(|(_, _, what)| what.to_string()),
        IpAddr::V6(v6) => {
            if let Some((_, _, what)) = V6_RANGES
                .iter()
                .find(|(net, prefix, _)| in_v6(v6, *net, *prefix))
            {
                return Some(what.to_string());
            }
            let v4 = embedded_v4(v6)?;
            non_public(IpAddr::V4(v4)).map(|what| format!("{what} embedded in IPv6 ({v4})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_every_non_public_range() {
        let p = OutboundPolicy::default();
        let blocked = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.10",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "100::1",
            "2001::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "2001:20::1",
            "3fff::1",
            "64:ff9b:1::808:808",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff05::1:3",
        ];
        for b in blocked {
            let r = p.check_ip(ip(b));
            assert!(r.is_err(), "{b} must be refused");
            let text = r.unwrap_err().to_string();
            assert!(text.starts_with("blocked: "), "{text}");
            assert!(text.contains("HERALD_ALLOW_PRIVATE_NETWORKS"), "{text}");
        }
    }

    #[test]
    fn lets_public_addresses_through() {
        let p = OutboundPolicy::default();
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "11.0.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(p.check_ip(ip(a)), Ok(()), "{a} is public");
        }
    }

    #[test]
    fn names_what_was_refused() {
        let p = OutboundPolicy::default();
        let e = p.check_ip(ip("169.254.169.254")).unwrap_err();
        assert_eq!(e.target, "169.254.169.254");
        assert!(e.detail.contains("link-local"), "{e}");
        let e = p.check_ip(ip("::ffff:127.0.0.1")).unwrap_err();
        assert!(e.detail.contains("loopback"), "{e}");
        assert!(e.detail.contains("127.0.0.1"), "{e}");
    }

    #[test]
    fn allow_private_and_allowlist_open_the_guard() {
        let all = OutboundPolicy::new(true, &[]).unwrap();
        for a in ["127.0.0.1", "::1", "169.254.169.254", "10.1.2.3"] {
            assert_eq!(all.check_ip(ip(a)), Ok(()));
        }
        let some = OutboundPolicy::new(
            false,
            &["127.0.0.0/8".into(), " fd00::/8 ".into(), "10.9.9.9".into()],
        )
        .unwrap();
        for a in [
            "127.0.0.1",
            "127.3.4.5",
            "::ffff:127.0.0.1",
            "fd00::5",
            "10.9.9.9",
        ] {
            assert_eq!(some.check_ip(ip(a)), Ok(()), "{a} is allowlisted");
        }
        for a in ["10.9.9.8", "169.254.169.254", "::1", "fc00::1"] {
            assert!(some.check_ip(ip(a)).is_err(), "{a} is not allowlisted");
        }
    }

    #[test]
    fn a_bad_cidr_is_an_error() {
        assert!(OutboundPolicy::new(false, &["127.0.0.0/33".into()]).is_err());
        assert!(OutboundPolicy::new(false, &["localhost".into()]).is_err());
        assert_eq!(
            OutboundPolicy::new(false, &["".into()]).unwrap(),
            OutboundPolicy::default()
        );
    }
}
