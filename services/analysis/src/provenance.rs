//! Provenance: for each dynamic value an endpoint sends (cookie, token, CSRF value, id), the
//! earlier response that minted it: a Set-Cookie, a JSON field, an HTML input or meta tag, a
//! response header, a redirect, or the page's JavaScript when no response set a cookie.
//! This is the chain of requests a scraper has to replay before the endpoint answers.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use recon_contracts::{MintedBy, ParameterLocation, Provenance, ResourceType, ValueSource};
use regex::Regex;
use serde_json::Value;

use crate::config::AnalysisConfig;
use crate::group::Member;
use crate::parameters::cookie_pairs;
use crate::sample::{RequestBody, Sample};

const MIN_VALUE_LEN: usize = 3;
const MAX_VALUE_LEN: usize = 4096;
const MAX_HTML_SCAN: usize = 2 * 1024 * 1024;
const MAX_PER_ENDPOINT: usize = 40;

#[derive(Debug, Clone)]
struct Source {
    sample: usize,
    how: MintedBy,
    field: String,
}

/// Values minted by responses across the whole capture, earliest first.
pub struct Index {
    values: HashMap<String, Source>,
    /// Cookie name → samples whose response set it, in capture order.
    set_cookies: HashMap<String, Vec<usize>>,
    documents: Vec<usize>,
    anti_bot_scripts: Vec<usize>,
}

fn html_patterns() -> &'static (Regex, Regex, Regex) {
    static PATTERNS: std::sync::OnceLock<(Regex, Regex, Regex)> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        let tag =
            |name: &str| Regex::new(&format!(r"(?is)<{name}\b[^>]*>")).expect("a literal regex");
        let attribute = Regex::new(r#"(?is)\b([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"#)
            .expect("a literal regex");
        (tag("input"), tag("meta"), attribute)
    })
}

fn attributes(tag: &str) -> HashMap<String, String> {
    let (_, _, attribute) = html_patterns();
    attribute
        .captures_iter(tag)
        .filter_map(|c| {
            let name = c.get(1)?.as_str().to_ascii_lowercase();
            let value = c.get(2).or_else(|| c.get(3))?.as_str().to_owned();
            Some((name, value))
        })
        .collect()
}

fn worth_indexing(value: &str) -> bool {
    (MIN_VALUE_LEN..=MAX_VALUE_LEN).contains(&value.len())
        && !matches!(value, "true" | "false" | "null")
        && !value.contains(char::is_whitespace)
}

impl Index {
    /// Indexes the responses' values, keeping only those in `wanted` (what requests send):
    /// most response values are never sent back, and storing them all dominated analysis time.
    /// Each JSON response body is parsed here once and handed to `on_json` (with the sample's
    /// index) before it is dropped, so other steps need not parse it again.
    pub fn build(
        samples: &[Sample<'_>],
        wanted: &Wanted<'_>,
        mut on_json: impl FnMut(usize, &Value),
    ) -> Index {
        let mut index = Index {
            values: HashMap::new(),
            set_cookies: HashMap::new(),
            documents: Vec::new(),
            anti_bot_scripts: Vec::new(),
        };
        // Earliest source wins: walk in time order.
        let mut order: Vec<usize> = (0..samples.len()).collect();
        order.sort_by(|a, b| {
            samples[*a]
                .started_at_ms
                .total_cmp(&samples[*b].started_at_ms)
                .then(a.cmp(b))
        });
        for i in order {
            let sample = &samples[i];
            if sample.request.resource_type == ResourceType::Document {
                index.documents.push(i);
            }
            let may_write_cookies =
                sample.request.resource_type == ResourceType::Script || sample.method == "POST";
            if may_write_cookies && recon_knowledge::anti_bot_request(sample.request).is_some() {
                index.anti_bot_scripts.push(i);
            }
            let Some(response) = &sample.request.response else {
                continue;
            };
            for header in &response.headers {
                let name = header.name.to_ascii_lowercase();
                if name == "set-cookie" {
                    if let Some((cookie, value)) = header
                        .value
                        .split(';')
                        .next()
                        .and_then(|p| p.split_once('='))
                    {
                        index
                            .set_cookies
                            .entry(cookie.trim().to_owned())
                            .or_default()
                            .push(i);
                        index.insert(wanted, value.trim(), i, MintedBy::SetCookie, cookie.trim());
                    }
                } else if name == "location" {
                    if let Ok(url) = url::Url::parse(&sample.request.url)
                        .and_then(|base| base.join(&header.value))
                    {
                        for (key, value) in url.query_pairs() {
                            index.insert(wanted, &value, i, MintedBy::Redirect, &key);
                        }
                    }
                } else if name.contains("token")
                    || name.contains("csrf")
                    || name.contains("xsrf")
                    || name.contains("nonce")
                {
                    index.insert(wanted, &header.value, i, MintedBy::ResponseHeader, &name);
                }
            }
            if let Some(json) = sample.response_json() {
                index.walk_json(wanted, &json, i, &mut String::new(), 0);
                on_json(i, &json);
            } else if sample.mime.contains("html") {
                if let Some(body) = response.body.as_ref().and_then(|b| b.as_text()) {
                    index.scan_html(wanted, body, i);
                }
            }
        }
        index
    }

    fn insert(
        &mut self,
        wanted: &Wanted<'_>,
        value: &str,
        sample: usize,
        how: MintedBy,
        field: &str,
    ) {
        if worth_indexing(value) && wanted.contains(value) && !self.values.contains_key(value) {
            self.values.insert(
                value.to_owned(),
                Source {
                    sample,
                    how,
                    field: field.to_owned(),
                },
            );
        }
    }

    fn walk_json(
        &mut self,
        wanted: &Wanted<'_>,
        value: &Value,
        sample: usize,
        path: &mut String,
        depth: usize,
    ) {
        if depth > 12 {
            return;
        }
        match value {
            Value::String(s) => self.insert(wanted, s, sample, MintedBy::JsonField, path),
            Value::Number(n) => {
                let integer = n
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from));
                if integer.is_some_and(|integer| wanted.integers.contains(&integer)) {
                    self.insert(wanted, &n.to_string(), sample, MintedBy::JsonField, path);
                }
            }
            Value::Array(items) => {
                let len = path.len();
                path.push_str("[]");
                for item in items {
                    self.walk_json(wanted, item, sample, path, depth + 1);
                }
                path.truncate(len);
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    self.walk_json(wanted, item, sample, path, depth + 1);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn scan_html(&mut self, wanted: &Wanted<'_>, body: &str, sample: usize) {
        let body = &body[..floor_boundary(body, MAX_HTML_SCAN)];
        let (input, meta, _) = html_patterns();
        for tag in input.find_iter(body) {
            let attrs = attributes(tag.as_str());
            if let (Some(name), Some(value)) = (attrs.get("name"), attrs.get("value")) {
                self.insert(wanted, value, sample, MintedBy::HtmlInput, name);
            }
        }
        for tag in meta.find_iter(body) {
            let attrs = attributes(tag.as_str());
            if let (Some(name), Some(content)) = (
                attrs.get("name").or_else(|| attrs.get("property")),
                attrs.get("content"),
            ) {
                self.insert(wanted, content, sample, MintedBy::HtmlMeta, name);
            }
        }
    }
}

fn floor_boundary(text: &str, max: usize) -> usize {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

fn before(samples: &[Sample<'_>], source: usize, user: usize) -> bool {
    let (s, u) = (&samples[source], &samples[user]);
    source != user
        && (s.started_at_ms < u.started_at_ms
            || (s.started_at_ms == u.started_at_ms && source < user))
}

fn is_token_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "token",
        "csrf",
        "xsrf",
        "nonce",
        "signature",
        "key",
        "auth",
        "session",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// The values requests send that provenance may trace; [`Index::build`] keeps only these.
pub struct Wanted<'s> {
    text: HashSet<Cow<'s, str>>,
    /// The integers among them, so JSON numbers are checked without formatting each one.
    integers: HashSet<i128>,
}

impl Wanted<'_> {
    fn contains(&self, value: &str) -> bool {
        self.text.contains(value)
    }
}

/// A value one request of an endpoint sends.
struct Sent<'s> {
    location: ParameterLocation,
    name: Cow<'s, str>,
    value: Cow<'s, str>,
    /// Listed even when no response minted it (tokens, auth headers).
    always: bool,
}

fn scalar(value: &Value) -> Option<Cow<'_, str>> {
    value
        .as_str()
        .map(Cow::Borrowed)
        .or_else(|| value.as_i64().map(|n| Cow::Owned(n.to_string())))
}

/// Path parameters, query values, body values (GraphQL variables, JSON fields, form pairs)
/// and token-like headers: what provenance looks up (cookies are traced by name instead).
fn sent_values<'s>(member: &Member<'s, '_>) -> Vec<Sent<'s>> {
    let sample: &'s Sample<'_> = member.sample;
    let mut sent = Vec::new();
    for param in member.path_params {
        sent.push(Sent {
            location: ParameterLocation::Path,
            name: Cow::Borrowed(&param.name),
            value: Cow::Borrowed(&param.value),
            always: false,
        });
    }
    let mut pair = |location, name: &'s str, value: Cow<'s, str>| {
        sent.push(Sent {
            location,
            name: Cow::Borrowed(name),
            value,
            always: is_token_name(name),
        })
    };
    for (name, value) in &sample.query {
        pair(ParameterLocation::Query, name, Cow::Borrowed(value));
    }
    let json_fields = match (member.operation, &sample.body) {
        (Some(i), _) => sample
            .operations
            .get(i)
            .and_then(|operation| operation.variables.as_ref()),
        (None, RequestBody::Json(object)) => Some(object),
        _ => None,
    };
    if let Some(Value::Object(fields)) = json_fields {
        for (name, value) in fields {
            if let Some(value) = scalar(value) {
                pair(ParameterLocation::Body, name, value);
            }
        }
    }
    if let (None, RequestBody::Form(pairs)) = (member.operation, &sample.body) {
        for (name, value) in pairs {
            pair(ParameterLocation::Body, name, Cow::Borrowed(value));
        }
    }
    for header in &sample.request.request_headers {
        let name = header.name.to_ascii_lowercase();
        let auth_like = name == "authorization" || is_token_name(&name);
        if auth_like || (name.starts_with("x-") && header.value.len() >= 8) {
            sent.push(Sent {
                location: ParameterLocation::Header,
                name: Cow::Owned(name),
                value: Cow::Borrowed(&header.value),
                always: auth_like,
            });
        }
    }
    sent
}

/// Every value the endpoints' requests send, as lookups see it (a bearer token unprefixed).
pub fn wanted_values<'m, 's: 'm, 'c: 's>(
    members: impl IntoIterator<Item = &'m Member<'s, 'c>>,
) -> Wanted<'s> {
    let text: HashSet<Cow<'s, str>> = members
        .into_iter()
        .flat_map(|member| sent_values(member))
        .map(|sent| match sent.value {
            Cow::Borrowed(value) => Cow::Borrowed(value.strip_prefix("Bearer ").unwrap_or(value)),
            Cow::Owned(value) => Cow::Owned(value),
        })
        .collect();
    let integers = text
        .iter()
        .filter_map(|value| {
            let number = value.parse::<i128>().ok()?;
            // `007` is not the number 7 as a JSON document writes it.
            (number.to_string() == *value).then_some(number)
        })
        .collect();
    Wanted { text, integers }
}

pub struct Context<'a, 'c> {
    pub samples: &'a [Sample<'c>],
    pub index: &'a Index,
    pub endpoint_of: &'a [Option<String>],
    pub config: &'a AnalysisConfig,
}

impl Context<'_, '_> {
    fn source(&self, sample: usize, how: MintedBy, field: Option<String>) -> ValueSource {
        let s = &self.samples[sample];
        ValueSource {
            how,
            request_id: s.request.id.clone(),
            endpoint_id: self.endpoint_of.get(sample).cloned().flatten(),
            method: s.method.clone(),
            url: format!("{}{}", s.origin, s.path),
            field,
        }
    }

    fn lookup(&self, value: &str, user: usize) -> Option<ValueSource> {
        let value = value.strip_prefix("Bearer ").unwrap_or(value);
        let source = self.index.values.get(value)?;
        before(self.samples, source.sample, user)
            .then(|| self.source(source.sample, source.how, Some(source.field.clone())))
    }

    fn cookie_source(&self, name: &str, user: usize, anti_bot: bool) -> Option<ValueSource> {
        let latest = |list: &[usize]| {
            // Lists are in time order: the latest one before the use.
            list.iter()
                .copied()
                .rev()
                .find(|i| before(self.samples, *i, user))
        };
        if let Some(setter) = self
            .index
            .set_cookies
            .get(name)
            .and_then(|list| latest(list))
        {
            return Some(self.source(setter, MintedBy::SetCookie, Some(name.to_owned())));
        }
        let writer = if anti_bot {
            latest(&self.index.anti_bot_scripts).or_else(|| latest(&self.index.documents))
        } else {
            latest(&self.index.documents)
        };
        writer.map(|i| self.source(i, MintedBy::JsCookie, Some(name.to_owned())))
    }

    pub fn provenance(&self, members: &[Member<'_, '_>]) -> Vec<Provenance> {
        let mut found: BTreeMap<(ParameterLocation, String), Option<ValueSource>> = BTreeMap::new();
        for member in members {
            let sample = member.sample;
            let user = sample.index;
            let mut consider = |location, name: &str, value: &str, always: bool| {
                if found.contains_key(&(location, name.to_owned()))
                    || found.len() >= MAX_PER_ENDPOINT
                {
                    return;
                }
                let minted = self.lookup(value, user);
                if minted.is_some() || always {
                    found.insert((location, name.to_owned()), minted);
                }
            };
            for sent in sent_values(member) {
                consider(sent.location, &sent.name, &sent.value, sent.always);
            }
            if let Some(cookies) = sample.request.request_header("cookie") {
                for (name, _) in cookie_pairs(cookies) {
                    if self.config.is_tracking_cookie(name)
                        || found.contains_key(&(ParameterLocation::Cookie, name.to_owned()))
                    {
                        continue;
                    }
                    let anti_bot = recon_knowledge::anti_bot_cookie(name).is_some();
                    let relevant = anti_bot
                        || self.config.session_cookie.is_match(name)
                        || is_token_name(name)
                        || self.index.set_cookies.contains_key(name);
                    if relevant && found.len() < MAX_PER_ENDPOINT {
                        let minted = self.cookie_source(name, user, anti_bot);
                        found.insert((ParameterLocation::Cookie, name.to_owned()), minted);
                    }
                }
            }
        }
        found
            .into_iter()
            .map(|((location, name), minted_by)| Provenance {
                name,
                location,
                minted_by,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_attributes_are_read_in_any_order_and_quote() {
        let attrs = attributes(r#"<input type="hidden" value='tok123' name="csrf_token">"#);
        assert_eq!(attrs.get("name").map(String::as_str), Some("csrf_token"));
        assert_eq!(attrs.get("value").map(String::as_str), Some("tok123"));
    }
}
