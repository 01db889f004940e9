//! Proxy tiers from the operator's secret, sticky or rotating, and the redactor that keeps
//! their URLs and credentials out of every message validation writes.
//!
//! Sticky: like the residential vendors' convention, a session id is appended to the proxy
//! username (`user-session-<id>`), one id per endpoint and tier, so an endpoint's whole cascade
//! and diagnosis leave through one exit IP. A proxy URL without a username cannot carry a
//! session and is used as is. Rotating: the URL as configured, and every request opens a new
//! connection, so the proxy may pick a new exit for each.

use recon_contracts::NetworkTier;
use recon_contracts::{ProxySecrets, RotationMode};
use url::Url;

/// One configured proxy tier. `Debug` shows the tier, never the URL.
#[derive(Clone)]
pub struct ProxyTier {
    pub tier: NetworkTier,
    pub rotation: RotationMode,
    url: Url,
}

impl std::fmt::Debug for ProxyTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyTier")
            .field("tier", &self.tier)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

/// Where a replay leaves from: straight out, or through a proxy (URL with credentials).
#[derive(Clone)]
pub enum Route {
    Direct,
    Proxy { tier: NetworkTier, url: Url },
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct => f.write_str("Direct"),
            Route::Proxy { tier, .. } => write!(f, "Proxy({tier:?})"),
        }
    }
}

impl Route {
    pub fn tier(&self) -> NetworkTier {
        match self {
            Route::Direct => NetworkTier::Direct,
            Route::Proxy { tier, .. } => *tier,
        }
    }
}

impl ProxyTier {
    /// The tiers the secret configures, cheapest first. The secrets store has checked the URLs.
    pub fn from_secrets(secrets: &ProxySecrets) -> Vec<ProxyTier> {
        [
            (
                NetworkTier::Datacenter,
                &secrets.datacenter_proxy,
                secrets.datacenter_rotation,
            ),
            (
                NetworkTier::Residential,
                &secrets.residential_proxy,
                secrets.residential_rotation,
            ),
        ]
        .into_iter()
        .filter_map(|(tier, url, rotation)| {
            let url = Url::parse(url.as_deref()?).ok()?;
            Some(ProxyTier {
                tier,
                rotation,
                url,
            })
        })
        .collect()
    }

    /// The route for one endpoint's session on this tier.
    pub fn route(&self, session_id: &str) -> Route {
        let mut url = self.url.clone();
        if self.rotation == RotationMode::Sticky && !url.username().is_empty() {
            let username = format!("{}-session-{session_id}", url.username());
            // Cannot fail: the URL already has a host and a username.
            let _ = url.set_username(&username);
        }
        Route::Proxy {
            tier: self.tier,
            url,
        }
    }
}

/// Replaces every proxy URL, credential and proxy address in a text with `<proxy>`.
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} needles)", self.needles.len())
    }
}

impl Redactor {
    pub fn new(secrets: &ProxySecrets) -> Redactor {
        let mut needles = Vec::new();
        for raw in [&secrets.datacenter_proxy, &secrets.residential_proxy]
            .into_iter()
            .flatten()
        {
            needles.push(raw.clone());
            let Ok(url) = Url::parse(raw) else { continue };
            needles.push(url.as_str().to_owned());
            needles.push(url.as_str().trim_end_matches('/').to_owned());
            let decode = |text: &str| {
                url::form_urlencoded::parse(format!("x={text}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            };
            for part in [url.username(), url.password().unwrap_or_default()] {
                if part.len() >= 3 {
                    needles.push(part.to_owned());
                    needles.push(decode(part));
                }
            }
            if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
                needles.push(format!("{host}:{port}"));
            }
        }
        needles.retain(|needle| needle.len() >= 3);
        // Longest first, so a URL is replaced whole before its parts.
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        needles.dedup();
        Redactor { needles }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = text.replace(needle.as_str(), "<proxy>");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(rotation: RotationMode) -> ProxySecrets {
        ProxySecrets {
            datacenter_proxy: Some("http://dc-user:s3cr%40t@dc.proxy.example:8080".into()),
            residential_proxy: Some("socks5://res-user:hunter22@res.proxy.example:1080".into()),
            datacenter_rotation: rotation,
            residential_rotation: RotationMode::Rotating,
        }
    }

    #[test]
    fn sticky_tiers_carry_a_session_in_the_username() {
        let tiers = ProxyTier::from_secrets(&secrets(RotationMode::Sticky));
        assert_eq!(tiers.len(), 2);
        let Route::Proxy { url, tier } = tiers[0].route("abc123") else {
            panic!("proxy route")
        };
        assert_eq!(tier, NetworkTier::Datacenter);
        assert_eq!(url.username(), "dc-user-session-abc123");
        assert_eq!(url.password(), Some("s3cr%40t"));
        let Route::Proxy { url, .. } = tiers[1].route("abc123") else {
            panic!("proxy route")
        };
        assert_eq!(url.username(), "res-user", "rotating keeps the username");
        assert!(!format!("{:?} {:?}", tiers, tiers[0].route("x")).contains("user"));
    }

    #[test]
    fn redacts_urls_and_credentials() {
        let redactor = Redactor::new(&secrets(RotationMode::Sticky));
        let text = "error connecting to http://dc-user:s3cr%40t@dc.proxy.example:8080/ \
                    (user dc-user, pass s3cr@t) via res.proxy.example:1080 hunter22";
        let clean = redactor.redact(text);
        for secret in [
            "dc-user",
            "s3cr",
            "hunter22",
            "dc.proxy.example",
            "res.proxy",
        ] {
            assert!(!clean.contains(secret), "{clean}");
        }
        assert_eq!(redactor.redact("nothing here"), "nothing here");
    }
}
