//! Detection (target `detection`): which anti-bot, WAF, CAPTCHA and waiting-room vendors guard
//! the site, and which requests of the capture met a challenge or block page.
//!
//! The fingerprints are data (`recon-knowledge`'s `rules/vendors.toml`, versioned, compiled
//! in); this crate walks the site's own traffic (see `recon_knowledge::hosts` for attribution),
//! records rule hits and turns them into findings with confidence and redacted evidence.

pub mod capture_spec;
pub mod findings;
pub mod observe;

pub use recon_knowledge::{
    anti_bot_cookie, anti_bot_request, classify_response, known_service, ResponseBlock,
    ServiceCategory,
};
pub use recon_knowledge::{hosts, rules, services};

use recon_contracts::{Capture, Detection};
use recon_knowledge::rules::{try_rules, RulesError};

/// Runs every rule over the capture.
pub fn detect(capture: &Capture) -> Detection {
    let Ok(rules) = try_rules() else {
        return Detection::default();
    };
    let (_, observations) = observe::observe(rules, services::services(), capture);
    Detection {
        rules_version: rules.version.clone(),
        vendors: findings::findings(rules, &observations.hits),
        challenges: observations.challenges,
    }
}

/// Whether the rules compiled in are valid; a scan must fail loudly rather than find nothing.
pub fn check_rules() -> Result<(), &'static RulesError> {
    try_rules().map(|_| ())
}

/// The step's summary line: the vendors found and how many requests met a challenge.
pub fn summary_line(detection: &Detection) -> String {
    let names: Vec<&str> = detection.vendors.iter().map(|v| v.id.as_str()).collect();
    let summary = if names.is_empty() {
        "no anti-bot vendor found".to_owned()
    } else {
        format!("{} vendor(s): {}", names.len(), names.join(", "))
    };
    match detection.challenges.len() {
        0 => summary,
        n => format!("{summary}; {n} challenged request(s)"),
    }
}
