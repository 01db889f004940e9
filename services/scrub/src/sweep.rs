//! The last pass over the scrubbed copy: every secret the structured pass found is replaced
//! wherever else it appears (echoed in a body, a script, another URL), also percent-encoded.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, MatchKind};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use recon_contracts::{BodyEncoding, Capture};

use recon_redaction::Vault;

/// Short or low-entropy values (`1`, `dark`, `en-US`, `/rum.gif`) are replaced where they were
/// found but not swept everywhere: that would clobber ordinary text (a cookie holding a path
/// once turned every beacon URL of a real capture into `https://host<cookie:…>`).
fn sweepable(value: &str) -> bool {
    let long = value.len() >= 16;
    let varied = value.bytes().any(|b| b.is_ascii_digit())
        || (value.bytes().any(|b| b.is_ascii_uppercase())
            && value.bytes().any(|b| b.is_ascii_lowercase()));
    value.len() >= 8 && (long || varied)
}

pub fn sweep(capture: &mut Capture, vault: &mut Vault) {
    let mut patterns: Vec<String> = Vec::new();
    let mut replacements: Vec<String> = Vec::new();
    // A set beside the list: a capture may hold a secret per request, and a list lookup per
    // variant would make the sweep quadratic in them.
    let mut seen: HashSet<String> = HashSet::new();
    for (value, placeholder) in vault.secrets() {
        if !sweepable(value) {
            continue;
        }
        seen.insert(value.to_owned());
        patterns.push(value.to_owned());
        replacements.push(placeholder.to_owned());
        let encoded = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
        let lenient = encoded
            .replace("%2D", "-")
            .replace("%2E", ".")
            .replace("%5F", "_")
            .replace("%7E", "~");
        for variant in [encoded, lenient] {
            if variant != value && seen.insert(variant.clone()) {
                patterns.push(variant);
                replacements.push(placeholder.to_owned());
            }
        }
    }
    if patterns.is_empty() {
        return;
    }
    let Ok(matcher) = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&patterns)
    else {
        return;
    };
    let mut counts = vec![0u64; patterns.len()];
    for_each_text(capture, &mut |text: &mut String| {
        if !matcher.is_match(text.as_str()) {
            return;
        }
        let mut out = String::with_capacity(text.len());
        matcher.replace_all_with(text, &mut out, |found, _, dst| {
            counts[found.pattern().as_usize()] += 1;
            dst.push_str(&replacements[found.pattern().as_usize()]);
            true
        });
        *text = out;
    });
    for (index, count) in counts.into_iter().enumerate() {
        if count > 0 {
            vault.count(&replacements[index], count);
        }
    }
}

/// Calls `f` on every captured string that may carry a value (not ids, methods or names).
pub fn for_each_text(capture: &mut Capture, f: &mut dyn FnMut(&mut String)) {
    f(&mut capture.target_url);
    for page in &mut capture.pages {
        f(&mut page.url);
        if let Some(title) = page.title.as_mut() {
            f(title);
        }
    }
    for request in &mut capture.requests {
        f(&mut request.url);
        if let Some(url) = request.initiator.as_mut().and_then(|i| i.url.as_mut()) {
            f(url);
        }
        for header in &mut request.request_headers {
            f(&mut header.value);
        }
        if let Some(body) = request.post_data.as_mut() {
            if body.encoding == BodyEncoding::Text {
                f(&mut body.data);
            }
        }
        if let Some(failure) = request.failure.as_mut() {
            f(failure);
        }
        if let Some(response) = request.response.as_mut() {
            for header in &mut response.headers {
                f(&mut header.value);
            }
            if let Some(body) = response.body.as_mut() {
                if body.encoding == BodyEncoding::Text {
                    f(&mut body.data);
                }
            }
        }
    }
    for cookie in &mut capture.cookies {
        f(&mut cookie.value);
    }
    for stream in &mut capture.streams {
        f(&mut stream.url);
        for sample in &mut stream.samples {
            f(sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sweepable;

    #[test]
    fn only_values_that_look_like_secrets_are_swept() {
        for value in ["0a1b2c3d4e", "AbCdEfGh", "a-long-plain-value-here"] {
            assert!(sweepable(value), "{value}");
        }
        for value in ["/rum.gif", "en-US", "dark", "main.css"] {
            assert!(!sweepable(value), "{value}");
        }
    }
}
