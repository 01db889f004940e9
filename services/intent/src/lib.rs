//! Intent filter (target `intent_filter`): ranks endpoints by how well they match what the
//! user asked for (intent text plus a starter template). Intent words and their synonyms
//! (`rules/intent.toml`) are matched against path segments, GraphQL operation names,
//! parameter names and response field names; a typed verb (`update`, `submit`) favours the
//! endpoints of its methods. Every ranked endpoint says why. Trackers, anti-bot sensors and
//! static assets always rank below data endpoints.

pub mod tokens;
pub mod vocabulary;

use std::collections::{BTreeMap, HashSet};

use recon_contracts::{Endpoint, IntentRanking, Inventory, RankedEndpoint};
use recon_knowledge::words::words;

use crate::tokens::{Source, Token};
use crate::vocabulary::{normalise, try_vocabulary, Vocabulary, VocabularyError};

/// Template terms count for less than the words the user typed.
const TEMPLATE_TERM_FACTOR: f64 = 0.5;
const TEMPLATE_BUCKET_BONUS: f64 = 2.0;
/// A typed verb's method: enough to order the PATCH of a cart above its GET, less than any
/// matched word.
const METHOD_VERB_BONUS: f64 = 1.0;

/// A term to look for: the normalised word, its synonyms, and whether the user typed it.
struct Term {
    word: String,
    matches: HashSet<String>,
    typed: bool,
}

fn terms(
    vocabulary: &Vocabulary,
    intent_text: &str,
    template: Option<&vocabulary::Template>,
) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::new();
    let add = |word: String, typed: bool, out: &mut Vec<Term>| {
        // A template term the user's own words already cover (job ~ vacancy) counts once.
        if let Some(existing) = out
            .iter_mut()
            .find(|t| t.word == word || (!typed && t.matches.contains(&word)))
        {
            existing.typed |= typed;
            return;
        }
        out.push(Term {
            matches: vocabulary.expand(&word),
            word,
            typed,
        });
    };
    for word in words(intent_text) {
        let word = normalise(&word);
        if word.len() >= 2 && !vocabulary.is_stop_word(&word) {
            add(word, true, &mut out);
        }
    }
    if let Some(template) = template {
        for term in &template.terms {
            add(term.clone(), false, &mut out);
        }
    }
    out
}

/// The methods the intent's verbs ask for, each with the verb that asked (`PATCH` ← update).
fn wanted_methods(vocabulary: &Vocabulary, intent_text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for word in words(intent_text) {
        let word = normalise(&word);
        for method in vocabulary.methods_for(&word) {
            out.entry(method.clone()).or_insert_with(|| word.clone());
        }
    }
    out
}

fn kind_base(kind: &str) -> f64 {
    match kind {
        "json-api" | "graphql" => 1.0,
        "html-document" => 0.4,
        "stream" | "other" => 0.2,
        _ => 0.0,
    }
}

fn kind_factor(kind: &str) -> f64 {
    match kind {
        "json-api" | "graphql" => 1.0,
        "html-document" => 0.6,
        "stream" | "other" => 0.5,
        _ => 0.2,
    }
}

fn score(
    vocabulary: &Vocabulary,
    endpoint: &Endpoint,
    terms: &[Term],
    methods: &BTreeMap<String, String>,
    template: Option<&vocabulary::Template>,
    template_name: &str,
) -> (f64, Vec<String>) {
    let tokens = tokens::tokens(endpoint, vocabulary);
    let mut score = 0.0;
    let mut reasons = Vec::new();
    for term in terms {
        // Per source, the originals that matched this term.
        let mut hits: BTreeMap<Source, Vec<&Token>> = BTreeMap::new();
        for token in tokens.iter().filter(|t| term.matches.contains(&t.word)) {
            let list = hits.entry(token.source).or_default();
            if !list.iter().any(|t| t.original == token.original) {
                list.push(token);
            }
        }
        if hits.is_empty() {
            continue;
        }
        let factor = if term.typed {
            1.0
        } else {
            TEMPLATE_TERM_FACTOR
        };
        let mut term_score = 0.0;
        for (source, matched) in &hits {
            let extra = match source {
                // More matching fields say more, up to a point.
                Source::Field => (matched.len().min(5) as f64 - 1.0) * 0.25,
                _ => 0.0,
            };
            term_score += source.weight() + extra;
            let originals: Vec<&str> = matched
                .iter()
                .take(4)
                .map(|t| t.original.as_str())
                .collect();
            let origin = if term.typed {
                "your intent"
            } else {
                "the template"
            };
            reasons.push(match source {
                Source::Path => format!(
                    "path segment {} matches {:?} from {origin}",
                    quoted(&originals),
                    term.word
                ),
                Source::Operation => format!(
                    "GraphQL operation {} matches {:?} from {origin}",
                    quoted(&originals),
                    term.word
                ),
                Source::Parameter => format!(
                    "parameter {} matches {:?} from {origin}",
                    quoted(&originals),
                    term.word
                ),
                Source::Field => format!(
                    "response field(s) {} match {:?} from {origin}",
                    quoted(&originals),
                    term.word
                ),
                Source::Value => format!(
                    "recorded parameter value(s) {} contain {:?} from {origin}",
                    quoted(&originals),
                    term.word
                ),
            });
        }
        score += term_score * factor;
    }
    let matched_any = score > 0.0;
    if let Some(template) = template {
        if template.buckets.contains(&endpoint.bucket) {
            score += TEMPLATE_BUCKET_BONUS;
            reasons.push(format!(
                "{} endpoint fits the {template_name:?} template",
                endpoint.bucket
            ));
        }
    }
    let base = kind_base(&endpoint.kind);
    if base > 0.0 && (matched_any || terms.is_empty()) {
        score += base;
        reasons.push(match endpoint.kind.as_str() {
            "json-api" => "returns JSON data".to_owned(),
            "graphql" => "GraphQL data operation".to_owned(),
            "html-document" => "HTML page (data may be embedded in the markup)".to_owned(),
            other => format!("{other} endpoint"),
        });
    }
    if matched_any {
        if let Some(verb) = methods.get(&endpoint.method.to_ascii_uppercase()) {
            score += METHOD_VERB_BONUS;
            reasons.push(format!(
                "method {} fits {verb:?} from your intent",
                endpoint.method
            ));
        }
        if let Some(pagination) = &endpoint.pagination {
            score += 0.5;
            let style = serde_json::to_value(pagination.style)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            reasons.push(format!("paginated ({style})"));
        }
        let ok = endpoint.statuses.iter().any(|s| (200..300).contains(s));
        if ok {
            score += 0.5;
        } else if !endpoint.statuses.is_empty() {
            score *= 0.5;
            reasons.push(format!(
                "no successful response was recorded (statuses {:?})",
                endpoint.statuses
            ));
        }
        if endpoint.challenged_count > 0 {
            reasons.push(format!(
                "{} of {} samples met an anti-bot challenge",
                endpoint.challenged_count, endpoint.sample_count
            ));
        }
    }
    score *= kind_factor(&endpoint.kind);
    if !endpoint.is_data() {
        reasons.push(format!("{} request: not a data source", endpoint.kind));
    }
    ((score * 100.0).round() / 100.0, reasons)
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("{i:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn rank(inventory: &Inventory, intent_text: &str, starter_template: &str) -> IntentRanking {
    let mut ranking = IntentRanking {
        intent_text: intent_text.to_owned(),
        starter_template: starter_template.to_owned(),
        ranked: Vec::new(),
    };
    let Ok(vocabulary) = try_vocabulary() else {
        return ranking;
    };
    let template = vocabulary.template(starter_template);
    let terms = terms(vocabulary, intent_text, template);
    let methods = wanted_methods(vocabulary, intent_text);
    let mut ranked: Vec<(bool, RankedEndpoint)> = inventory
        .endpoints
        .iter()
        .map(|endpoint| {
            let (score, reasons) = score(
                vocabulary,
                endpoint,
                &terms,
                &methods,
                template,
                starter_template.trim(),
            );
            (
                // Not data: never ranked above an endpoint that returns data.
                !endpoint.is_data(),
                RankedEndpoint {
                    endpoint_id: endpoint.id.clone(),
                    score,
                    reasons,
                },
            )
        })
        .filter(|(_, ranked)| ranked.score > 0.0)
        .collect();
    ranked.sort_by(|(a_non_data, a), (b_non_data, b)| {
        a_non_data
            .cmp(b_non_data)
            .then(b.score.total_cmp(&a.score))
            .then(a.endpoint_id.cmp(&b.endpoint_id))
    });
    ranking.ranked = ranked.into_iter().map(|(_, r)| r).collect();
    ranking
}

/// Whether the intent vocabulary compiled in is valid.
pub fn check_vocabulary() -> Result<(), &'static VocabularyError> {
    try_vocabulary().map(|_| ())
}

/// The step's summary line: how many endpoints ranked, and the top one.
pub fn summary_line(ranking: &IntentRanking, inventory: &Inventory) -> String {
    match ranking.ranked.first() {
        Some(top) => {
            let endpoint = inventory.endpoints.iter().find(|e| e.id == top.endpoint_id);
            let label = endpoint.map_or(top.endpoint_id.clone(), |e| match &e.graphql_operation {
                Some(op) => format!("{} {} {op}", e.method, e.path_template),
                None => format!("{} {}", e.method, e.path_template),
            });
            format!("{} endpoint(s) ranked; top: {label}", ranking.ranked.len())
        }
        None => "no endpoint matched the intent".to_owned(),
    }
}
