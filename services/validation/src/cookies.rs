//! Which cookie is an anti-bot token: names and prefixes per vendor, as data
//! (`rules/antibot_cookies.json`), parsed and checked on first use.

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct RulesFile {
    version: u32,
    cookies: Vec<CookieRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CookieRule {
    pub vendor: String,
    pub product: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub prefixes: Vec<String>,
}

const RULES_JSON: &str = include_str!("../rules/antibot_cookies.json");

fn parse_rules(text: &str) -> Result<Vec<CookieRule>, String> {
    let file: RulesFile =
        serde_json::from_str(text).map_err(|err| format!("antibot_cookies.json: {err}"))?;
    if file.version != 1 {
        return Err(format!(
            "antibot_cookies.json: version {} is not 1",
            file.version
        ));
    }
    for rule in &file.cookies {
        if !recon_contracts::VENDOR_IDS.contains(&rule.vendor.as_str()) {
            return Err(format!(
                "antibot_cookies.json: unknown vendor {:?}",
                rule.vendor
            ));
        }
        if rule.names.is_empty() && rule.prefixes.is_empty() {
            return Err(format!(
                "antibot_cookies.json: {} has no names",
                rule.vendor
            ));
        }
    }
    Ok(file.cookies)
}

fn rules() -> &'static [CookieRule] {
    static RULES: OnceLock<Vec<CookieRule>> = OnceLock::new();
    // The file is compiled in and checked by a unit test; a broken one disables naming only.
    RULES.get_or_init(|| parse_rules(RULES_JSON).unwrap_or_default())
}

/// The anti-bot rule a cookie name belongs to.
pub fn antibot_cookie(name: &str) -> Option<&'static CookieRule> {
    rules().iter().find(|rule| {
        rule.names.iter().any(|known| known == name)
            || rule
                .prefixes
                .iter()
                .any(|prefix| name.starts_with(prefix.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_file_is_valid_and_every_entry_fires() {
        let rules = parse_rules(RULES_JSON).unwrap();
        assert!(!rules.is_empty());
        for rule in &rules {
            for name in &rule.names {
                assert_eq!(
                    antibot_cookie(name).map(|r| &r.vendor),
                    Some(&rule.vendor),
                    "{name}"
                );
            }
            for prefix in &rule.prefixes {
                let sample = format!("{prefix}12345");
                assert_eq!(
                    antibot_cookie(&sample).map(|r| &r.vendor),
                    Some(&rule.vendor)
                );
            }
        }
    }

    #[test]
    fn ordinary_cookies_are_not_anti_bot() {
        for name in [
            "session",
            "sessionid",
            "JSESSIONID",
            "_ga",
            "_gid",
            "theme",
            "cart",
            "csrftoken",
            "px",
            "__Host-id",
            "ts",
        ] {
            assert!(antibot_cookie(name).is_none(), "{name}");
        }
    }

    #[test]
    fn bad_rule_files_are_rejected() {
        assert!(parse_rules(r#"{"version":2,"cookies":[]}"#).is_err());
        assert!(parse_rules(
            r#"{"version":1,"cookies":[{"vendor":"acme","product":"x","names":["a"]}]}"#
        )
        .is_err());
        assert!(
            parse_rules(r#"{"version":1,"cookies":[{"vendor":"akamai","product":"x"}]}"#).is_err()
        );
    }
}
