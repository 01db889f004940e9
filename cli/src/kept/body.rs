//! A body as a capture keeps it: text when it is text, base64 otherwise, cut at a cap on a
//! boundary that still decodes (a whole character, whole bytes), with the size of the whole
//! body so the server knows what was left out.

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use recon_contracts::{Body, BodyEncoding};

/// Bytes kept of one body by default; the rest is cut and the body marked truncated.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Exporters differ in padding, line breaks and the last group's spare bits; the bytes they
/// mean are the same.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it is marked base64 but is not")]
pub struct NotBase64;

/// A body that arrived as text, cut at `cap` bytes on a character boundary.
pub fn from_text(mut text: String, cap: usize) -> Body {
    let size = text.len() as u64;
    let truncated = text.len() > cap;
    if truncated {
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Body {
        encoding: BodyEncoding::Text,
        data: text,
        truncated,
        size: Some(size),
    }
}

/// A body as raw bytes: text when `text_allowed` and they are UTF-8, base64 otherwise.
pub fn from_bytes(mut bytes: Vec<u8>, text_allowed: bool, cap: usize) -> Body {
    let size = bytes.len();
    let truncated = size > cap;
    bytes.truncate(cap);
    from_kept_bytes(&bytes, size as u64, truncated, text_allowed)
}

/// A body handed over as base64 (DevTools and HAR files do so for binary content): text when
/// `mime` is a text type and the bytes are UTF-8, base64 otherwise. Only the part that is kept
/// is decoded; `size` is the decoded size of the whole body.
pub fn from_base64(encoded: &str, mime: &str, cap: usize) -> Result<Body, NotBase64> {
    let compact: Cow<'_, str> = if encoded.bytes().any(|byte| byte.is_ascii_whitespace()) {
        Cow::Owned(
            encoded
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect(),
        )
    } else {
        Cow::Borrowed(encoded)
    };
    let digits = compact.trim_end_matches('=');
    let url_safe = digits.bytes().any(|byte| matches!(byte, b'-' | b'_'));
    let alphabet_ok = digits.bytes().all(|byte| {
        byte.is_ascii_alphanumeric()
            || if url_safe {
                matches!(byte, b'-' | b'_')
            } else {
                matches!(byte, b'+' | b'/')
            }
    });
    // One character over a whole group carries no byte: no encoder writes that.
    if !alphabet_ok || digits.len() % 4 == 1 {
        return Err(NotBase64);
    }
    let size = digits.len() / 4 * 3 + (digits.len() % 4).saturating_sub(1);
    let truncated = size > cap;
    // Whole groups covering the kept bytes, so the kept start decodes on its own.
    let kept_digits = if truncated {
        (cap.div_ceil(3) * 4).min(digits.len())
    } else {
        digits.len()
    };
    let engine = if url_safe {
        &LENIENT_URL_SAFE
    } else {
        &LENIENT_STANDARD
    };
    let mut bytes = engine
        .decode(&digits[..kept_digits])
        .map_err(|_| NotBase64)?;
    bytes.truncate(cap);
    Ok(from_kept_bytes(
        &bytes,
        size as u64,
        truncated,
        is_text_mime(mime),
    ))
}

/// A body that was not read at all (too large, or over the capture's total): its size only.
pub fn left_out(size: u64) -> Body {
    Body {
        encoding: BodyEncoding::Text,
        data: String::new(),
        truncated: true,
        size: Some(size),
    }
}

/// JSON and GraphQL answers: the data a scan is after.
pub fn is_json_like(mime: &str) -> bool {
    let mime = mime.to_ascii_lowercase();
    mime.contains("json") || mime.contains("graphql")
}

/// Types whose bodies are text, so base64 of them is decoded back to text.
pub fn is_text_mime(mime: &str) -> bool {
    let mime = mime.to_ascii_lowercase();
    mime.starts_with("text/")
        || is_json_like(&mime)
        || mime.contains("xml")
        || mime.contains("javascript")
        || mime.contains("x-www-form-urlencoded")
}

/// `kept` is the start of a body of `size` bytes.
fn from_kept_bytes(kept: &[u8], size: u64, truncated: bool, text_allowed: bool) -> Body {
    let text_end = match std::str::from_utf8(kept) {
        _ if !text_allowed => None,
        Ok(_) => Some(kept.len()),
        // The cap fell inside a character: the text before it.
        Err(error) if truncated && error.error_len().is_none() => Some(error.valid_up_to()),
        Err(_) => None,
    };
    let (encoding, data) = match text_end {
        Some(end) => (
            BodyEncoding::Text,
            String::from_utf8_lossy(&kept[..end]).into_owned(),
        ),
        None => (BodyEncoding::Base64, STANDARD.encode(kept)),
    };
    Body {
        encoding,
        data,
        truncated,
        size: Some(size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let body = from_text("é".repeat(10), 5); // two bytes each
        assert_eq!(body.data, "éé");
        assert!(body.truncated);
        assert_eq!(body.size, Some(20));
    }

    #[test]
    fn text_at_the_default_cap_keeps_one_mebibyte() {
        let long = "é".repeat(MAX_BODY_BYTES);
        let body = from_text(long.clone(), MAX_BODY_BYTES);
        assert!(body.truncated);
        assert_eq!(body.size, Some(long.len() as u64));
        assert_eq!(body.data.len(), MAX_BODY_BYTES);
    }

    #[test]
    fn short_text_is_kept_whole() {
        let body = from_text("{}".into(), MAX_BODY_BYTES);
        assert_eq!(body.encoding, BodyEncoding::Text);
        assert!(!body.truncated);
        assert_eq!(body.size, Some(2));
    }

    #[test]
    fn binary_base64_stays_base64_cut_at_the_cap() {
        let encoded = STANDARD.encode([0u8, 159, 146, 150, 1, 2]);
        let body = from_base64(&encoded, "image/png", 4).unwrap();
        assert_eq!(body.encoding, BodyEncoding::Base64);
        assert_eq!(STANDARD.decode(&body.data).unwrap(), [0u8, 159, 146, 150]);
        assert!(body.truncated);
        assert_eq!(body.size, Some(6));
    }

    #[test]
    fn base64_of_a_text_type_becomes_text() {
        let encoded = STANDARD.encode("{\"a\":1}");
        let body = from_base64(&encoded, "application/json", 100).unwrap();
        assert_eq!(body.as_text(), Some("{\"a\":1}"));
        assert_eq!(body.size, Some(7));
    }

    #[test]
    fn long_base64_is_decoded_only_as_far_as_it_is_kept() {
        let encoded = "QUJD".repeat(MAX_BODY_BYTES / 3 + 10); // "ABC" repeated
        let body = from_base64(&encoded, "application/octet-stream", MAX_BODY_BYTES).unwrap();
        assert!(body.truncated);
        assert_eq!(body.size, Some((encoded.len() / 4 * 3) as u64));
        assert_eq!(STANDARD.decode(&body.data).unwrap().len(), MAX_BODY_BYTES);
    }

    #[test]
    fn base64_text_cut_inside_a_character_keeps_the_text_before_it() {
        let encoded = STANDARD.encode("aé"); // 3 bytes; the cap falls inside é
        let body = from_base64(&encoded, "text/plain", 2).unwrap();
        assert_eq!(body.as_text(), Some("a"));
        assert!(body.truncated);
        assert_eq!(body.size, Some(3));
    }

    #[test]
    fn base64_with_line_breaks_and_without_padding_decodes() {
        let body = from_base64("QUJD\nREVG\r\nRw", "text/plain", 100).unwrap();
        assert_eq!(body.as_text(), Some("ABCDEFG"));
        assert_eq!(body.size, Some(7));
    }

    #[test]
    fn url_safe_base64_decodes() {
        let body = from_base64("-_-_", "image/png", 100).unwrap();
        assert_eq!(body.size, Some(3));
        assert_eq!(STANDARD.decode(&body.data).unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn text_that_is_not_base64_is_refused() {
        assert_eq!(from_base64("not base64!", "image/png", 100), Err(NotBase64));
        assert_eq!(from_base64("QUJDR", "image/png", 100), Err(NotBase64));
        assert_eq!(from_base64("QU=JD", "image/png", 100), Err(NotBase64));
    }

    #[test]
    fn bytes_that_are_not_utf8_become_base64() {
        let body = from_bytes(vec![b'a', 0xff, b'b'], true, 100);
        assert_eq!(body.encoding, BodyEncoding::Base64);
        assert_eq!(STANDARD.decode(&body.data).unwrap(), [b'a', 0xff, b'b']);
        assert!(!body.truncated);
    }

    #[test]
    fn utf8_bytes_become_text_cut_at_the_cap() {
        let body = from_bytes(b"user=ada&next=1".to_vec(), true, 8);
        assert_eq!(body.as_text(), Some("user=ada"));
        assert!(body.truncated);
        assert_eq!(body.size, Some(15));
    }

    #[test]
    fn a_left_out_body_has_only_its_size() {
        let body = left_out(70);
        assert!(body.data.is_empty() && body.truncated);
        assert_eq!(body.size, Some(70));
    }
}
