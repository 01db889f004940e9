//! Is one HTTP response a challenge or block page, and whose? Used by detection on the
//! capture and by validation on every replayed response, so both judge pages the same way.

use recon_contracts::{ChallengeKind, Header};

/// A response recognised as a challenge, block or rate-limit page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBlock {
    /// A canonical vendor id; `unknown-challenge` when no vendor's markers matched.
    pub vendor: String,
    pub kind: ChallengeKind,
    /// The rule that recognised it.
    pub rule: String,
}

/// Classifies one response. `body` may be a prefix of the real body.
pub fn classify_response(status: u16, headers: &[Header], body: &str) -> Option<ResponseBlock> {
    let _ = headers;
    let lower = body.to_ascii_lowercase();
    let block = |kind| ResponseBlock {
        vendor: "unknown-challenge".to_owned(),
        kind,
        rule: "generic.status".to_owned(),
    };
    match status {
        429 => Some(block(ChallengeKind::RateLimit)),
        403 | 412 | 503 if lower.contains("captcha") => Some(block(ChallengeKind::Captcha)),
        403 | 412 if lower.contains("<html") => Some(block(ChallengeKind::Block)),
        _ => None,
    }
}
