//! The scrub rules (secret header names, field names, key shapes) live in
//! `rules/secrets.json`, checked in as data; this module parses and validates them once.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::secrets::SecretKind;

const RULES_JSON: &str = include_str!("../rules/secrets.json");

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules/secrets.json is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("rule {id}: unknown kind {kind:?}")]
    UnknownKind { id: String, kind: String },
    #[error("rule {id}: bad pattern: {source}")]
    Pattern { id: String, source: regex::Error },
    #[error("rule {id}: unknown match {found:?}; expected exact or contains")]
    UnknownMatch { id: String, found: String },
    #[error("rule {id}: unknown where {found:?}; expected anywhere or bodies")]
    UnknownWhere { id: String, found: String },
}

#[derive(Debug, Deserialize)]
struct RawRules {
    version: String,
    headers: Vec<RawHeader>,
    allow_names: Vec<String>,
    names: Vec<RawName>,
    shapes: Vec<RawShape>,
    clean_corpus: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawHeader {
    name: String,
    kind: String,
}

#[derive(Debug, Deserialize)]
struct RawName {
    #[serde(rename = "match")]
    match_: String,
    text: String,
    kind: String,
    sample: String,
}

#[derive(Debug, Deserialize)]
struct RawShape {
    id: String,
    kind: String,
    #[serde(rename = "where")]
    where_: String,
    pattern: String,
    #[serde(default)]
    reject_suffixes: Vec<String>,
    sample: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    Exact,
    Contains,
}

#[derive(Debug)]
pub struct NameRule {
    pub match_: NameMatch,
    pub text: String,
    pub kind: SecretKind,
    pub sample: String,
}

#[derive(Debug)]
pub struct ShapeRule {
    pub id: String,
    pub kind: SecretKind,
    /// Phone shapes only run on bodies: headers and URLs are full of digit groups.
    pub bodies_only: bool,
    pub pattern: Regex,
    /// Whether the pattern names a `secret` group; without one a match is found without
    /// building its groups.
    pub has_secret_group: bool,
    pub reject_suffixes: Vec<String>,
    pub sample: String,
}

impl ShapeRule {
    /// Whether a match of this rule's pattern is rejected (e.g. `logo@2x.png` is no email).
    pub fn rejects(&self, matched: &str) -> bool {
        let lower = matched.to_ascii_lowercase();
        self.reject_suffixes
            .iter()
            .any(|suffix| lower.ends_with(suffix.as_str()))
    }
}

#[derive(Debug)]
pub struct Rules {
    pub version: String,
    /// Lower-case header name → kind of its whole value.
    pub headers: HashMap<String, SecretKind>,
    pub allow_names: HashSet<String>,
    pub names: Vec<NameRule>,
    pub shapes: Vec<ShapeRule>,
    /// Every shape pattern in one automaton, in rule order: one pass over a text says which
    /// rules can match at all (most texts match none). `None` when the union is too large to
    /// compile, and then every rule is tried.
    pub shape_set: Option<RegexSet>,
    pub clean_corpus: Vec<String>,
}

impl Rules {
    /// Which shape rules match somewhere in `text`, by index; `None` means any may.
    ///
    /// Only for ASCII text: Unicode word boundaries (`\b`) stop the set's DFA on other text, and
    /// the rules' own literal prefilters are then the faster way.
    pub fn shape_candidates(&self, text: &str) -> Option<regex::SetMatches> {
        let set = self.shape_set.as_ref()?;
        text.is_ascii().then(|| set.matches(text))
    }
}

/// The checked-in rules. A broken rules file is caught by the tests of this crate; should one
/// ship anyway, the process stops at first use with the rule named.
pub fn rules() -> &'static Rules {
    static RULES: LazyLock<Rules> = LazyLock::new(|| match parse(RULES_JSON) {
        Ok(rules) => rules,
        Err(err) => panic!("{err}"),
    });
    &RULES
}

pub fn parse(text: &str) -> Result<Rules, RulesError> {
    let raw: RawRules = serde_json::from_str(text)?;
    let kind = |id: &str, kind: &str| {
        SecretKind::from_label(kind).ok_or_else(|| RulesError::UnknownKind {
            id: id.to_owned(),
            kind: kind.to_owned(),
        })
    };
    let mut headers = HashMap::new();
    for header in &raw.headers {
        headers.insert(
            header.name.to_ascii_lowercase(),
            kind(&header.name, &header.kind)?,
        );
    }
    let mut names = Vec::new();
    for name in raw.names {
        let match_ = match name.match_.as_str() {
            "exact" => NameMatch::Exact,
            "contains" => NameMatch::Contains,
            other => {
                return Err(RulesError::UnknownMatch {
                    id: name.text,
                    found: other.to_owned(),
                })
            }
        };
        names.push(NameRule {
            match_,
            kind: kind(&name.text, &name.kind)?,
            text: normalize_name(&name.text),
            sample: name.sample,
        });
    }
    let mut shapes = Vec::new();
    for shape in raw.shapes {
        let bodies_only = match shape.where_.as_str() {
            "anywhere" => false,
            "bodies" => true,
            other => {
                return Err(RulesError::UnknownWhere {
                    id: shape.id,
                    found: other.to_owned(),
                })
            }
        };
        let pattern = Regex::new(&shape.pattern).map_err(|source| RulesError::Pattern {
            id: shape.id.clone(),
            source,
        })?;
        shapes.push(ShapeRule {
            kind: kind(&shape.id, &shape.kind)?,
            id: shape.id,
            bodies_only,
            has_secret_group: pattern.capture_names().any(|name| name == Some("secret")),
            pattern,
            reject_suffixes: shape.reject_suffixes,
            sample: shape.sample,
        });
    }
    let shape_set = RegexSet::new(shapes.iter().map(|shape| shape.pattern.as_str())).ok();
    Ok(Rules {
        version: raw.version,
        headers,
        allow_names: raw.allow_names.iter().map(|n| normalize_name(n)).collect(),
        names,
        shapes,
        shape_set,
        clean_corpus: raw.clean_corpus,
    })
}

/// `X-CSRF-Token`, `x.csrf token` and `x_csrf_token` are the same name to the rules.
pub fn normalize_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_rules_parse() {
        let rules = parse(RULES_JSON).unwrap();
        assert!(!rules.version.is_empty());
        assert!(rules.headers.len() >= 15);
        assert!(rules.names.len() >= 30);
        assert!(rules.shapes.len() >= 20);
    }

    #[test]
    fn broken_rules_name_the_rule() {
        let text = r#"{"version":"x","headers":[],"allow_names":[],"names":[],
            "shapes":[{"id":"bad","kind":"jwt","where":"anywhere","pattern":"(","sample":""}],
            "clean_corpus":[]}"#;
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("rule bad"), "{err}");
        let text = r#"{"version":"x","headers":[{"name":"x","kind":"nope"}],"allow_names":[],
            "names":[],"shapes":[],"clean_corpus":[]}"#;
        assert!(parse(text).unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn every_name_rule_fires_on_its_sample() {
        for rule in &rules().names {
            let found = crate::secrets::kind_from_name(&rule.sample, "value-123");
            assert!(
                found.is_some(),
                "name rule {:?} did not fire on {:?}",
                rule.text,
                rule.sample
            );
        }
    }

    #[test]
    fn every_header_rule_fires() {
        for name in rules().headers.keys() {
            assert!(
                crate::secrets::classify(Some(name), "plain-value-123").is_some(),
                "header rule {name} did not fire"
            );
        }
    }

    #[test]
    fn every_shape_rule_fires_on_its_sample_and_only_there() {
        for rule in &rules().shapes {
            let matched = rule
                .pattern
                .find(&rule.sample)
                .unwrap_or_else(|| panic!("shape {} does not match its sample", rule.id));
            assert!(!rule.rejects(matched.as_str()), "{}", rule.id);
            let scrubbed = crate::secrets::scrub_shapes_standalone(&rule.sample, true);
            assert_ne!(scrubbed, rule.sample, "shape {} not scrubbed", rule.id);
        }
    }

    #[test]
    fn the_clean_corpus_stays_clean() {
        for text in &rules().clean_corpus {
            for rule in &rules().shapes {
                if let Some(found) = rule.pattern.find(text) {
                    assert!(
                        rule.rejects(found.as_str()),
                        "shape {} fired on clean text {text:?}: {:?}",
                        rule.id,
                        found.as_str()
                    );
                }
            }
            assert_eq!(
                crate::secrets::scrub_shapes_standalone(text, true),
                *text,
                "clean text changed"
            );
        }
        for name in [
            "page",
            "q",
            "limit",
            "sort",
            "id",
            "lang",
            "category",
            "author",
            "keyword",
            "offset",
            "per_page",
            "cursor",
            "page_token",
            "token_type",
            "brand",
            "currency",
            "sitekey",
        ] {
            assert_eq!(
                crate::secrets::kind_from_name(name, "x"),
                None,
                "name {name} classified"
            );
        }
    }
}
