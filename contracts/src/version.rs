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

    /// A version numbered as our releases are: exactly `major.minor.patch`, each a number of at
    /// most three digits without leading zeros, no pre-release or build suffix.
    pub fn parse_release(text: &str) -> Option<SemVer> {
        let plain_number = |part: &str| {
            (1..=3).contains(&part.len())
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'))
        };
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3 || !parts.iter().all(|part| plain_number(part)) {
            return None;
        }
        SemVer::parse(text)
    }

    /// The version a `browser-recon/<version>` User-Agent announces, if it is one of ours.
    pub fn from_user_agent(user_agent: &str) -> Option<SemVer> {
        SemVer::parse(announced_version(user_agent)?)
    }

    /// The same, only when the announced version is numbered like a release.
    pub fn release_from_user_agent(user_agent: &str) -> Option<SemVer> {
        SemVer::parse_release(announced_version(user_agent)?)
    }
}

/// The text after `browser-recon/` in the first product of a User-Agent.
fn announced_version(user_agent: &str) -> Option<&str> {
    let first = user_agent.split_whitespace().next()?;
    first.strip_prefix(USER_AGENT_PRODUCT)?.strip_prefix('/')
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
    fn only_plain_release_numbers_are_releases() {
        assert_eq!(SemVer::parse_release("0.3.0"), SemVer::parse("0.3.0"));
        assert_eq!(
            SemVer::parse_release("10.20.300"),
            SemVer::parse("10.20.300")
        );
        for text in [
            "0.3",
            "0.3.0.1",
            "0.3.0-rc.1",
            "0.3.0+build",
            "00.3.0",
            "0.03.0",
            "0.3.1000",
            "0.3.x",
            "",
            "0..0",
            " 0.3.0",
        ] {
            assert_eq!(SemVer::parse_release(text), None, "{text:?}");
        }
        assert_eq!(
            SemVer::release_from_user_agent("browser-recon/0.2.9 (linux)"),
            SemVer::parse("0.2.9")
        );
        assert_eq!(
            SemVer::release_from_user_agent("browser-recon/0.2.9-dev"),
            None
        );
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
