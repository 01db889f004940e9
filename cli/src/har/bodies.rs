//! The bodies of a HAR entry: the request's `postData` (its text, or its form `params`
//! encoded) and the response's `content` (text, or base64 when the exporter marked it so),
//! each cut at [`MAX_BODY_BYTES`].

use recon_contracts::{Body, BodyEncoding};

use super::model::{Content, PostData};

/// Longest body kept per request; longer ones keep their start and are marked `truncated`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(super) fn post_body(post: PostData) -> Option<Body> {
    if let Some(text) = post.text {
        return Some(text_body(text));
    }
    let form = post
        .mime_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded");
    if form && !post.params.is_empty() {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for param in &post.params {
            serializer.append_pair(&param.name, &param.value);
        }
        return Some(text_body(serializer.finish()));
    }
    None
}

pub(super) fn content_body(content: &Content) -> Result<Option<Body>, String> {
    let Some(text) = &content.text else {
        return Ok(None);
    };
    // An empty text for a response that had bytes means the exporter did not keep the body.
    if text.is_empty() && content.size.is_some_and(|size| size > 0) {
        return Ok(None);
    }
    match content.encoding.as_deref().map(str::trim) {
        None | Some("") => Ok(Some(text_body(text.clone()))),
        Some(encoding) if encoding.eq_ignore_ascii_case("base64") => base64_body(text).map(Some),
        Some(other) => Err(format!("unknown content encoding {other:?}")),
    }
}

/// A text body, cut at [`MAX_BODY_BYTES`] on a character boundary.
pub fn text_body(mut text: String) -> Body {
    let size = text.len() as u64;
    let truncated = text.len() > MAX_BODY_BYTES;
    if truncated {
        let mut end = MAX_BODY_BYTES;
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

/// A base64 body, cut so that it decodes to at most [`MAX_BODY_BYTES`]; `size` is the decoded
/// size of the whole body.
pub(super) fn base64_body(text: &str) -> Result<Body, String> {
    let mut data: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let valid = data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if !valid {
        return Err("it is marked base64 but is not".into());
    }
    let unpadded = data.trim_end_matches('=').len();
    let size = (unpadded * 3 / 4) as u64;
    // Whole 4-character groups only, so the kept start still decodes.
    let keep = MAX_BODY_BYTES / 3 * 4;
    let truncated = size > MAX_BODY_BYTES as u64;
    if truncated {
        data.truncate(keep);
    }
    Ok(Body {
        encoding: BodyEncoding::Base64,
        data,
        truncated,
        size: Some(size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::test_support::{by_url, demo, firefox, har, import_text};

    #[test]
    fn a_text_body_is_cut_at_one_mebibyte_on_a_character_boundary() {
        let long = "é".repeat(MAX_BODY_BYTES); // two bytes each
        let body = text_body(long.clone());
        assert!(body.truncated);
        assert_eq!(body.size, Some(long.len() as u64));
        assert_eq!(body.data.len(), MAX_BODY_BYTES);
    }

    #[test]
    fn a_short_text_body_is_kept_whole() {
        let short = text_body("{}".into());
        assert!(!short.truncated);
        assert_eq!(short.size, Some(2));
    }

    #[test]
    fn a_base64_body_is_cut_in_whole_groups_and_sized_decoded() {
        let encoded = "QUJD".repeat(MAX_BODY_BYTES / 3 + 10); // "ABC" repeated
        let body = base64_body(&encoded).unwrap();
        assert!(body.truncated);
        assert_eq!(body.size, Some((encoded.len() / 4 * 3) as u64));
        assert_eq!(body.data.len() % 4, 0);
        assert!(body.data.len() / 4 * 3 <= MAX_BODY_BYTES);
    }

    #[test]
    fn a_long_response_body_in_a_har_is_cut() {
        let entry = format!(
            r#"{{"startedDateTime": "2025-03-14T09:30:12Z", "request": {{"method": "GET", "url": "https://demo-shop.recon.test/big"}},
               "response": {{"status": 200, "headers": [], "content": {{"mimeType": "text/plain", "text": "{}"}}}}}}"#,
            "x".repeat(MAX_BODY_BYTES + 5)
        );
        let capture = import_text(&har(&entry)).unwrap().capture;
        let body = capture.requests[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap();
        assert!(body.truncated);
        assert_eq!(body.data.len(), MAX_BODY_BYTES);
        assert_eq!(body.size, Some(MAX_BODY_BYTES as u64 + 5));
    }

    #[test]
    fn bad_base64_is_left_out_with_a_warning() {
        let entry = r#"{"startedDateTime": "2025-03-14T09:30:12Z", "request": {"method": "GET", "url": "https://demo-shop.recon.test/a.png"},
            "response": {"status": 200, "headers": [], "content": {"mimeType": "image/png", "encoding": "base64", "text": "not base64!"}}}"#;
        let import = import_text(&har(entry)).unwrap();
        assert!(import.capture.requests[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .is_none());
        assert_eq!(import.warnings.len(), 1);
        assert!(
            import.warnings[0].contains("har-0"),
            "{:?}",
            import.warnings
        );
    }

    #[test]
    fn a_binary_response_body_stays_base64() {
        let capture = demo().capture;
        let image = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/media/products/1842/thumb.png",
        );
        let body = image.response.as_ref().unwrap().body.as_ref().unwrap();
        assert_eq!(body.encoding, BodyEncoding::Base64);
        assert!(body.data.starts_with("iVBORw0KGgo"));
        assert_eq!(body.size, Some(70));
        assert!(!body.truncated);
    }

    #[test]
    fn a_json_response_body_is_kept_as_text() {
        let capture = demo().capture;
        let search = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/api/products?page=1&q=lamp",
        );
        let json = search.response.as_ref().unwrap().body.as_ref().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(json.as_text().unwrap()).unwrap();
        assert_eq!(parsed["items"][0]["id"], 1842);
    }

    #[test]
    fn a_graphql_post_keeps_its_document() {
        let capture = demo().capture;
        let graphql = capture
            .requests
            .iter()
            .find(|request| {
                request.url == "https://demo-shop.recon.test/graphql"
                    && request
                        .post_data
                        .as_ref()
                        .and_then(|body| body.as_text())
                        .is_some_and(|text| {
                            text.contains("\"operationName\":\"ProductRecommendations\"")
                        })
            })
            .unwrap();
        assert_eq!(graphql.method, "POST");
    }

    #[test]
    fn a_form_post_keeps_its_text() {
        let capture = demo().capture;
        let newsletter = by_url(
            &capture,
            "POST",
            "https://demo-shop.recon.test/newsletter/subscribe",
        );
        assert_eq!(
            newsletter.post_data.as_ref().unwrap().as_text(),
            Some("email=ada%40example.test&source=footer")
        );
    }

    #[test]
    fn form_params_without_text_are_encoded_as_the_browser_sent_them() {
        let capture = firefox().capture;
        assert_eq!(
            capture.requests[2].post_data.as_ref().unwrap().as_text(),
            Some("user=ada&next=%2Fen%2F%3Fa%3D1")
        );
    }
}
