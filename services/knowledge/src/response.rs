//! Is one HTTP response a challenge or block page, and whose? Used by detection on the
//! capture and by validation on every replayed response, so both judge pages the same way.
//! Driven by the `challenge-page` rules of `rules/vendors.toml`: every vendor's pages first,
//! then the generic ones that report `unknown-challenge`.

use recon_contracts::{header_value, ChallengeKind, Header};

use crate::rules::{try_rules, Matcher, Rule, RuleSet, Signal};

/// A response recognised as a challenge, block or rate-limit page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBlock {
    /// A canonical vendor id; `unknown-challenge` when no vendor's markers matched.
    pub vendor: String,
    pub kind: ChallengeKind,
    /// The rule that recognised it.
    pub rule: String,
}

/// How much of a body the markers are searched in: challenge pages put their markers early,
/// and a replayed multi-megabyte page must not cost a full scan per rule.
const BODY_PREFIX: usize = 64 * 1024;

/// Classifies one response. `body` may be a prefix of the real body.
pub fn classify_response(status: u16, headers: &[Header], body: &str) -> Option<ResponseBlock> {
    let rules = try_rules().ok()?;
    classify_with(rules, status, headers, body).map(|rule| ResponseBlock {
        vendor: rule.vendor.clone(),
        kind: match &rule.matcher {
            Matcher::ChallengePage { kind, .. } => *kind,
            _ => ChallengeKind::Block,
        },
        rule: rule.id.clone(),
    })
}

/// The first challenge-page rule that matches the response.
pub fn classify_with<'r>(
    rules: &'r RuleSet,
    status: u16,
    headers: &[Header],
    body: &str,
) -> Option<&'r Rule> {
    let body = prefix(body, BODY_PREFIX);
    rules.by_signal(Signal::ChallengePage).find(|rule| {
        let Matcher::ChallengePage {
            statuses,
            body: body_marker,
            header,
            ..
        } = &rule.matcher
        else {
            return false;
        };
        if !statuses.contains(&status) {
            return false;
        }
        let header_ok = header.as_ref().is_none_or(|(name, value)| {
            header_value(headers, name)
                .is_some_and(|found| value.as_ref().is_none_or(|value| value.is_match(found)))
        });
        header_ok
            && body_marker
                .as_ref()
                .is_none_or(|marker| marker.is_match(body))
    })
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(String, ChallengeKind)> {
        let headers: Vec<Header> = headers.iter().map(|(n, v)| Header::new(*n, *v)).collect();
        classify_response(status, &headers, body).map(|block| (block.vendor, block.kind))
    }

    #[test]
    fn vendor_pages_are_attributed_and_others_are_unknown() {
        assert_eq!(
            classify(
                403,
                &[("cf-mitigated", "challenge")],
                "<html><title>Just a moment...</title>"
            ),
            Some(("cloudflare".into(), ChallengeKind::Challenge))
        );
        assert_eq!(
            classify(
                403,
                &[],
                r#"<html><script>var dd={'rt':'c','cid':'x','host':'geo.captcha-delivery.com'}</script>"#
            ),
            Some(("datadome".into(), ChallengeKind::Captcha))
        );
        assert_eq!(
            classify(429, &[], "{}"),
            Some(("unknown-challenge".into(), ChallengeKind::RateLimit))
        );
        assert_eq!(
            classify(
                403,
                &[],
                "<html><body><h1>Access denied</h1> automated traffic</body></html>"
            ),
            Some(("unknown-challenge".into(), ChallengeKind::Block))
        );
        assert_eq!(
            classify(
                302,
                &[("Location", "https://shop.queue-it.net/?c=shop&e=sale")],
                ""
            ),
            Some(("queue-it".into(), ChallengeKind::WaitingRoom))
        );
    }

    #[test]
    fn ordinary_errors_and_pages_that_mention_vendors_are_not_challenges() {
        assert_eq!(classify(403, &[], r#"{"error":"forbidden"}"#), None);
        assert_eq!(classify(404, &[], "<html>captcha</html>"), None);
        assert_eq!(
            classify(503, &[], "<html><h1>Down for maintenance</h1></html>"),
            None
        );
        assert_eq!(
            classify(
                200,
                &[],
                "<html><p>We compared Cloudflare, DataDome and Akamai: Just a moment...</p></html>"
            ),
            None
        );
        assert_eq!(
            classify(
                200,
                &[],
                "<html><p>captcha-delivery.com 'rt':'c'</p></html>"
            ),
            None
        );
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let body = "é".repeat(BODY_PREFIX);
        assert!(prefix(&body, BODY_PREFIX).len() <= BODY_PREFIX);
        assert_eq!(
            classify(429, &[], &body).map(|c| c.1),
            Some(ChallengeKind::RateLimit)
        );
    }
}
