//! Attribution: which hosts are the site's own. A vendor counts only when its signals show on
//! these hosts (DESIGN.md § Attribution): the target's registrable domain, plus the API hosts
//! its pages call, never an analytics collector, consent banner, payment widget or CDN.

use std::collections::HashSet;

use recon_contracts::{Capture, ResourceType};

use crate::services::Services;

/// The registrable domain of `host` (`www.shop.co.uk` → `shop.co.uk`, `a.b.github.io` →
/// `b.github.io`), from the public suffix list compiled into the `psl` crate. IPs, single
/// labels and hosts that are themselves a public suffix are their own domain.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    psl::domain_str(&host).map_or_else(|| host.clone(), str::to_owned)
}

/// Host of an absolute URL, lowercased.
pub fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
}

/// The site's own hosts for one capture.
#[derive(Debug, Clone, Default)]
pub struct FirstParty {
    site_domain: String,
    api_hosts: HashSet<String>,
}

impl FirstParty {
    /// `vendor_host` tells which hosts serve a vendor's own scripts or collectors (they are
    /// never the site's API even when they answer JSON).
    pub fn of(
        capture: &Capture,
        services: &Services,
        vendor_host: impl Fn(&str) -> bool,
    ) -> FirstParty {
        let site_domain = host_of(&capture.target_url)
            .map(|host| registrable_domain(&host))
            .unwrap_or_default();
        let mut first_party = FirstParty {
            site_domain,
            api_hosts: HashSet::new(),
        };
        for request in &capture.requests {
            let Some(host) = host_of(&request.url) else {
                continue;
            };
            if first_party.is_site_host(&host) || first_party.api_hosts.contains(&host) {
                continue;
            }
            let api_call = matches!(
                request.resource_type,
                ResourceType::Xhr | ResourceType::Fetch | ResourceType::Preflight
            );
            let data = request.response.as_ref().is_some_and(|response| {
                let mime = response.mime_type.to_ascii_lowercase();
                mime.contains("json") || mime.contains("graphql")
            });
            let initiated_by_site = request
                .initiator
                .as_ref()
                .and_then(|initiator| initiator.url.as_deref())
                .and_then(host_of)
                .is_none_or(|initiator| first_party.is_site_host(&initiator));
            if api_call
                && data
                && initiated_by_site
                && services.category(&host).is_none()
                && !vendor_host(&request.url)
            {
                first_party.api_hosts.insert(host);
            }
        }
        first_party
    }

    pub fn site_domain(&self) -> &str {
        &self.site_domain
    }

    /// The host belongs to the target's registrable domain.
    pub fn is_site_host(&self, host: &str) -> bool {
        !self.site_domain.is_empty() && registrable_domain(host) == self.site_domain
    }

    /// The host is the site's own: its domain or an API host its pages call.
    pub fn contains(&self, host: &str) -> bool {
        self.is_site_host(host) || self.api_hosts.contains(&host.to_ascii_lowercase())
    }

    /// A cookie domain (`.shop.example`, `www.shop.example`) belongs to the site.
    pub fn owns_cookie_domain(&self, domain: &str) -> bool {
        self.contains(domain.trim_start_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable_domain("www.shop.example"), "shop.example");
        assert_eq!(registrable_domain("a.b.shop.co.uk"), "shop.co.uk");
        assert_eq!(registrable_domain("shop.example"), "shop.example");
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
        assert_eq!(registrable_domain("localhost"), "localhost");
        // Suffixes the old two-level list did not know.
        assert_eq!(registrable_domain("shop.example.com.au"), "example.com.au");
        assert_eq!(
            registrable_domain("www.city.kawasaki.jp"),
            "city.kawasaki.jp"
        );
        assert_eq!(registrable_domain("user.github.io"), "user.github.io");
        assert_eq!(registrable_domain("checkout.mytoys.de"), "mytoys.de");
        assert_eq!(
            registrable_domain("daring.uin-suka.ac.id"),
            "uin-suka.ac.id"
        );
    }
}
