//! The verdict on one replayed response, against what the browser got: a block or challenge
//! page (detection's own rules), the status class, the content type, and the body's similarity.

use base64::Engine;
use recon_contracts::{BodyEncoding, ChallengeKind, ResponseRecord, Verdict};

use crate::similarity::{json_similarity, text_similarity};
use crate::transport::RawResponse;

/// Below this, a JSON body is "a different document", not the data the capture saw.
pub const MIN_JSON_SIMILARITY: f64 = 0.5;
/// HTML varies a lot between loads (tokens, ads); only a near-total mismatch counts.
pub const MIN_TEXT_SIMILARITY: f64 = 0.15;

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reason: String,
    pub similarity: Option<f64>,
    pub content_type: Option<String>,
    /// The response was recognised as a rate-limit page or status.
    pub rate_limited: bool,
}

/// Judges `replayed` against the captured response (`None` when the capture has none).
pub fn judge(captured: Option<&ResponseRecord>, replayed: &RawResponse) -> Judgement {
    let content_type = replayed.header("content-type").map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or(value)
            .trim()
            .to_ascii_lowercase()
    });
    let text = String::from_utf8_lossy(&replayed.body[..replayed.body.len().min(256 << 10)]);
    let status = replayed.status;
    let mut judgement = Judgement {
        verdict: Verdict::Error,
        reason: String::new(),
        similarity: None,
        content_type: content_type.clone(),
        rate_limited: status == 429,
    };
    if let Some(block) = recon_knowledge::classify_response(status, &replayed.headers, &text) {
        judgement.verdict = Verdict::Blocked;
        judgement.rate_limited |= block.kind == ChallengeKind::RateLimit;
        let what = match block.kind {
            ChallengeKind::Challenge => "challenge page",
            ChallengeKind::Captcha => "CAPTCHA",
            ChallengeKind::Block => "block page",
            ChallengeKind::RateLimit => "rate limit",
            ChallengeKind::WaitingRoom => "waiting room",
        };
        judgement.reason = format!("{status} {what} ({}, rule {})", block.vendor, block.rule);
        return judgement;
    }
    let Some(captured) = captured else {
        judgement.verdict = if (200..300).contains(&status) {
            Verdict::Pass
        } else {
            Verdict::Error
        };
        judgement.reason = format!("status {status}; the capture has no response to compare");
        return judgement;
    };
    if status / 100 != captured.status / 100 {
        judgement.verdict = if matches!(status, 401 | 403 | 407 | 412 | 429 | 503) {
            Verdict::Blocked
        } else {
            Verdict::Error
        };
        judgement.reason = format!("status {status}, the browser got {}", captured.status);
        return judgement;
    }
    let captured_type = captured
        .header("content-type")
        .map(str::to_owned)
        .unwrap_or_else(|| captured.mime_type.clone())
        .to_ascii_lowercase();
    let replayed_type = content_type.clone().unwrap_or_default();
    if family(&captured_type) != family(&replayed_type) {
        judgement.reason = format!(
            "content type {replayed_type:?}, the browser got {:?}",
            captured_type.split(';').next().unwrap_or_default()
        );
        return judgement;
    }
    let captured_body = captured.body.as_ref().and_then(|body| match body.encoding {
        BodyEncoding::Text => Some(body.data.clone()),
        BodyEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(&body.data)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
    });
    let captured_truncated = captured.body.as_ref().is_some_and(|body| body.truncated);
    match (family(&captured_type), captured_body) {
        ("json", Some(captured_body)) => {
            let replayed_json = serde_json::from_slice::<serde_json::Value>(&replayed.body);
            let captured_json = serde_json::from_str::<serde_json::Value>(&captured_body);
            match (captured_json, replayed_json) {
                (Ok(captured_json), Ok(replayed_json)) => {
                    let score = json_similarity(&captured_json, &replayed_json);
                    judgement.similarity = Some(round(score));
                    pass_if(
                        &mut judgement,
                        status,
                        score,
                        MIN_JSON_SIMILARITY,
                        "JSON shape",
                    );
                }
                (_, Err(_)) if !replayed.truncated => {
                    judgement.reason = format!("status {status} but the body is not JSON");
                }
                _ if captured_truncated || replayed.truncated => {
                    judgement.verdict = Verdict::Pass;
                    judgement.reason =
                        format!("status {status}, JSON; a body was cut short, shape not compared");
                }
                _ => {
                    judgement.verdict = Verdict::Pass;
                    judgement.reason =
                        format!("status {status}, JSON; the captured body is not JSON");
                }
            }
        }
        ("html" | "text", Some(captured_body)) => {
            let score = text_similarity(&captured_body, &text);
            judgement.similarity = Some(round(score));
            pass_if(&mut judgement, status, score, MIN_TEXT_SIMILARITY, "text");
        }
        _ => {
            judgement.verdict = Verdict::Pass;
            judgement.reason =
                format!("status {status} and content type match; no captured body to compare");
        }
    }
    judgement
}

fn pass_if(judgement: &mut Judgement, status: u16, score: f64, min: f64, what: &str) {
    if score >= min {
        judgement.verdict = Verdict::Pass;
        judgement.reason = format!("status {status}, {what} similarity {score:.2}");
    } else {
        judgement.verdict = Verdict::Error;
        judgement.reason =
            format!("status {status} but a different {what} (similarity {score:.2} < {min})");
    }
}

fn round(score: f64) -> f64 {
    (score * 1000.0).round() / 1000.0
}

fn family(content_type: &str) -> &'static str {
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if mime.contains("json") {
        "json"
    } else if mime.contains("html") {
        "html"
    } else if mime.starts_with("text/") || mime.contains("xml") || mime.contains("javascript") {
        "text"
    } else if mime.is_empty() {
        "unknown"
    } else {
        "binary"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use recon_contracts::{Body, Header};

    fn captured(status: u16, mime: &str, body: &str) -> ResponseRecord {
        ResponseRecord {
            status,
            status_text: String::new(),
            headers: vec![Header::new("content-type", mime)],
            mime_type: mime.into(),
            body: Some(Body::text(body)),
            remote_address: None,
            protocol: None,
            from_cache: false,
            from_service_worker: false,
        }
    }

    fn replayed(status: u16, mime: &str, body: &str) -> RawResponse {
        RawResponse {
            status,
            headers: vec![Header::new("Content-Type", mime)],
            body: Bytes::from(body.to_owned()),
            truncated: false,
        }
    }

    const PRODUCTS: &str = r#"{"products":[{"id":"p1","name":"Lamp","price":12}],"page":1}"#;

    #[test]
    fn same_json_passes() {
        let judgement = judge(
            Some(&captured(200, "application/json", PRODUCTS)),
            &replayed(200, "application/json; charset=utf-8", PRODUCTS),
        );
        assert_eq!(judgement.verdict, Verdict::Pass, "{judgement:?}");
        assert_eq!(judgement.similarity, Some(1.0));
        assert_eq!(judgement.content_type.as_deref(), Some("application/json"));
    }

    #[test]
    fn a_json_error_with_200_is_an_error() {
        let judgement = judge(
            Some(&captured(200, "application/json", PRODUCTS)),
            &replayed(200, "application/json", r#"{"error":"login required"}"#),
        );
        assert_eq!(judgement.verdict, Verdict::Error, "{judgement:?}");
        assert!(judgement.reason.contains("different JSON shape"));
    }

    #[test]
    fn block_pages_and_refusals_are_blocked() {
        let page = judge(
            Some(&captured(200, "application/json", PRODUCTS)),
            &replayed(403, "text/html", "<html><body>Access denied</body></html>"),
        );
        assert_eq!(page.verdict, Verdict::Blocked, "{page:?}");
        let limited = judge(
            Some(&captured(200, "application/json", PRODUCTS)),
            &replayed(429, "text/plain", "slow down"),
        );
        assert_eq!(limited.verdict, Verdict::Blocked);
        assert!(limited.rate_limited);
    }

    #[test]
    fn other_statuses_and_types_are_errors() {
        let moved = judge(
            Some(&captured(200, "application/json", PRODUCTS)),
            &replayed(404, "application/json", "{}"),
        );
        assert_eq!(moved.verdict, Verdict::Error);
        assert!(moved.reason.contains("404"));
        let html = judge(
            Some(&captured(200, "application/json", PRODUCTS)),
            &replayed(200, "text/html", "<html>login</html>"),
        );
        assert_eq!(html.verdict, Verdict::Error);
        assert!(html.reason.contains("content type"));
    }
}
