//! The bodies of a HAR entry: the request's `postData` (its text, or its form `params`
//! encoded) and the response's `content` (text, or base64 when the exporter marked it so),
//! kept as the Chrome recorder keeps them ([`crate::kept::body`]), each cut at
//! [`MAX_BODY_BYTES`].

use recon_contracts::Body;

use super::model::{Content, PostData};
use crate::kept::body::{self as kept_body, MAX_BODY_BYTES};

pub(super) fn post_body(post: PostData) -> Option<Body> {
    if let Some(text) = post.text {
        return Some(kept_body::from_text(text, MAX_BODY_BYTES));
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
        return Some(kept_body::from_text(serializer.finish(), MAX_BODY_BYTES));
    }
    None
}

/// The response body, its text taken out of `content` (a body is never copied whole).
pub(super) fn content_body(content: &mut Content) -> Result<Option<Body>, String> {
    let Some(text) = content.text.take() else {
        return Ok(None);
    };
    // An empty text for a response that had bytes means the exporter did not keep the body.
    if text.is_empty() && content.size.is_some_and(|size| size > 0) {
        return Ok(None);
    }
    match content.encoding.as_deref().map(str::trim) {
        None | Some("") => Ok(Some(kept_body::from_text(text, MAX_BODY_BYTES))),
        Some(encoding) if encoding.eq_ignore_ascii_case("base64") => {
            kept_body::from_base64(&text, &content.mime_type, MAX_BODY_BYTES)
                .map(Some)
                .map_err(|error| error.to_string())
        }
        Some(other) => Err(format!("unknown content encoding {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::test_support::{
        by_url, demo, firefox, get_entry, har, import_text, response_body,
    };
    use recon_contracts::BodyEncoding;

    #[test]
    fn a_long_response_body_in_a_har_is_cut() {
        let entry = get_entry(
            "https://demo-shop.recon.test/big",
            &format!(
                r#"{{"mimeType": "text/plain", "text": "{}"}}"#,
                "x".repeat(MAX_BODY_BYTES + 5)
            ),
        );
        let capture = import_text(&har(&entry)).unwrap().capture;
        let body = response_body(&capture.requests[0]);
        assert!(body.truncated);
        assert_eq!(body.data.len(), MAX_BODY_BYTES);
        assert_eq!(body.size, Some(MAX_BODY_BYTES as u64 + 5));
    }

    #[test]
    fn bad_base64_is_left_out_with_a_warning() {
        let entry = get_entry(
            "https://demo-shop.recon.test/a.png",
            r#"{"mimeType": "image/png", "encoding": "base64", "text": "not base64!"}"#,
        );
        let import = import_text(&har(&entry)).unwrap();
        let response = import.capture.requests[0].response.as_ref().unwrap();
        assert!(response.body.is_none());
        assert_eq!(import.warnings.len(), 1);
        assert!(
            import.warnings[0].contains("har-0"),
            "{:?}",
            import.warnings
        );
    }

    #[test]
    fn a_base64_body_of_a_text_type_is_kept_as_text() {
        let entry = get_entry(
            "https://demo-shop.recon.test/api/a",
            r#"{"mimeType": "application/json", "encoding": "base64", "text": "eyJhIjoxfQ=="}"#,
        );
        let capture = import_text(&har(&entry)).unwrap().capture;
        let body = response_body(&capture.requests[0]);
        assert_eq!(body.as_text(), Some(r#"{"a":1}"#));
        assert_eq!(body.size, Some(7));
    }

    #[test]
    fn a_binary_response_body_stays_base64() {
        let capture = demo().capture;
        let image = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/media/products/1842/thumb.png",
        );
        let body = response_body(image);
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
        let json = response_body(search);
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
