//! `rules/intent.toml`: synonym groups, stop words, method verbs and starter templates,
//! normalised (lower case, singular) and checked once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;

const INTENT_TOML: &str = include_str!("../rules/intent.toml");

/// Buckets a template may prefer (analysis's vocabulary).
const BUCKETS: [&str; 9] = [
    "search", "listing", "detail", "reviews", "prices", "auth", "config", "tracking", "other",
];

/// Methods a verb may ask for.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[derive(Debug, thiserror::Error)]
#[error("rules/intent.toml: {0}")]
pub struct VocabularyError(String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVocabulary {
    version: String,
    stop_words: Vec<String>,
    operation_suffixes: Vec<String>,
    method_verbs: BTreeMap<String, Vec<String>>,
    synonyms: BTreeMap<String, Vec<String>>,
    templates: BTreeMap<String, RawTemplate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    terms: Vec<String>,
    buckets: Vec<String>,
}

#[derive(Debug)]
pub struct Template {
    pub terms: Vec<String>,
    pub buckets: Vec<String>,
}

#[derive(Debug)]
pub struct Vocabulary {
    pub version: String,
    stop_words: HashSet<String>,
    /// Words GraphQL clients end operation names with (`…PageQuery`, `…Relay`).
    operation_suffixes: HashSet<String>,
    /// Verb → the HTTP methods it asks for (`update` → PATCH, PUT).
    method_verbs: HashMap<String, Vec<String>>,
    /// Word → every word it matches (itself included).
    expansions: HashMap<String, HashSet<String>>,
    pub templates: BTreeMap<String, Template>,
}

/// Lower case and singular: the form every word is compared in.
pub fn normalise(word: &str) -> String {
    recon_knowledge::words::singular(&word.to_lowercase())
}

impl Vocabulary {
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.stop_words.contains(word)
    }

    /// The words of a GraphQL operation name that say what it is about: CamelCase split, the
    /// client's naming suffixes dropped (`SearchResultsPageQuery` → search, result), at least
    /// one word kept.
    pub fn operation_words(&self, operation: &str) -> Vec<String> {
        let mut words: Vec<String> = recon_knowledge::words::words(operation)
            .iter()
            .map(|word| normalise(word))
            .collect();
        while words.len() > 1
            && words
                .last()
                .is_some_and(|word| self.operation_suffixes.contains(word))
        {
            words.pop();
        }
        words
    }

    /// The HTTP methods a (normalised) verb asks for; empty for any other word.
    pub fn methods_for(&self, word: &str) -> &[String] {
        self.method_verbs.get(word).map_or(&[], Vec::as_slice)
    }

    /// The words `term` (normalised) matches.
    pub fn expand(&self, term: &str) -> HashSet<String> {
        self.expansions
            .get(term)
            .cloned()
            .unwrap_or_else(|| HashSet::from([term.to_owned()]))
    }

    /// A template by name, forgiving case and a plural/singular slip (`product` → products).
    pub fn template(&self, name: &str) -> Option<&Template> {
        let wanted = name.trim().to_lowercase();
        self.templates.get(&wanted).or_else(|| {
            self.templates
                .iter()
                .find(|(key, _)| normalise(key) == normalise(&wanted))
                .map(|(_, template)| template)
        })
    }
}

pub fn parse(text: &str) -> Result<Vocabulary, VocabularyError> {
    let raw: RawVocabulary =
        toml::from_str(text).map_err(|err| VocabularyError(err.to_string()))?;
    let mut expansions: HashMap<String, HashSet<String>> = HashMap::new();
    for (group, words) in &raw.synonyms {
        let mut all: HashSet<String> = words.iter().map(|w| normalise(w)).collect();
        all.insert(normalise(group));
        for word in &all {
            expansions
                .entry(word.clone())
                .or_default()
                .extend(all.iter().cloned());
        }
    }
    let mut method_verbs: HashMap<String, Vec<String>> = HashMap::new();
    for (method, verbs) in &raw.method_verbs {
        if !METHODS.contains(&method.as_str()) {
            return Err(VocabularyError(format!(
                "method_verbs names {method:?}, expected one of {METHODS:?}"
            )));
        }
        for verb in verbs {
            method_verbs
                .entry(normalise(verb))
                .or_default()
                .push(method.clone());
        }
    }
    let mut templates = BTreeMap::new();
    for (name, template) in raw.templates {
        if template.terms.is_empty() {
            return Err(VocabularyError(format!("template {name:?} has no terms")));
        }
        for bucket in &template.buckets {
            if !BUCKETS.contains(&bucket.as_str()) {
                return Err(VocabularyError(format!(
                    "template {name:?} names unknown bucket {bucket:?}"
                )));
            }
        }
        templates.insert(
            name,
            Template {
                terms: template.terms.iter().map(|t| normalise(t)).collect(),
                buckets: template.buckets,
            },
        );
    }
    Ok(Vocabulary {
        version: raw.version,
        stop_words: raw.stop_words.iter().map(|w| w.to_lowercase()).collect(),
        operation_suffixes: raw
            .operation_suffixes
            .iter()
            .map(|w| normalise(w))
            .collect(),
        method_verbs,
        expansions,
        templates,
    })
}

pub fn try_vocabulary() -> Result<&'static Vocabulary, &'static VocabularyError> {
    static VOCABULARY: OnceLock<Result<Vocabulary, VocabularyError>> = OnceLock::new();
    VOCABULARY.get_or_init(|| parse(INTENT_TOML)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_vocabulary_is_valid() {
        let vocabulary = try_vocabulary().unwrap();
        assert!(vocabulary.expand("sku").contains("product"));
        assert!(vocabulary.expand(&normalise("vacancies")).contains("job"));
        for name in [
            "products", "search", "reviews", "listings", "prices", "jobs",
        ] {
            assert!(vocabulary.template(name).is_some(), "{name}");
        }
        assert!(vocabulary.template("Product").is_some());
        assert_eq!(
            vocabulary.operation_words("SearchResultsPageQuery"),
            ["search", "result"]
        );
        assert_eq!(
            vocabulary.operation_words("ProductDetailsRefetchQuery"),
            ["product", "detail"]
        );
        assert_eq!(vocabulary.operation_words("Query"), ["query"]);
        assert_eq!(vocabulary.methods_for("update"), ["PATCH", "PUT"]);
        assert!(vocabulary.methods_for("cart").is_empty());
    }

    #[test]
    fn bad_data_is_refused() {
        let bad = INTENT_TOML.replace("buckets = [\"reviews\"]", "buckets = [\"opinions\"]");
        assert!(parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("unknown bucket"));
        let bad = INTENT_TOML.replace("DELETE = [", "REMOVE = [");
        assert!(parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("method_verbs names \"REMOVE\""));
    }
}
