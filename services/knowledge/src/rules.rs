//! The vendor rules file (`rules/vendors.toml`): parsed, checked and compiled once, so a typo
//! in the data (an unknown vendor, a bad regex, a rule with nothing to match) fails loudly
//! instead of silently never firing.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use recon_contracts::{ChallengeKind, VENDOR_IDS};
use regex::Regex;
use serde::Deserialize;

const VENDORS_TOML: &str = include_str!("../rules/vendors.toml");

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file is not valid TOML for the expected shape: {0}")]
    Parse(String),
    #[error("rule {rule}: {problem}")]
    Rule { rule: String, problem: String },
    #[error("vendor {0:?} is not a canonical vendor id")]
    UnknownVendor(String),
    #[error("canonical vendor {0:?} has no entry in the rules file")]
    MissingVendor(String),
}

fn rule_error(rule: &str, problem: impl Into<String>) -> RulesError {
    RulesError::Rule {
        rule: rule.to_owned(),
        problem: problem.into(),
    }
}

/// What part of the traffic a rule looks at. Distinct signals are independent observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    Cookie,
    ResponseHeader,
    RequestHeader,
    Url,
    SensorPost,
    ChallengePage,
}

impl Signal {
    pub fn label(self) -> &'static str {
        match self {
            Signal::Cookie => "cookie",
            Signal::ResponseHeader => "response header",
            Signal::RequestHeader => "request header",
            Signal::Url => "request URL",
            Signal::SensorPost => "sensor POST",
            Signal::ChallengePage => "challenge page",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strength {
    /// Enough on its own to report the vendor.
    #[default]
    Strong,
    /// Counts only together with a signal of another type.
    Weak,
    /// Never reports a vendor; adds evidence to one found otherwise.
    Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Any host (vendor-hosted scripts and collectors).
    #[default]
    Any,
    /// Only requests to the site's own hosts.
    FirstParty,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: String,
    vendors: BTreeMap<String, VendorEntry>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorEntry {
    pub product: String,
    pub category: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    vendor: String,
    signal: Signal,
    weight: f64,
    #[serde(default)]
    strength: Strength,
    #[serde(default)]
    scope: Scope,
    name: Option<String>,
    prefix: Option<String>,
    pattern: Option<String>,
    value: Option<String>,
    url: Option<String>,
    body: Option<String>,
    header: Option<String>,
    #[serde(default)]
    statuses: Vec<u16>,
    kind: Option<ChallengeKind>,
    product: Option<String>,
    category: Option<String>,
}

/// How a cookie or header name is matched.
#[derive(Debug)]
pub enum NameMatcher {
    Exact(String),
    Prefix(String),
    Pattern(Regex),
}

impl NameMatcher {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NameMatcher::Exact(exact) => name.eq_ignore_ascii_case(exact),
            NameMatcher::Prefix(prefix) => name
                .get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix)),
            NameMatcher::Pattern(regex) => regex.is_match(name),
        }
    }
}

#[derive(Debug)]
pub enum Matcher {
    /// Cookie name.
    Cookie(NameMatcher),
    /// Header name, optionally a value pattern.
    Header {
        name: NameMatcher,
        value: Option<Regex>,
    },
    Url(Regex),
    SensorPost {
        url: Option<Regex>,
        body: Regex,
    },
    ChallengePage {
        statuses: Vec<u16>,
        body: Option<Regex>,
        header: Option<(String, Option<Regex>)>,
        kind: ChallengeKind,
    },
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub vendor: String,
    pub signal: Signal,
    pub weight: f64,
    pub strength: Strength,
    pub scope: Scope,
    pub matcher: Matcher,
    pub product: Option<String>,
    pub category: Option<String>,
}

/// The compiled rules, in file order (challenge pages: vendors before the generic ones).
#[derive(Debug)]
pub struct RuleSet {
    pub version: String,
    pub vendors: BTreeMap<String, VendorEntry>,
    pub rules: Vec<Rule>,
}

impl RuleSet {
    pub fn by_signal(&self, signal: Signal) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |rule| rule.signal == signal)
    }

    pub fn vendor(&self, id: &str) -> Option<&VendorEntry> {
        self.vendors.get(id)
    }
}

/// Parses and validates a rules file.
pub fn parse(text: &str) -> Result<RuleSet, RulesError> {
    let file: RulesFile = toml::from_str(text).map_err(|err| RulesError::Parse(err.to_string()))?;
    if file.version.trim().is_empty() {
        return Err(RulesError::Parse("version is empty".into()));
    }
    for id in file.vendors.keys() {
        if !VENDOR_IDS.contains(&id.as_str()) {
            return Err(RulesError::UnknownVendor(id.clone()));
        }
    }
    for id in VENDOR_IDS {
        if !file.vendors.contains_key(id) {
            return Err(RulesError::MissingVendor(id.to_owned()));
        }
    }
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    for raw in file.rules {
        if !seen.insert(raw.id.clone()) {
            return Err(rule_error(&raw.id, "duplicate rule id"));
        }
        rules.push(compile(raw, &file.vendors)?);
    }
    Ok(RuleSet {
        version: file.version,
        vendors: file.vendors,
        rules,
    })
}

fn regex(rule: &str, field: &str, pattern: &str) -> Result<Regex, RulesError> {
    Regex::new(pattern).map_err(|err| rule_error(rule, format!("bad {field} regex: {err}")))
}

fn compile(raw: RawRule, vendors: &BTreeMap<String, VendorEntry>) -> Result<Rule, RulesError> {
    let id = raw.id.as_str();
    if !vendors.contains_key(&raw.vendor) {
        return Err(rule_error(id, format!("unknown vendor {:?}", raw.vendor)));
    }
    if !id.starts_with(&format!("{}.", raw.vendor)) && raw.vendor != "unknown-challenge" {
        return Err(rule_error(id, "rule ids start with their vendor id"));
    }
    if !(raw.weight > 0.0 && raw.weight < 1.0) {
        return Err(rule_error(id, "weight must be between 0 and 1"));
    }
    let name_matcher = || -> Result<NameMatcher, RulesError> {
        match (&raw.name, &raw.prefix, &raw.pattern) {
            (Some(name), None, None) => Ok(NameMatcher::Exact(name.clone())),
            (None, Some(prefix), None) => Ok(NameMatcher::Prefix(prefix.clone())),
            (None, None, Some(pattern)) => Ok(NameMatcher::Pattern(regex(id, "pattern", pattern)?)),
            _ => Err(rule_error(id, "needs exactly one of name, prefix, pattern")),
        }
    };
    let value = raw
        .value
        .as_deref()
        .map(|value| regex(id, "value", value))
        .transpose()?;
    let matcher = match raw.signal {
        Signal::Cookie => Matcher::Cookie(name_matcher()?),
        Signal::ResponseHeader | Signal::RequestHeader => Matcher::Header {
            name: name_matcher()?,
            value,
        },
        Signal::Url => {
            let url = raw
                .url
                .as_deref()
                .ok_or_else(|| rule_error(id, "url rules need url"))?;
            Matcher::Url(regex(id, "url", url)?)
        }
        Signal::SensorPost => {
            let body = raw
                .body
                .as_deref()
                .ok_or_else(|| rule_error(id, "sensor-post rules need body"))?;
            Matcher::SensorPost {
                url: raw
                    .url
                    .as_deref()
                    .map(|u| regex(id, "url", u))
                    .transpose()?,
                body: regex(id, "body", body)?,
            }
        }
        Signal::ChallengePage => {
            if raw.statuses.is_empty() {
                return Err(rule_error(id, "challenge-page rules need statuses"));
            }
            let kind = raw
                .kind
                .ok_or_else(|| rule_error(id, "challenge-page rules need kind"))?;
            let body = raw
                .body
                .as_deref()
                .map(|body| regex(id, "body", body))
                .transpose()?;
            let header = raw.header.clone().map(|name| (name, value));
            let status_only = body.is_none() && header.is_none();
            if status_only && !(raw.vendor == "unknown-challenge" && raw.statuses == [429]) {
                return Err(rule_error(
                    id,
                    "challenge-page rules need a body or header marker (only the generic 429 may go by status)",
                ));
            }
            Matcher::ChallengePage {
                statuses: raw.statuses.clone(),
                body,
                header,
                kind,
            }
        }
    };
    Ok(Rule {
        id: raw.id,
        vendor: raw.vendor,
        signal: raw.signal,
        weight: raw.weight,
        strength: raw.strength,
        scope: raw.scope,
        matcher,
        product: raw.product,
        category: raw.category,
    })
}

/// The compiled-in rules. The file is checked by this crate's tests, so a failure here is a
/// build defect, reported through [`try_rules`] by the stage adapter.
pub fn try_rules() -> Result<&'static RuleSet, &'static RulesError> {
    static RULES: OnceLock<Result<RuleSet, RulesError>> = OnceLock::new();
    RULES.get_or_init(|| parse(VENDORS_TOML)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_rules_are_valid_and_cover_every_vendor() {
        let rules = try_rules().unwrap();
        for vendor in VENDOR_IDS {
            assert!(
                rules.rules.iter().any(|rule| rule.vendor == vendor),
                "no rule for {vendor}"
            );
        }
        assert!(rules.rules.len() >= 80, "{} rules", rules.rules.len());
    }

    #[test]
    fn bad_data_is_refused() {
        let head = VENDORS_TOML.split("[[rules]]").next().unwrap();
        let cases = [
            (
                "[[rules]]\nid = \"nobody.x\"\nvendor = \"nobody\"\nsignal = \"cookie\"\nname = \"a\"\nweight = 0.5\n",
                "unknown vendor",
            ),
            (
                "[[rules]]\nid = \"akamai.x\"\nvendor = \"akamai\"\nsignal = \"url\"\nurl = \"(\"\nweight = 0.5\n",
                "bad url regex",
            ),
            (
                "[[rules]]\nid = \"akamai.x\"\nvendor = \"akamai\"\nsignal = \"cookie\"\nweight = 0.5\n",
                "exactly one of",
            ),
            (
                "[[rules]]\nid = \"akamai.x\"\nvendor = \"akamai\"\nsignal = \"smell\"\nname = \"a\"\nweight = 0.5\n",
                "TOML",
            ),
            (
                "[[rules]]\nid = \"akamai.x\"\nvendor = \"akamai\"\nsignal = \"challenge-page\"\nstatuses = [403]\nkind = \"block\"\nweight = 0.5\n",
                "body or header",
            ),
            (
                "[[rules]]\nid = \"akamai.x\"\nvendor = \"akamai\"\nsignal = \"cookie\"\nname = \"a\"\nweight = 1.5\n",
                "weight",
            ),
        ];
        for (rule, expected) in cases {
            let err = parse(&format!("{head}{rule}")).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        let missing = VENDORS_TOML.replace("[vendors.netacea]", "[vendors.netacea-x]");
        assert!(parse(&missing).is_err());
    }
}
