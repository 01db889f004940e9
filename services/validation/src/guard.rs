//! The SSRF guard: decides, before any socket is opened, whether a replay may go to a URL.
//!
//! Only hosts seen in the capture are replayed, and only on the allowed ports (80 and 443
//! unless configured otherwise); names are resolved here (never by the HTTP client nor by a
//! proxy) and every address is checked, so a name that resolves into private space, an IP
//! literal in disguise (IPv4-mapped IPv6) or a redirect hop into the cloud metadata service is
//! refused. The vetted address is what the tunnel connects to: nothing re-resolves. A refusal
//! never names the address it refused, so no output tells an account what a name resolves to
//! inside our network.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::Url;

use crate::resolver::Resolver;

/// Why a URL may not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an http(s) URL with a host")]
    NotHttp,
    #[error("host {0} was not seen in the capture")]
    HostNotCaptured(String),
    #[error("port {0} is not allowed for replays")]
    Port(u16),
    /// A loopback, private, link-local, metadata or otherwise reserved address; which one (and
    /// the address itself) is deliberately not said.
    #[error("not a public address")]
    NotPublic,
    #[error("host {host} could not be resolved: {why}")]
    Unresolved { host: String, why: String },
}

/// A URL whose host was resolved and checked: connect to `address`, present `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VettedTarget {
    pub url: Url,
    pub host: String,
    pub address: SocketAddr,
}

/// Checks replay targets against the capture's hosts and the address rules.
#[derive(Clone)]
pub struct AddressGuard {
    resolver: Arc<dyn Resolver>,
    allow_loopback: bool,
    allowed_ports: BTreeSet<u16>,
    captured_hosts: BTreeSet<String>,
}

impl AddressGuard {
    pub fn new(
        resolver: Arc<dyn Resolver>,
        allow_loopback: bool,
        allowed_ports: &[u16],
        captured_hosts: impl IntoIterator<Item = String>,
    ) -> AddressGuard {
        AddressGuard {
            resolver,
            allow_loopback,
            allowed_ports: allowed_ports.iter().copied().collect(),
            captured_hosts: captured_hosts
                .into_iter()
                .map(|host| host.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Resolves `url`'s host and returns the first acceptable address. Every address the name
    /// resolves to must be acceptable: a name with one private answer among public ones is a
    /// rebinding trick, not a public host.
    pub async fn vet(&self, url: &Url) -> Result<VettedTarget, Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::NotHttp);
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(Refusal::NotHttp),
        };
        let port = url.port_or_known_default().ok_or(Refusal::NotHttp)?;
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        // A literal is judged on its address first (the more useful reason); a name is never
        // resolved unless the capture saw it on a port we may use.
        if literal.is_some_and(|address| refusal_reason(address, self.allow_loopback).is_some()) {
            return Err(Refusal::NotPublic);
        }
        if !self.captured_hosts.contains(&host) {
            return Err(Refusal::HostNotCaptured(host));
        }
        if !self.allowed_ports.contains(&port) {
            return Err(Refusal::Port(port));
        }
        let addresses: Vec<IpAddr> = match literal {
            Some(address) => vec![address],
            None => self
                .resolver
                .lookup(&host)
                .await
                .map_err(|err| Refusal::Unresolved {
                    host: host.clone(),
                    why: err.to_string(),
                })?,
        };
        if addresses.is_empty() {
            return Err(Refusal::Unresolved {
                host,
                why: "no addresses".to_owned(),
            });
        }
        if addresses
            .iter()
            .any(|address| refusal_reason(*address, self.allow_loopback).is_some())
        {
            return Err(Refusal::NotPublic);
        }
        Ok(VettedTarget {
            url: url.clone(),
            host: url.host_str().unwrap_or_default().to_owned(),
            address: SocketAddr::new(addresses[0], port),
        })
    }
}

/// Why `address` may not be replayed to, or `None` when it is a public unicast address.
/// With `allow_loopback`, 127.0.0.0/8 (and only that) is accepted.
pub fn refusal_reason(address: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => v4_refusal(v4, allow_loopback),
        IpAddr::V6(v6) => v6_refusal(v6, allow_loopback),
    }
}

fn v4_refusal(ip: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        return (!allow_loopback).then_some("a loopback address");
    }
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(169, 254, 170, 2) {
        return Some("a cloud metadata address");
    }
    let why = if ip.is_unspecified() || a == 0 {
        "an unspecified address (0.0.0.0/8)"
    } else if ip.is_private() {
        "a private address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if a == 100 && (64..128).contains(&b) {
        "a carrier-grade NAT address (100.64.0.0/10)"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if ip.is_broadcast() || a >= 240 {
        "a reserved address"
    } else if a == 192 && b == 0 && c == 0 {
        "an IETF protocol assignment (192.0.0.0/24)"
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        "a documentation address"
    } else if a == 198 && (b == 18 || b == 19) {
        "a benchmarking address (198.18.0.0/15)"
    } else {
        return None;
    };
    Some(why)
}

fn v6_refusal(ip: Ipv6Addr, allow_loopback: bool) -> Option<&'static str> {
    // An IPv4 address wrapped in IPv6 is judged as the IPv4 address it reaches.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_refusal(v4, allow_loopback).or(None);
    }
    let segments = ip.segments();
    if ip.is_loopback() {
        // The opt-in is for 127.0.0.0/8 only.
        return Some("a loopback address");
    }
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Some("a cloud metadata address");
    }
    let why = if ip.is_unspecified() {
        "an unspecified address"
    } else if (segments[0] & 0xfe00) == 0xfc00 {
        "a unique local address (fc00::/7)"
    } else if (segments[0] & 0xffc0) == 0xfe80 {
        "a link-local address"
    } else if (segments[0] & 0xffc0) == 0xfec0 {
        "a site-local address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        "a documentation address"
    } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
        // NAT64 reaches whatever IPv4 address is embedded; too easy to smuggle private space.
        "a NAT64 address"
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
        "an IPv4-compatible address"
    } else if segments[0] == 0x2002 {
        "a 6to4 address"
    } else {
        return None;
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::StaticResolver;

    fn refused(text: &str, allow_loopback: bool) -> bool {
        refusal_reason(text.parse().unwrap(), allow_loopback).is_some()
    }

    #[test]
    fn refuses_every_non_public_range() {
        for address in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fd00:ec2::254",
            "fd12:3456::1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:192.168.1.1",
            "64:ff9b::a00:1",
            "::10.0.0.1",
            "2002:a00:1::1",
        ] {
            assert!(refused(address, false), "{address} must be refused");
        }
    }

    #[test]
    fn accepts_public_addresses() {
        for address in [
            "93.184.216.34",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::6810:85e5",
            "::ffff:93.184.216.34",
        ] {
            assert!(!refused(address, false), "{address} must be accepted");
        }
    }

    #[test]
    fn the_loopback_opt_in_covers_127_slash_8_only() {
        assert!(!refused("127.0.0.1", true));
        assert!(!refused("127.0.0.3", true));
        assert!(!refused("::ffff:127.0.0.1", true));
        for address in [
            "::1",
            "10.0.0.1",
            "169.254.169.254",
            "192.168.1.1",
            "0.0.0.0",
        ] {
            assert!(refused(address, true), "{address} stays refused");
        }
    }

    fn test_guard(allow_loopback: bool) -> AddressGuard {
        test_guard_on(allow_loopback, &[80, 443, 8080])
    }

    fn test_guard_on(allow_loopback: bool, ports: &[u16]) -> AddressGuard {
        let resolver = StaticResolver::new([
            ("public.example", vec!["93.184.216.34"]),
            ("intranet.example", vec!["10.1.2.3"]),
            ("rebind.example", vec!["93.184.216.34", "127.0.0.1"]),
            ("meta.example", vec!["169.254.169.254"]),
        ]);
        AddressGuard::new(
            Arc::new(resolver),
            allow_loopback,
            ports,
            [
                "public.example",
                "intranet.example",
                "rebind.example",
                "meta.example",
                "127.0.0.1",
                "[::1]",
                "10.0.0.1",
            ]
            .map(String::from),
        )
    }

    #[tokio::test]
    async fn vets_names_and_literals() {
        let guard = test_guard(false);
        let ok = guard
            .vet(&Url::parse("https://public.example/api").unwrap())
            .await
            .unwrap();
        assert_eq!(ok.address, "93.184.216.34:443".parse().unwrap());
        for url in [
            "https://intranet.example/",
            "https://rebind.example/",
            "http://meta.example/latest",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://10.0.0.1/",
            "http://192.168.9.9/",
        ] {
            let err = guard.vet(&Url::parse(url).unwrap()).await.unwrap_err();
            assert_eq!(err, Refusal::NotPublic, "{url}");
            assert_eq!(err.to_string(), "not a public address");
        }
        let err = guard
            .vet(&Url::parse("https://elsewhere.example/").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err, Refusal::HostNotCaptured("elsewhere.example".into()));
        assert_eq!(
            guard
                .vet(&Url::parse("ftp://public.example/").unwrap())
                .await,
            Err(Refusal::NotHttp)
        );
        assert!(test_guard(true)
            .vet(&Url::parse("http://127.0.0.1:8080/").unwrap())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn only_the_allowed_ports_are_replayed_to() {
        let guard = test_guard_on(false, &[443]);
        assert!(guard
            .vet(&Url::parse("https://public.example/").unwrap())
            .await
            .is_ok());
        for (url, port) in [
            ("http://public.example/", 80),
            ("https://public.example:8443/", 8443),
            ("http://public.example:22/", 22),
        ] {
            assert_eq!(
                guard.vet(&Url::parse(url).unwrap()).await,
                Err(Refusal::Port(port)),
                "{url}"
            );
        }
        // The port is checked before the name is resolved: "nowhere" has no table entry.
        let guard = AddressGuard::new(
            Arc::new(StaticResolver::default()),
            false,
            &[443],
            ["nowhere.example".to_owned()],
        );
        assert_eq!(
            guard
                .vet(&Url::parse("https://nowhere.example:25/").unwrap())
                .await,
            Err(Refusal::Port(25))
        );
    }
}
