//! Request and response bodies: JSON (walked field by field, names deciding), form-urlencoded,
//! multipart, and any other text; binary bodies are dropped from the scrubbed copy.

use std::borrow::Cow;

use base64::Engine;
use recon_contracts::{Body, BodyEncoding};

use crate::json::Json;
use crate::secrets::{is_placeholder, SecretKind};
use crate::text::Scrubber;

impl Scrubber {
    /// Scrubs `body` in place; `content_type` is the body's MIME type when known.
    pub fn body(&mut self, body: &mut Body, content_type: Option<&str>) {
        if body.encoding == BodyEncoding::Base64 {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(body.data.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            match decoded {
                Some(text) => {
                    body.encoding = BodyEncoding::Text;
                    body.data = text;
                }
                None => {
                    // Binary data (images, fonts, protobuf) cannot be scrubbed reliably and no
                    // later step reads it: keep only its size.
                    body.data.clear();
                    body.truncated = true;
                    return;
                }
            }
        }
        let original_type = content_type.unwrap_or("");
        let content_type = original_type.to_ascii_lowercase();
        let scrubbed = if content_type.contains("json") || looks_like_json(&body.data) {
            self.json_text(&body.data)
        } else if content_type.contains("x-www-form-urlencoded") {
            Some(self.pairs(&body.data, '&', true))
        } else if content_type.contains("multipart/") {
            // The boundary is case-sensitive: read it from the header as sent.
            self.multipart(&body.data, original_type)
        } else {
            None
        };
        let scrubbed = match scrubbed {
            Some(scrubbed) => scrubbed,
            None => self.text(&body.data, true).into_owned(),
        };
        body.data = scrubbed;
    }

    /// JSON text, or `None` when it does not parse (e.g. truncated): then it is free text.
    pub fn json_text(&mut self, text: &str) -> Option<String> {
        let mut json = Json::parse(text)?;
        let mut changed = false;
        self.json(&mut json, None, &mut changed);
        if !changed {
            return Some(text.to_owned());
        }
        serde_json::to_string(&json.into_value()).ok()
    }

    fn json(&mut self, value: &mut Json<'_>, key: Option<&str>, changed: &mut bool) {
        match value {
            Json::String(text) => {
                let scrubbed = match key {
                    Some(key) => self.named(key, text, true),
                    None => self.text(text, true),
                };
                // Borrowed means untouched; an owned copy may still be equal.
                let replacement = match scrubbed {
                    Cow::Borrowed(_) => None,
                    Cow::Owned(scrubbed) => (scrubbed != *text).then_some(scrubbed),
                };
                if let Some(scrubbed) = replacement {
                    *text = Cow::Owned(scrubbed);
                    *changed = true;
                }
            }
            Json::Number(number) => {
                let Some(key) = key else { return };
                // The name decides first: most numbers are sent under names that say nothing.
                let Some(class) = self.name_class(key) else {
                    return;
                };
                let digits = number.to_string();
                if let Some(kind) = Some(class.kind(&digits)).filter(|kind| {
                    !matches!(kind, SecretKind::Email | SecretKind::Cookie) && digits.len() >= 3
                }) {
                    *value = Json::String(Cow::Owned(self.vault.replace(kind, Some(key), &digits)));
                    *changed = true;
                }
            }
            Json::Array(items) => {
                for item in items {
                    self.json(item, key, changed);
                }
            }
            Json::Object(members) => {
                for (name, item) in members.iter_mut() {
                    self.json(item, Some(name.as_ref()), changed);
                }
            }
            Json::Bool(_) | Json::Null => {}
        }
    }

    fn multipart(&mut self, data: &str, content_type: &str) -> Option<String> {
        let boundary = content_type
            .split(';')
            .find_map(|part| {
                let part = part.trim();
                part.get(..9)
                    .filter(|key| key.eq_ignore_ascii_case("boundary="))
                    .map(|_| &part[9..])
            })
            .map(|b| b.trim_matches('"').to_owned())
            .or_else(|| {
                data.lines()
                    .next()
                    .and_then(|line| line.trim_end().strip_prefix("--"))
                    .map(str::to_owned)
            })?;
        let delimiter = format!("--{boundary}");
        let mut out = Vec::new();
        for part in data.split(delimiter.as_str()) {
            out.push(self.multipart_part(part));
        }
        Some(out.join(&delimiter))
    }

    fn multipart_part(&mut self, part: &str) -> String {
        let split = part
            .find("\r\n\r\n")
            .map(|at| (at, 4))
            .or_else(|| part.find("\n\n").map(|at| (at, 2)));
        let Some((at, gap)) = split else {
            return part.to_owned();
        };
        let (head, content) = (&part[..at + gap], &part[at + gap..]);
        // The content ends with the line break before the next delimiter.
        let trimmed = content.trim_end_matches(['\r', '\n']);
        let tail = &content[trimmed.len()..];
        let lower = head.to_ascii_lowercase();
        let name = header_parameter(head, "name");
        let is_file = lower.contains("filename=");
        let part_type = head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        });
        let scrubbed = if is_file {
            let mut body = Body::text(trimmed);
            self.body(&mut body, part_type.as_deref());
            body.data
        } else {
            match name {
                Some(name) if !is_placeholder(trimmed) => {
                    self.named(&name, trimmed, true).into_owned()
                }
                _ => self.text(trimmed, true).into_owned(),
            }
        };
        format!("{}{scrubbed}{tail}", self.text(head, false))
    }
}

fn header_parameter(head: &str, parameter: &str) -> Option<String> {
    let needle = format!("{parameter}=");
    let lower = head.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find(&needle) {
        let at = search + found;
        let preceded = lower[..at]
            .chars()
            .last()
            .is_some_and(|c| c == ';' || c.is_whitespace());
        if preceded {
            let rest = &head[at + needle.len()..];
            let value = match rest.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next().unwrap_or(""),
                None => rest.split([';', '\r', '\n']).next().unwrap_or("").trim(),
            };
            return Some(value.to_owned());
        }
        search = at + needle.len();
    }
    None
}

fn looks_like_json(data: &str) -> bool {
    let trimmed = data.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn json_form_and_multipart_bodies() {
        let mut scrubber = Scrubber::default();
        let mut json = Body::text(
            r#"{"user":{"email":"ann@example.com","password":"pw-1","phone":4155550132},"query":"lamp","items":[{"token":"t-2"}]}"#,
        );
        scrubber.body(&mut json, Some("application/json"));
        let value: Value = serde_json::from_str(&json.data).unwrap();
        assert_eq!(value["user"]["email"], "<email>");
        assert_eq!(value["user"]["password"], "<password>");
        assert_eq!(value["user"]["phone"], "<phone>");
        assert_eq!(value["query"], "lamp");
        assert_eq!(value["items"][0]["token"], "<token>");

        let mut form = Body::text("user=ann&password=pw%2B3&csrf_token=c-4&q=red+lamp");
        scrubber.body(&mut form, Some("application/x-www-form-urlencoded"));
        assert_eq!(
            form.data,
            "user=ann&password=<password#2>&csrf_token=<csrf>&q=red+lamp"
        );

        let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npw-5\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nmail me at zed@example.net\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\nContent-Type: application/json\r\n\r\n{\"api_key\":\"k-6\"}\r\n--XyZ--\r\n";
        let mut body = Body::text(multipart);
        scrubber.body(&mut body, Some("multipart/form-data; boundary=XyZ"));
        for secret in ["pw-5", "zed@example.net", "k-6"] {
            assert!(!body.data.contains(secret), "{secret} in {}", body.data);
        }
        assert!(
            body.data
                .contains("name=\"note\"\r\n\r\nmail me at <email#2>\r\n--XyZ"),
            "{:?}",
            body.data
        );
        assert!(body.data.ends_with("--XyZ--\r\n"));
    }

    #[test]
    fn json_bodies_are_walked_and_written_in_map_order() {
        let mut scrubber = Scrubber::default();
        // Keys out of order and a duplicate: the walk numbers placeholders in key order, the
        // duplicate's last value is the one kept, and the changed body is written compactly.
        let changed = scrubber
            .json_text(r#"{"z_token": "t-1", "a_token": "t-2", "a_token": "t-3", "n": [1, "x"]}"#)
            .unwrap();
        assert_eq!(
            changed,
            r#"{"a_token":"<token>","n":[1,"x"],"z_token":"<token#2>"}"#
        );
        assert_eq!(scrubber.vault.replacements(), 2);
        // Nothing secret: the text as it came, spacing and order kept.
        let clean = r#"{"b": 1, "a": "lamp"}"#;
        assert_eq!(scrubber.json_text(clean).unwrap(), clean);
        assert_eq!(scrubber.json_text(r#"{"a": "#), None);
    }

    #[test]
    fn binary_bodies_are_dropped_and_text_in_base64_is_scrubbed() {
        let mut scrubber = Scrubber::default();
        let mut binary = Body {
            encoding: BodyEncoding::Base64,
            data: base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0x00, 0x81]),
            truncated: false,
            size: Some(4),
        };
        scrubber.body(&mut binary, Some("image/png"));
        assert!(binary.data.is_empty() && binary.truncated);
        let mut text = Body {
            encoding: BodyEncoding::Base64,
            data: base64::engine::general_purpose::STANDARD.encode(r#"{"access_token":"a-7"}"#),
            truncated: false,
            size: None,
        };
        scrubber.body(&mut text, None);
        assert_eq!(text.encoding, BodyEncoding::Text);
        assert_eq!(text.data, r#"{"access_token":"<token>"}"#);
    }
}
