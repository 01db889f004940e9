//! Versions of the wire contract and of the CLI, and how a client names itself.

use serde::{Deserialize, Serialize};

/// The version of this contract crate, which is also the CLI's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every CLI request carries `User-Agent: browser-recon/<version>`.
pub const USER_AGENT_PRODUCT: &str = "browser-recon";

pub fn user_agent() -> String {
    format!("{USER_AGENT_PRODUCT}/{VERSION}")
}

/// Body of `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub latest: String,
    pub minimum_supported: String,
    pub server_version: String,
}

/// A dotted `major.minor.patch` version; pre-release suffixes are ignored for ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SemVer {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl SemVer {
    pub fn parse(text: &str) -> Option<SemVer> {
        let core = text.trim().split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().unwrap_or("0").parse().ok()?;
        let patch = parts.next().unwrap_or("0").parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(SemVer {
            major,
            minor,
            patch,
        })
    }

    /// The version a `browser-recon/<version>` User-Agent announces, if it is one of ours.
    pub fn from_user_agent(user_agent: &str) -> Option<SemVer> {
        let first = user_agent.split_whitespace().next()?;
        let version = first.strip_prefix(USER_AGENT_PRODUCT)?.strip_prefix('/')?;
        SemVer::parse(version)
    }
}

impl std::fmt::Display for SemVer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        let old = SemVer::parse("0.2.9").unwrap();
        let new = SemVer::parse("0.3.0-rc.1").unwrap();
        assert!(old < new);
        assert_eq!(new.to_string(), "0.3.0");
        assert_eq!(SemVer::parse("1.x"), None);
    }

    #[test]
    fn reads_our_user_agent_only() {
        assert_eq!(
            SemVer::from_user_agent(&user_agent()),
            SemVer::parse(VERSION)
        );
        assert_eq!(SemVer::from_user_agent("Mozilla/5.0"), None);
        assert_eq!(SemVer::from_user_agent("browser-reconx/1.0.0"), None);
    }

    #[test]
    fn version_info_round_trips() {
        let info = VersionInfo {
            latest: "0.3.0".into(),
            minimum_supported: "0.3.0".into(),
            server_version: "0.3.0".into(),
        };
        let json = serde_json::to_string(&info).unwrap();
        assert_eq!(serde_json::from_str::<VersionInfo>(&json).unwrap(), info);
    }
}
