//! Which URLs may be called: https only, and never an address inside this
//! network (private, loopback, link-local and the like), checked on the
//! addresses the host resolves to at the moment of the call, so a name that
//! later points inside is refused too. `INBOUND_WEBHOOK_ALLOW` opens ranges
//! for development and tests; addresses in them may also be called over http.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use url::Url;

/// Longest URL taken.
pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must be an https URL of at most 2048 characters, without user or password")]
    Form,
    #[error("must be https (http only for addresses in INBOUND_WEBHOOK_ALLOW)")]
    NotHttps,
    #[error("its host {0} does not resolve")]
    Unresolved(String),
    #[error("resolves to {0}, an address inside a private, loopback or link-local range")]
    Internal(IpAddr),
}

/// The ranges `INBOUND_WEBHOOK_ALLOW` opens (empty by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<IpNet>);

impl AllowList {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// A checked URL and the addresses to call it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: Url,
    pub host: String,
    pub addrs: Vec<SocketAddr>,
}

/// The URL's form alone: what can be said without resolving it.
pub fn parse(raw: &str) -> Result<Url, Refusal> {
    if raw.len() > MAX_URL_LEN {
        return Err(Refusal::Form);
    }
    let url = Url::parse(raw).map_err(|_| Refusal::Form)?;
    let plain = url.username().is_empty() && url.password().is_none();
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() || !plain {
        return Err(Refusal::Form);
    }
    Ok(url)
}

/// Resolves the URL's host now and checks every address it has: one address
/// inside the network refuses the URL (a name must not half-point inside).
pub async fn resolve(raw: &str, allow: &AllowList) -> Result<Target, Refusal> {
    let url = parse(raw)?;
    let host = url.host_str().ok_or(Refusal::Form)?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port_or_known_default().ok_or(Refusal::Form)?;
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|_| Refusal::Unresolved(host.clone()))?.collect();
    if addrs.is_empty() {
        return Err(Refusal::Unresolved(host));
    }
    for addr in &addrs {
        if is_internal(addr.ip()) && !allow.allows(addr.ip()) {
            return Err(Refusal::Internal(addr.ip()));
        }
    }
    if url.scheme() == "http" && !addrs.iter().all(|a| allow.allows(a.ip())) {
        return Err(Refusal::NotHttps);
    }
    Ok(Target { url, host, addrs })
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Inside a private, loopback, link-local, shared or otherwise non-public range.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local, fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (first & 0xffc0) == 0xfe80
        // NAT64 and IPv4-compatible forms could reach inside: 64:ff9b::/96, ::/96.
        || (first == 0x64 && ip.segments()[1] == 0xff9b)
        || ip.segments()[..6].iter().all(|s| *s == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn internal_ranges_are_known_and_public_addresses_are_not_among_them() {
        for inside in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip(inside)), "{inside}");
        }
        for outside in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::1"] {
            assert!(!is_internal(ip(outside)), "{outside}");
        }
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_unless_allowed_and_only_allowed_ones_may_be_http() {
        let none = AllowList::default();
        assert_eq!(resolve("https://127.0.0.1:9/x", &none).await, Err(Refusal::Internal(ip("127.0.0.1"))));
        assert_eq!(resolve("https://[::1]/x", &none).await, Err(Refusal::Internal(ip("::1"))));
        assert_eq!(resolve("https://10.0.0.8/x", &none).await, Err(Refusal::Internal(ip("10.0.0.8"))));
        assert_eq!(resolve("http://8.8.8.8/x", &none).await, Err(Refusal::NotHttps));
        let public = resolve("https://8.8.8.8/hook", &none).await.expect("a public address");
        assert_eq!(public.addrs, vec!["8.8.8.8:443".parse().expect("addr")]);

        let loopback = AllowList::new(vec!["127.0.0.0/8".parse().expect("net")]);
        let allowed = resolve("http://127.0.0.2:8000/in", &loopback).await.expect("allowed");
        assert_eq!((allowed.host.as_str(), allowed.addrs.len()), ("127.0.0.2", 1));
        let one = AllowList::new(vec!["127.0.0.1/32".parse().expect("net")]);
        assert_eq!(resolve("http://127.0.0.2:8000/in", &one).await, Err(Refusal::Internal(ip("127.0.0.2"))));
        assert_eq!(resolve("ftp://8.8.8.8/", &none).await, Err(Refusal::Form));
        assert_eq!(resolve("https://user:pw@8.8.8.8/", &none).await, Err(Refusal::Form));
        let long = format!("https://8.8.8.8/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(resolve(&long, &none).await, Err(Refusal::Form));
    }
}
