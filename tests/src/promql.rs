//! The names a PromQL expression refers to (metrics, labels, and the values its label matchers
//! compare with), so the chart's dashboard and alert tests can check them against what the
//! server really exports. Not a PromQL parser: promtool checks the syntax; this only has to
//! tell a metric from a function, a keyword, a label or a string.

use std::collections::BTreeSet;

/// One label matcher of a selector: `stage="detection"`, `outcome=~"processed|failed"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The metric of the selector, when the selector names one.
    pub metric: Option<String>,
    pub label: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: String,
    pub value: String,
}

/// What an expression names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExprNames {
    pub metrics: BTreeSet<String>,
    /// Labels in matchers and in `by`, `without`, `on`, `ignoring`, `group_left/right` lists.
    pub labels: BTreeSet<String>,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(String),
}

/// Words that are never metric names where they stand.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "atan2",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The names `expr` uses; an unterminated string or bracket is an error.
pub fn names(expr: &str) -> Result<ExprNames, String> {
    let tokens = tokenize(expr)?;
    let mut found = ExprNames::default();
    let mut index = 0;
    while index < tokens.len() {
        match &tokens[index] {
            Token::Ident(word) => {
                let next_is_paren = tokens.get(index + 1) == Some(&Token::Punct("(".into()));
                // `sum by (a) (x)`: an aggregation whose clause comes first.
                let next_is_clause = matches!(
                    tokens.get(index + 1),
                    Some(Token::Ident(next)) if ["by", "without"].contains(&next.to_lowercase().as_str())
                );
                if LABEL_LISTS.contains(&word.to_lowercase().as_str()) && next_is_paren {
                    index += 2;
                    while let Some(token) = tokens.get(index) {
                        match token {
                            Token::Punct(p) if p == ")" => break,
                            Token::Ident(label) => {
                                found.labels.insert(label.clone());
                            }
                            _ => {}
                        }
                        index += 1;
                    }
                } else if !next_is_paren
                    && !next_is_clause
                    && !KEYWORDS.contains(&word.to_lowercase().as_str())
                {
                    found.metrics.insert(word.clone());
                }
            }
            Token::Punct(p) if p == "{" => {
                let metric = match index.checked_sub(1).and_then(|i| tokens.get(i)) {
                    Some(Token::Ident(word)) if found.metrics.contains(word) => Some(word.clone()),
                    _ => None,
                };
                index += 1;
                while let Some(token) = tokens.get(index) {
                    match token {
                        Token::Punct(p) if p == "}" => break,
                        Token::Ident(label) => {
                            let (Some(Token::Punct(op)), Some(Token::Str(value))) =
                                (tokens.get(index + 1), tokens.get(index + 2))
                            else {
                                return Err(format!("a matcher of {label} without a value"));
                            };
                            found.labels.insert(label.clone());
                            found.matchers.push(Matcher {
                                metric: metric.clone(),
                                label: label.clone(),
                                op: op.clone(),
                                value: value.clone(),
                            });
                            index += 2;
                        }
                        _ => {}
                    }
                    index += 1;
                }
            }
            _ => {}
        }
        index += 1;
    }
    Ok(found)
}

fn tokenize(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if c.is_whitespace() {
            at += 1;
        } else if c == '#' {
            // A comment runs to the end of the line.
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let (value, end) = string(&chars, at)?;
            tokens.push(Token::Str(value));
            at = end;
        } else if c == '[' {
            // A range or a subquery: durations and Grafana's interval variables, no names.
            let end = chars[at..]
                .iter()
                .position(|&c| c == ']')
                .ok_or_else(|| format!("an unterminated [ in {expr}"))?;
            at += end + 1;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = at;
            while at < chars.len()
                && (chars[at].is_ascii_alphanumeric() || chars[at] == '_' || chars[at] == ':')
            {
                at += 1;
            }
            tokens.push(Token::Ident(chars[start..at].iter().collect()));
        } else if c.is_ascii_digit() || c == '.' || c == '$' {
            // A number, a duration after `offset`, or a dashboard variable.
            at += 1;
            while at < chars.len()
                && (chars[at].is_ascii_alphanumeric() || chars[at] == '.' || chars[at] == '_')
            {
                at += 1;
            }
        } else {
            let pair: String = chars[at..(at + 2).min(chars.len())].iter().collect();
            if ["=~", "!~", "!=", "==", ">=", "<="].contains(&pair.as_str()) {
                tokens.push(Token::Punct(pair));
                at += 2;
            } else {
                tokens.push(Token::Punct(c.to_string()));
                at += 1;
            }
        }
    }
    Ok(tokens)
}

/// The string starting at `start` (its quote), unescaped, and the index after it.
fn string(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut value = String::new();
    let mut at = start + 1;
    while at < chars.len() {
        match chars[at] {
            '\\' if quote != '`' => {
                if let Some(&escaped) = chars.get(at + 1) {
                    value.push(escaped);
                }
                at += 2;
            }
            c if c == quote => return Ok((value, at + 1)),
            c => {
                value.push(c);
                at += 1;
            }
        }
    }
    Err(format!(
        "an unterminated string: {}",
        chars[start..].iter().collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_are_told_from_functions_keywords_labels_and_strings() {
        let found = names(
            "histogram_quantile(0.95, sum by (stage, le) (rate(recon_stage_duration_seconds_bucket{outcome=\"processed\"}[$__rate_interval])))\n\
             / on (stage) group_left sum without (pod) (recon_x_total offset 5m) > bool 1e3 and ignoring(a) up",
        )
        .unwrap();
        assert_eq!(
            found.metrics,
            set(&["recon_stage_duration_seconds_bucket", "recon_x_total", "up"])
        );
        assert_eq!(found.labels, set(&["stage", "le", "outcome", "pod", "a"]));
        assert_eq!(
            found.matchers,
            vec![Matcher {
                metric: Some("recon_stage_duration_seconds_bucket".into()),
                label: "outcome".into(),
                op: "=".into(),
                value: "processed".into(),
            }]
        );
    }

    #[test]
    fn aggregation_clauses_after_the_argument_and_regex_matchers_count() {
        let found = names(
            "sum(rate(recon_stage_messages_total{stage=\"detection\", outcome=~'processed|failed'}[5m:1m])) by (stage)",
        )
        .unwrap();
        assert_eq!(found.metrics, set(&["recon_stage_messages_total"]));
        assert_eq!(found.labels, set(&["stage", "outcome"]));
        assert_eq!(found.matchers[1].op, "=~");
        assert_eq!(found.matchers[1].value, "processed|failed");
    }

    #[test]
    fn a_selector_without_a_metric_and_an_escaped_quote() {
        let found = names(r#"count({__name__=~"recon_.+", route="/a\"b"})"#).unwrap();
        assert!(found.metrics.is_empty());
        assert_eq!(found.matchers[0].metric, None);
        assert_eq!(found.matchers[1].value, "/a\"b");
    }

    #[test]
    fn unterminated_input_is_an_error() {
        assert!(names("rate(recon_x_total[5m)").is_err());
        assert!(names("recon_x{a=\"b}").is_err());
        assert!(names("recon_x{a}").is_err());
    }
}
