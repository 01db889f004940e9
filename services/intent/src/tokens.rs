//! The words an endpoint offers to match an intent, by where they come from.

use recon_contracts::{Endpoint, ParameterLocation};
use recon_knowledge::words::words;
use serde_json::Value;

use crate::vocabulary::{normalise, Vocabulary};

/// Where a word was found, in decreasing order of how much it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Path,
    Operation,
    Parameter,
    Field,
    /// A recorded parameter value (what the user typed into the site's search box).
    Value,
}

impl Source {
    pub fn weight(self) -> f64 {
        match self {
            Source::Path | Source::Operation => 3.0,
            Source::Parameter => 1.5,
            Source::Field => 1.0,
            Source::Value => 2.0,
        }
    }
}

/// A normalised word and the original text it came from.
#[derive(Debug, Clone)]
pub struct Token {
    pub word: String,
    pub source: Source,
    pub original: String,
}

const MAX_FIELD_DEPTH: usize = 6;

fn schema_fields(schema: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_FIELD_DEPTH {
        return;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in properties {
            out.push(name.clone());
            schema_fields(sub, depth + 1, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = schema.get(key) {
            schema_fields(sub, depth + 1, out);
        }
    }
}

pub fn tokens(endpoint: &Endpoint, vocabulary: &Vocabulary) -> Vec<Token> {
    // Operation names are matched like path segments, by their words less the client's
    // naming suffixes.
    let mut out: Vec<Token> = endpoint
        .graphql_operation
        .iter()
        .flat_map(|operation| {
            vocabulary
                .operation_words(operation)
                .into_iter()
                .map(|word| Token {
                    word,
                    source: Source::Operation,
                    original: operation.clone(),
                })
        })
        .collect();
    let mut push = |text: &str, source: Source| {
        for word in words(text) {
            if word.len() >= 2 || word == "q" {
                out.push(Token {
                    word: normalise(&word),
                    source,
                    original: text.to_owned(),
                });
            }
        }
    };
    for segment in endpoint
        .path_template
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
    {
        push(segment, Source::Path);
    }
    for parameter in &endpoint.parameters {
        if matches!(
            parameter.location,
            ParameterLocation::Query | ParameterLocation::Body | ParameterLocation::Path
        ) {
            push(&parameter.name, Source::Parameter);
        }
    }
    for parameter in &endpoint.parameters {
        let searchable = matches!(
            parameter.location,
            ParameterLocation::Query | ParameterLocation::Body
        ) && matches!(parameter.value_type.as_str(), "string");
        if searchable {
            for example in &parameter.examples {
                if !example.starts_with('<') {
                    push(example, Source::Value);
                }
            }
        }
    }
    if let Some(schema) = &endpoint.response_schema {
        let mut fields = Vec::new();
        schema_fields(schema, 0, &mut fields);
        fields.sort();
        fields.dedup();
        for field in fields {
            push(&field, Source::Field);
        }
    }
    out
}
