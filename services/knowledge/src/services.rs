//! Well-known third-party services (`rules/services.toml`): hosts whose cookies and headers
//! never speak for the site, and which analysis files under tracking or static.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

const SERVICES_TOML: &str = include_str!("../rules/services.toml");

/// What a third-party host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceCategory {
    Analytics,
    Ads,
    Consent,
    Payment,
    Support,
    Cdn,
}

impl ServiceCategory {
    fn from_name(name: &str) -> Option<ServiceCategory> {
        Some(match name {
            "analytics" => ServiceCategory::Analytics,
            "ads" => ServiceCategory::Ads,
            "consent" => ServiceCategory::Consent,
            "payment" => ServiceCategory::Payment,
            "support" => ServiceCategory::Support,
            "cdn" => ServiceCategory::Cdn,
            _ => return None,
        })
    }

    /// Analytics and ads traffic is tracking.
    pub fn is_tracking(self) -> bool {
        matches!(self, ServiceCategory::Analytics | ServiceCategory::Ads)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicesFile {
    version: String,
    categories: BTreeMap<String, Vec<String>>,
}

#[derive(Debug)]
pub struct Services {
    pub version: String,
    domains: Vec<(String, ServiceCategory)>,
}

impl Services {
    /// The category of `host` when it belongs to a known service.
    pub fn category(&self, host: &str) -> Option<ServiceCategory> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domains
            .iter()
            .filter(|(domain, _)| {
                host == *domain
                    || (host.len() > domain.len()
                        && host.ends_with(domain.as_str())
                        && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
            })
            // The longest (most specific) suffix wins: fonts.gstatic.com before gstatic.com.
            .max_by_key(|(domain, _)| domain.len())
            .map(|(_, category)| *category)
    }
}

pub fn parse(text: &str) -> Result<Services, String> {
    let file: ServicesFile = toml::from_str(text).map_err(|err| err.to_string())?;
    let mut domains = Vec::new();
    for (name, list) in file.categories {
        let category = ServiceCategory::from_name(&name)
            .ok_or_else(|| format!("unknown category {name:?}"))?;
        for domain in list {
            if domain.is_empty()
                || domain.contains(['/', ':', ' '])
                || domain != domain.to_ascii_lowercase()
            {
                return Err(format!("{domain:?} is not a lowercase domain"));
            }
            domains.push((domain, category));
        }
    }
    Ok(Services {
        version: file.version,
        domains,
    })
}

/// The compiled-in list; an invalid file leaves it empty and fails this crate's tests.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| {
        parse(SERVICES_TOML).unwrap_or_else(|err| {
            tracing::error!("rules/services.toml is invalid: {err}");
            Services {
                version: String::new(),
                domains: Vec::new(),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_parses_and_matches_suffixes_only_at_label_boundaries() {
        let services = parse(SERVICES_TOML).unwrap();
        assert_eq!(
            services.category("www.google-analytics.com"),
            Some(ServiceCategory::Analytics)
        );
        assert_eq!(
            services.category("js.stripe.com"),
            Some(ServiceCategory::Payment)
        );
        assert_eq!(services.category("notstripe.com"), None);
        assert_eq!(services.category("shop.example"), None);
        assert!(parse("version = \"1\"\n[categories]\nweird = [\"a.com\"]\n").is_err());
    }
}
