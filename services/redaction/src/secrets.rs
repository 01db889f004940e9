//! What counts as a secret: one classifier used by the scrub stage and by every stage that
//! shows captured values (analysis examples), so they cannot disagree. The rules themselves are
//! data (`rules/secrets.json`, see [`crate::rules`]).

use std::ops::Range;

use crate::rules::{normalize_name, rules, NameMatch};

/// The kind of secret a value holds; its placeholder is `<kind>` or `<kind:name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    Cookie,
    Bearer,
    Jwt,
    ApiKey,
    Csrf,
    Session,
    Password,
    Email,
    Phone,
    Token,
}

impl SecretKind {
    pub const ALL: [SecretKind; 10] = [
        SecretKind::Cookie,
        SecretKind::Bearer,
        SecretKind::Jwt,
        SecretKind::ApiKey,
        SecretKind::Csrf,
        SecretKind::Session,
        SecretKind::Password,
        SecretKind::Email,
        SecretKind::Phone,
        SecretKind::Token,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SecretKind::Cookie => "cookie",
            SecretKind::Bearer => "bearer",
            SecretKind::Jwt => "jwt",
            SecretKind::ApiKey => "api-key",
            SecretKind::Csrf => "csrf",
            SecretKind::Session => "session",
            SecretKind::Password => "password",
            SecretKind::Email => "email",
            SecretKind::Phone => "phone",
            SecretKind::Token => "token",
        }
    }

    pub fn from_label(label: &str) -> Option<SecretKind> {
        SecretKind::ALL
            .into_iter()
            .find(|kind| kind.label() == label)
    }
}

/// Classifies `value`, sent under `name` (a header, parameter or field name) when known.
/// `None` means the value may be shown as it is.
pub fn classify(name: Option<&str>, value: &str) -> Option<SecretKind> {
    let value = value.trim();
    if value.is_empty() || is_placeholder(value) {
        return None;
    }
    if let Some(kind) = name.and_then(|name| kind_from_name(name, value)) {
        return Some(kind);
    }
    kind_from_shape(value)
}

/// The placeholder that replaces a secret of `kind` sent under `name`.
pub fn placeholder(kind: SecretKind, name: Option<&str>) -> String {
    match (kind, name) {
        (SecretKind::Cookie, Some(name)) => format!("<cookie:{}>", placeholder_name(name)),
        _ => format!("<{}>", kind.label()),
    }
}

/// `value` itself when it is safe to show, otherwise its placeholder.
pub fn redact(name: Option<&str>, value: &str) -> String {
    match classify(name, value) {
        Some(kind) => placeholder(kind, name),
        None => value.to_owned(),
    }
}

/// Whether `text` is one whole scrub placeholder such as `<cookie:sid#2>` or `<jwt>`.
pub fn is_placeholder(text: &str) -> bool {
    parse_placeholder(text).is_some()
}

/// Splits a placeholder into its kind label, its name and its `#n` ordinal.
pub fn parse_placeholder(text: &str) -> Option<(SecretKind, Option<&str>, u32)> {
    let inner = text.strip_prefix('<')?.strip_suffix('>')?;
    let (inner, ordinal) = match inner.rsplit_once('#') {
        Some((rest, digits)) => (rest, digits.parse().ok()?),
        None => (inner, 1),
    };
    let (label, name) = match inner.split_once(':') {
        Some((label, name)) => (label, Some(name)),
        None => (inner, None),
    };
    let kind = SecretKind::from_label(label)?;
    if name.is_some_and(|name| name.is_empty() || name.contains(['<', '>'])) {
        return None;
    }
    Some((kind, name, ordinal))
}

/// Cookie names go into placeholders; keep them to characters that cannot break one.
fn placeholder_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '#' | ':' | '"' | '\''))
        .take(64)
        .collect()
}

pub(crate) fn kind_from_name(name: &str, value: &str) -> Option<SecretKind> {
    name_class(name).map(|class| class.kind(value))
}

/// What a name says about the values sent under it, before the value is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameClass {
    Secret(SecretKind),
    /// `Authorization`: the scheme in the value decides the kind.
    Authorization,
}

impl NameClass {
    pub(crate) fn kind(self, value: &str) -> SecretKind {
        match self {
            NameClass::Secret(kind) => kind,
            NameClass::Authorization => authorization_kind(value),
        }
    }
}

/// [`kind_from_name`] without the value: the part a scrubber can remember per name.
pub(crate) fn name_class(name: &str) -> Option<NameClass> {
    let name = normalize_name(name);
    let rules = rules();
    if name.is_empty() || rules.allow_names.contains(&name) {
        return None;
    }
    if let Some(kind) = rules.headers.get(&name.replace('_', "-")) {
        return Some(NameClass::Secret(*kind));
    }
    let rule = rules.names.iter().find(|rule| match rule.match_ {
        NameMatch::Exact => name == rule.text,
        NameMatch::Contains => name.contains(&rule.text),
    })?;
    if name == "authorization" || name == "proxy_authorization" {
        return Some(NameClass::Authorization);
    }
    Some(NameClass::Secret(rule.kind))
}

/// `Bearer x` is a bearer token, `Basic x` and other schemes a generic token.
pub(crate) fn authorization_kind(value: &str) -> SecretKind {
    if value.trim().to_ascii_lowercase().starts_with("bearer ") {
        SecretKind::Bearer
    } else {
        SecretKind::Token
    }
}

fn kind_from_shape(value: &str) -> Option<SecretKind> {
    if value.to_ascii_lowercase().starts_with("bearer ") {
        return Some(SecretKind::Bearer);
    }
    find_shapes(value, true).first().map(|(_, kind)| *kind)
}

/// Secrets recognised by their shape inside free text, as non-overlapping byte ranges in order.
/// `bodies` enables the shapes that only make sense in bodies (phone numbers).
pub fn find_shapes(text: &str, bodies: bool) -> Vec<(Range<usize>, SecretKind)> {
    let mut found: Vec<(Range<usize>, SecretKind)> = Vec::new();
    let rules = rules();
    let candidates = rules.shape_candidates(text);
    for (at, rule) in rules.shapes.iter().enumerate() {
        if rule.bodies_only && !bodies {
            continue;
        }
        if candidates.as_ref().is_some_and(|set| !set.matched(at)) {
            continue;
        }
        if !rule.has_secret_group {
            for whole in rule.pattern.find_iter(text) {
                if !rule.rejects(whole.as_str()) {
                    keep(&mut found, whole.range(), rule.kind);
                }
            }
            continue;
        }
        for captures in rule.pattern.captures_iter(text) {
            let Some(whole) = captures.get(0) else {
                continue;
            };
            if rule.rejects(whole.as_str()) {
                continue;
            }
            let secret = captures.name("secret").unwrap_or(whole);
            keep(&mut found, secret.range(), rule.kind);
        }
    }
    found.sort_by_key(|(range, _)| range.start);
    found
}

/// Adds a found secret unless an earlier rule already claimed part of its range.
fn keep(found: &mut Vec<(Range<usize>, SecretKind)>, range: Range<usize>, kind: SecretKind) {
    if !found
        .iter()
        .any(|(seen, _)| seen.start < range.end && range.start < seen.end)
    {
        found.push((range, kind));
    }
}

/// Replaces shaped secrets in `text` by their plain placeholders (no per-scan table): for
/// text shown outside a scrub run, such as report strings written by earlier stages.
pub fn scrub_shapes_standalone(text: &str, bodies: bool) -> String {
    let found = find_shapes(text, bodies);
    if found.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, kind) in found {
        out.push_str(&text[last..range.start]);
        out.push_str(&placeholder(kind, None));
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_shapes_are_classified() {
        assert_eq!(classify(Some("X-Api-Key"), "abc"), Some(SecretKind::ApiKey));
        assert_eq!(classify(Some("csrf_token"), "abc"), Some(SecretKind::Csrf));
        assert_eq!(
            classify(Some("Authorization"), "Bearer abc"),
            Some(SecretKind::Bearer)
        );
        assert_eq!(
            classify(Some("Authorization"), "Basic dXNlcjpwYXNz"),
            Some(SecretKind::Token)
        );
        assert_eq!(
            classify(None, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_value"),
            Some(SecretKind::Jwt)
        );
        assert_eq!(
            classify(Some("q"), "ann@example.com"),
            Some(SecretKind::Email)
        );
        assert_eq!(
            classify(Some("x"), "AKIAIOSFODNN7EXAMPLE"),
            Some(SecretKind::ApiKey)
        );
        assert_eq!(classify(Some("page"), "2"), None);
        assert_eq!(classify(Some("q"), "running shoes"), None);
        assert_eq!(classify(Some("page_token"), "CAoQAA"), None);
        assert_eq!(redact(Some("q"), "shoes"), "shoes");
        assert_eq!(redact(Some("api_key"), "abc"), "<api-key>");
        assert_eq!(redact(Some("sid"), "<session>"), "<session>");
    }

    /// Every rule tried on its own, as before the set: what `find_shapes` must keep finding.
    fn shapes_one_by_one(text: &str, bodies: bool) -> Vec<(Range<usize>, SecretKind)> {
        let mut found: Vec<(Range<usize>, SecretKind)> = Vec::new();
        for rule in rules()
            .shapes
            .iter()
            .filter(|rule| bodies || !rule.bodies_only)
        {
            for captures in rule.pattern.captures_iter(text) {
                let whole = captures.get(0).expect("group 0 is the match");
                if rule.rejects(whole.as_str()) {
                    continue;
                }
                let range = captures.name("secret").unwrap_or(whole).range();
                if !found
                    .iter()
                    .any(|(seen, _)| seen.start < range.end && range.start < seen.end)
                {
                    found.push((range, rule.kind));
                }
            }
        }
        found.sort_by_key(|(range, _)| range.start);
        found
    }

    #[test]
    fn the_shape_set_finds_what_each_rule_finds() {
        assert!(
            rules().shape_set.is_some(),
            "the shape set does not compile"
        );
        let samples: Vec<&str> = rules()
            .shapes
            .iter()
            .map(|rule| rule.sample.as_str())
            .collect();
        let mut texts: Vec<String> = rules().clean_corpus.clone();
        texts.extend(samples.iter().map(|sample| (*sample).to_owned()));
        // All samples in one text, overlapping rules competing for the same bytes, and text
        // that is not ASCII (the set is skipped there).
        texts.push(samples.join(" "));
        texts.push(samples.join(""));
        texts.push(format!("café {} naïve", samples.join(" — ")));
        texts.push("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig ann@example.com".to_owned());
        texts.push("logo@2x.png call (415) 555-0132 or +44 20 7946 0958".to_owned());
        for text in &texts {
            for bodies in [false, true] {
                assert_eq!(
                    find_shapes(text, bodies),
                    shapes_one_by_one(text, bodies),
                    "{text:?} (bodies: {bodies})"
                );
            }
        }
    }

    #[test]
    fn placeholders_parse_back() {
        assert_eq!(
            parse_placeholder("<cookie:_abck#2>"),
            Some((SecretKind::Cookie, Some("_abck"), 2))
        );
        assert_eq!(parse_placeholder("<jwt>"), Some((SecretKind::Jwt, None, 1)));
        assert_eq!(parse_placeholder("<b>"), None);
        assert_eq!(parse_placeholder("<cookie:>"), None);
        assert_eq!(
            placeholder(SecretKind::Cookie, Some("a b>#")),
            "<cookie:ab>"
        );
    }

    #[test]
    fn shapes_are_found_inside_text() {
        let text = "mail ann@example.com or call +1 415 555 0132, key AKIAIOSFODNN7EXAMPLE";
        let kinds: Vec<SecretKind> = find_shapes(text, true).into_iter().map(|f| f.1).collect();
        assert_eq!(
            kinds,
            vec![SecretKind::Email, SecretKind::Phone, SecretKind::ApiKey]
        );
        assert_eq!(
            find_shapes(text, false).len(),
            2,
            "no phones outside bodies"
        );
        assert_eq!(
            scrub_shapes_standalone("Authorization: Bearer 0123456789abcdef", false),
            "Authorization: Bearer <bearer>"
        );
    }
}
