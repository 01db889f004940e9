//! Scrubbing of values and free text: named values, URLs (userinfo, matrix parameters such as
//! `;jsessionid=`, query strings, fragments), key/value pairs embedded in scripts, HTML form
//! inputs and meta tags, and secrets recognised by their shape anywhere.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::Regex;

use crate::secrets::{find_shapes, is_placeholder, name_class, NameClass, SecretKind};
use crate::vault::Vault;

static URL_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?|wss?)://[^\s"'<>\\`]+"#).unwrap_or_else(|err| panic!("{err}"))
});
/// `"name": "value"` pairs inside scripts and JSON held in strings.
static EMBEDDED_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"["']([A-Za-z_$][A-Za-z0-9_$.-]{0,63})["']\s*:\s*"((?:[^"\\]|\\.){1,4096})""#)
        .unwrap_or_else(|err| panic!("{err}"))
});
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<(?:input|meta)\b[^>]*>").unwrap_or_else(|err| panic!("{err}"))
});
static HTML_ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
        .unwrap_or_else(|err| panic!("{err}"))
});

/// Distinct names remembered per scrubber: a capture repeats the same few hundred names, and a
/// hostile one cannot grow the table past this.
const MAX_REMEMBERED_NAMES: usize = 16_384;

/// The scrubbing state of one scan: its table of secrets and the scrubbing functions.
#[derive(Debug, Default)]
pub struct Scrubber {
    pub vault: Vault,
    /// What each name seen so far says about its values: classifying a name normalises it and
    /// walks every name rule, and a capture asks about the same names again and again.
    names: HashMap<String, Option<NameClass>>,
}

impl Scrubber {
    /// A value sent under `name`: replaced whole when the name says it is secret, otherwise
    /// scrubbed as text.
    pub fn named<'a>(&mut self, name: &str, value: &'a str, bodies: bool) -> Cow<'a, str> {
        if value.trim().is_empty() || is_placeholder(value.trim()) {
            return Cow::Borrowed(value);
        }
        match self.kind_from_name(name, value) {
            Some(kind) => Cow::Owned(self.vault.replace(kind, Some(name), value)),
            None => self.text(value, bodies),
        }
    }

    /// The kind of secret `value` is when sent under `name`, if the name says it is one.
    pub(crate) fn kind_from_name(&mut self, name: &str, value: &str) -> Option<SecretKind> {
        self.name_class(name).map(|class| class.kind(value))
    }

    pub(crate) fn name_class(&mut self, name: &str) -> Option<NameClass> {
        if let Some(class) = self.names.get(name) {
            return *class;
        }
        let class = name_class(name);
        if self.names.len() < MAX_REMEMBERED_NAMES {
            self.names.insert(name.to_owned(), class);
        }
        class
    }

    /// Free text: URLs in it, embedded pairs, form inputs, then shaped secrets.
    pub fn text<'a>(&mut self, text: &'a str, bodies: bool) -> Cow<'a, str> {
        let mut current: Cow<'a, str> = Cow::Borrowed(text);
        if text.contains("://") {
            if let Some(changed) = self.urls_in_text(&current) {
                current = Cow::Owned(changed);
            }
        }
        if text.contains(':') {
            if let Some(changed) = self.embedded_pairs(&current) {
                current = Cow::Owned(changed);
            }
        }
        if text.contains('<') {
            if let Some(changed) = self.html_inputs(&current) {
                current = Cow::Owned(changed);
            }
        }
        if let Some(changed) = self.shapes(&current, bodies) {
            current = Cow::Owned(changed);
        }
        current
    }

    fn shapes(&mut self, text: &str, bodies: bool) -> Option<String> {
        let found = find_shapes(text, bodies);
        if found.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (range, kind) in found {
            out.push_str(&text[last..range.start]);
            out.push_str(&self.vault.replace(kind, None, &text[range.clone()]));
            last = range.end;
        }
        out.push_str(&text[last..]);
        Some(out)
    }

    fn urls_in_text(&mut self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        let mut changed = false;
        for found in URL_IN_TEXT.find_iter(text) {
            let url = found.as_str();
            if !url.contains(['?', ';', '#', '@']) {
                continue;
            }
            let scrubbed = self.url(url);
            if scrubbed != url {
                out.push_str(&text[last..found.start()]);
                out.push_str(&scrubbed);
                last = found.end();
                changed = true;
            }
        }
        changed.then(|| {
            out.push_str(&text[last..]);
            out
        })
    }

    fn embedded_pairs(&mut self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        for captures in EMBEDDED_PAIR.captures_iter(text) {
            let (Some(name), Some(value)) = (captures.get(1), captures.get(2)) else {
                continue;
            };
            let Some(kind) = self.kind_from_name(name.as_str(), value.as_str()) else {
                continue;
            };
            if is_placeholder(value.as_str()) {
                continue;
            }
            out.push_str(&text[last..value.start()]);
            out.push_str(
                &self
                    .vault
                    .replace(kind, Some(name.as_str()), value.as_str()),
            );
            last = value.end();
        }
        (last > 0).then(|| {
            out.push_str(&text[last..]);
            out
        })
    }

    /// `<input name="csrf_token" value="…">`, `<input type="password" value="…">` and
    /// `<meta name="csrf-token" content="…">`.
    fn html_inputs(&mut self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        for tag in HTML_TAG.find_iter(text) {
            let mut name = None;
            let mut password = false;
            let mut value_range = None;
            for attribute in HTML_ATTRIBUTE.captures_iter(tag.as_str()) {
                let (Some(key), Some(value)) = (
                    attribute.get(1),
                    attribute
                        .get(2)
                        .or_else(|| attribute.get(3))
                        .or_else(|| attribute.get(4)),
                ) else {
                    continue;
                };
                match key.as_str().to_ascii_lowercase().as_str() {
                    "name" | "property" | "id" if name.is_none() => {
                        name = Some(value.as_str().to_owned())
                    }
                    "type" => password = value.as_str().eq_ignore_ascii_case("password"),
                    "value" | "content" => value_range = Some(value.range()),
                    _ => {}
                }
            }
            let Some(range) = value_range else { continue };
            let value = &tag.as_str()[range.clone()];
            let kind = match (&name, password) {
                (_, true) => Some(SecretKind::Password),
                (Some(name), false) => self.kind_from_name(name, value),
                (None, false) => None,
            };
            let Some(kind) = kind else { continue };
            if value.is_empty() || is_placeholder(value) {
                continue;
            }
            let start = tag.start() + range.start;
            out.push_str(&text[last..start]);
            out.push_str(&self.vault.replace(kind, name.as_deref(), value));
            last = tag.start() + range.end;
        }
        (last > 0).then(|| {
            out.push_str(&text[last..]);
            out
        })
    }

    /// An absolute or relative URL, keeping its structure.
    pub fn url(&mut self, url: &str) -> String {
        let (before_fragment, fragment) = match url.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (url, None),
        };
        let (base, query) = match before_fragment.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (before_fragment, None),
        };
        let (origin, path) = match base.find("://") {
            Some(at) => {
                let rest_start = at + 3;
                let path_start = base[rest_start..]
                    .find('/')
                    .map_or(base.len(), |i| rest_start + i);
                (&base[..path_start], &base[path_start..])
            }
            None => ("", base),
        };
        let mut out = self.origin(origin);
        out.push_str(&self.path(path));
        if let Some(query) = query {
            out.push('?');
            out.push_str(&self.pairs(query, '&', false));
        }
        if let Some(fragment) = fragment {
            out.push('#');
            if fragment.contains('=') {
                out.push_str(&self.pairs(fragment, '&', false));
            } else {
                out.push_str(&self.encoded_text(fragment, false));
            }
        }
        out
    }

    fn origin(&mut self, origin: &str) -> String {
        let Some(at) = origin.find("://") else {
            return origin.to_owned();
        };
        let (scheme, authority) = (&origin[..at + 3], &origin[at + 3..]);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let userinfo = match userinfo.split_once(':') {
                    Some((user, password)) => format!(
                        "{user}:{}",
                        self.vault.replace(SecretKind::Password, None, password)
                    ),
                    None => self.vault.replace(SecretKind::Token, None, userinfo),
                };
                format!("{scheme}{userinfo}@{host}")
            }
            None => origin.to_owned(),
        }
    }

    fn path(&mut self, path: &str) -> String {
        path.split('/')
            .map(|segment| {
                let mut parts = segment.split(';');
                let head = parts.next().unwrap_or("");
                let mut out = self.encoded_text(head, false);
                for parameter in parts {
                    out.push(';');
                    out.push_str(&self.pair(parameter, false));
                }
                out
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// `a=1&b=2` (query strings, form bodies, cookie-like lists), keeping unchanged pairs as
    /// they were written.
    pub fn pairs(&mut self, text: &str, separator: char, bodies: bool) -> String {
        text.split(separator)
            .map(|pair| self.pair(pair, bodies))
            .collect::<Vec<_>>()
            .join(&separator.to_string())
    }

    fn pair(&mut self, pair: &str, bodies: bool) -> String {
        match pair.split_once('=') {
            Some((name, value)) => {
                let decoded_name = decode(name);
                let decoded = decode(value);
                let scrubbed = self.named(&decoded_name, &decoded, bodies);
                if *scrubbed == *decoded {
                    pair.to_owned()
                } else {
                    format!("{name}={}", encode(&scrubbed, !bodies))
                }
            }
            None => self.encoded_text(pair, bodies),
        }
    }

    /// Percent-encoded text: decoded, scrubbed, re-encoded only when something changed.
    fn encoded_text(&mut self, text: &str, bodies: bool) -> String {
        if !text.contains('%') && !text.contains('+') {
            return self.text(text, bodies).into_owned();
        }
        let decoded = decode(text);
        let scrubbed = self.text(&decoded, bodies);
        if scrubbed == decoded {
            text.to_owned()
        } else {
            encode(&scrubbed, !bodies)
        }
    }
}

/// Percent-decoding with `+` as a space (query strings and forms).
pub fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The least encoding that keeps a value inside its pair (and, `in_url`, inside its URL
/// component): placeholders stay readable.
pub fn encode(text: &str, in_url: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '=' => out.push_str("%3D"),
            '+' => out.push_str("%2B"),
            '#' if in_url => out.push_str("%23"),
            '?' if in_url => out.push_str("%3F"),
            '/' if in_url => out.push_str("%2F"),
            ';' if in_url => out.push_str("%3B"),
            ' ' => out.push_str("%20"),
            c if c.is_control() => {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_structure() {
        let mut scrubber = Scrubber::default();
        let url = "https://u:pw123456@shop.example/app;jsessionid=ABC123DEF/items?page=2&api_key=k3y&email=ann%40example.com#access_token=tok999";
        let scrubbed = scrubber.url(url);
        assert_eq!(
            scrubbed,
            "https://u:<password>@shop.example/app;jsessionid=<session>/items?page=2&api_key=<api-key>&email=<email>#access_token=<token>"
        );
        assert_eq!(scrubber.url("/plain/path?q=shoes"), "/plain/path?q=shoes");
    }

    #[test]
    fn text_finds_pairs_inputs_urls_and_shapes() {
        let mut scrubber = Scrubber::default();
        let html = r#"<form><input type="hidden" name="csrf_token" value="c5rf-VALUE-1"><input type="password" name="pw" value="hunter2"><input name="q" value="lamp"></form>
<meta name="csrf-token" content="meta-TOKEN-2"><script>window.cfg={"apiKey":"live-KEY-3","page":"2"};fetch("https://api.shop.example/x?token=url-TOKEN-4")</script> write to bob@example.org"#;
        let out = scrubber.text(html, true).into_owned();
        for secret in [
            "c5rf-VALUE-1",
            "hunter2",
            "meta-TOKEN-2",
            "live-KEY-3",
            "url-TOKEN-4",
            "bob@example.org",
        ] {
            assert!(!out.contains(secret), "{secret} left in {out}");
        }
        assert!(out.contains(r#"name="q" value="lamp""#));
        assert!(out.contains(r#""page":"2""#));
        assert!(out.contains(r#"value="<csrf>""#), "{out}");
        assert!(out.contains(r#"content="<csrf#2>""#), "{out}");
    }

    #[test]
    fn encoding_round_trips_placeholders() {
        assert_eq!(decode(&encode("<cookie:sid#2>", true)), "<cookie:sid#2>");
        assert_eq!(encode("<cookie:sid#2>", false), "<cookie:sid#2>");
        assert_eq!(encode("a b&c", true), "a%20b%26c");
    }
}
