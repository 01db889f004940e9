//! `rules/analysis.toml` loaded and checked once: buckets, pagination names, tracking paths,
//! static extensions and cookie roles.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

const ANALYSIS_TOML: &str = include_str!("../rules/analysis.toml");

/// Buckets an endpoint may land in (the report's vocabulary).
pub const BUCKETS: [&str; 9] = [
    "search", "listing", "detail", "reviews", "prices", "auth", "config", "tracking", "other",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("rules/analysis.toml: {0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    version: String,
    buckets: Vec<RawBucket>,
    pagination: RawPagination,
    tracking: RawTracking,
    #[serde(rename = "static")]
    static_assets: RawStatic,
    cookies: RawCookies,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBucket {
    name: String,
    words: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPagination {
    page: Vec<String>,
    offset: Vec<String>,
    cursor: Vec<String>,
    page_size: Vec<String>,
    next_link_fields: Vec<String>,
    cursor_fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTracking {
    paths: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatic {
    extensions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCookies {
    session: String,
    tracking_prefixes: Vec<String>,
}

#[derive(Debug)]
pub struct Bucket {
    pub name: String,
    pub words: HashSet<String>,
}

#[derive(Debug)]
pub struct PaginationNames {
    pub page: HashSet<String>,
    pub offset: HashSet<String>,
    pub cursor: HashSet<String>,
    pub page_size: HashSet<String>,
    pub next_link_fields: HashSet<String>,
    pub cursor_fields: HashSet<String>,
}

#[derive(Debug)]
pub struct AnalysisConfig {
    pub version: String,
    pub buckets: Vec<Bucket>,
    pub pagination: PaginationNames,
    pub tracking_paths: Regex,
    pub static_extensions: HashSet<String>,
    pub session_cookie: Regex,
    pub tracking_cookie_prefixes: Vec<String>,
}

impl AnalysisConfig {
    pub fn is_tracking_cookie(&self, name: &str) -> bool {
        self.tracking_cookie_prefixes
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
    }
}

fn lower_set(words: Vec<String>) -> HashSet<String> {
    words
        .into_iter()
        .map(|word| word.to_ascii_lowercase())
        .collect()
}

pub fn parse(text: &str) -> Result<AnalysisConfig, ConfigError> {
    let raw: RawConfig =
        toml::from_str(text).map_err(|err| ConfigError::Invalid(err.to_string()))?;
    let mut buckets = Vec::new();
    for bucket in raw.buckets {
        if !BUCKETS.contains(&bucket.name.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "unknown bucket {:?}; expected one of {BUCKETS:?}",
                bucket.name
            )));
        }
        buckets.push(Bucket {
            name: bucket.name,
            words: lower_set(bucket.words),
        });
    }
    let regex = |field: &str, pattern: &str| {
        Regex::new(pattern).map_err(|err| ConfigError::Invalid(format!("{field}: {err}")))
    };
    Ok(AnalysisConfig {
        version: raw.version,
        buckets,
        pagination: PaginationNames {
            page: lower_set(raw.pagination.page),
            offset: lower_set(raw.pagination.offset),
            cursor: lower_set(raw.pagination.cursor),
            page_size: lower_set(raw.pagination.page_size),
            next_link_fields: lower_set(raw.pagination.next_link_fields),
            cursor_fields: lower_set(raw.pagination.cursor_fields),
        },
        tracking_paths: regex("tracking.paths", &raw.tracking.paths)?,
        static_extensions: lower_set(raw.static_assets.extensions),
        session_cookie: regex("cookies.session", &raw.cookies.session)?,
        tracking_cookie_prefixes: raw.cookies.tracking_prefixes,
    })
}

pub fn try_config() -> Result<&'static AnalysisConfig, &'static ConfigError> {
    static CONFIG: OnceLock<Result<AnalysisConfig, ConfigError>> = OnceLock::new();
    CONFIG.get_or_init(|| parse(ANALYSIS_TOML)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_file_is_valid() {
        let config = try_config().unwrap();
        assert!(config.buckets.len() >= 7);
        assert!(config.session_cookie.is_match("PHPSESSID"));
        assert!(config.session_cookie.is_match("shop_session"));
        assert!(!config.session_cookie.is_match("theme"));
        assert!(config.tracking_paths.is_match("/g/collect?v=2"));
        assert!(!config.tracking_paths.is_match("/api/products"));
        assert!(config.is_tracking_cookie("_ga_ABC"));
    }

    #[test]
    fn bad_data_is_refused() {
        let bad_bucket = ANALYSIS_TOML.replace("name = \"auth\"", "name = \"misc\"");
        assert!(parse(&bad_bucket)
            .unwrap_err()
            .to_string()
            .contains("unknown bucket"));
        let bad_regex = ANALYSIS_TOML.replace("paths = '(?i)", "paths = '(?i)(");
        assert!(parse(&bad_regex).is_err());
    }
}
