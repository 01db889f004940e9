//! Detection (target `detection`): which anti-bot, WAF, CAPTCHA and waiting-room vendors guard
//! the site, and which requests of the capture met a challenge or block page.
//!
//! The fingerprints are data (`rules/vendors.toml`, versioned, compiled in); this crate walks
//! the site's own traffic (see [`hosts`] for attribution), records rule hits and turns them
//! into findings with confidence and redacted evidence.

pub mod capture_spec;
pub mod findings;
pub mod hosts;
pub mod observe;
mod response;
pub mod rules;
pub mod services;

pub use response::{classify_response, ResponseBlock};
pub use services::ServiceCategory;

use recon_contracts::{Capture, Detection, RequestRecord, Step};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

use crate::rules::{try_rules, Matcher, Signal, Strength};

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

/// The vendor whose bot-management cookie this is (`_abck` → akamai), for auth analysis.
pub fn anti_bot_cookie(name: &str) -> Option<&'static str> {
    let rules = try_rules().ok()?;
    rules
        .by_signal(Signal::Cookie)
        .find(|rule| {
            rule.strength != Strength::Context
                && matches!(&rule.matcher, Matcher::Cookie(matcher) if matcher.matches(name))
        })
        .map(|rule| rule.vendor.as_str())
}

/// The vendor whose script, collector or sensor POST this request is.
pub fn anti_bot_request(request: &RequestRecord) -> Option<&'static str> {
    let rules = try_rules().ok()?;
    if let Some(rule) = observe::vendor_url_rule(rules, &request.url) {
        return Some(rule.vendor.as_str());
    }
    let first_party_url = rules
        .by_signal(Signal::Url)
        .find(|rule| matches!(&rule.matcher, Matcher::Url(regex) if regex.is_match(&request.url)));
    if let Some(rule) = first_party_url {
        return Some(rule.vendor.as_str());
    }
    let body = request.post_data.as_ref().and_then(|body| body.as_text())?;
    rules
        .by_signal(Signal::SensorPost)
        .filter(|rule| rule.strength == Strength::Strong && rule.weight >= 0.8)
        .find(|rule| matches!(&rule.matcher, Matcher::SensorPost { body: marker, .. } if marker.is_match(body)))
        .map(|rule| rule.vendor.as_str())
}

/// The category of a well-known third-party service host (analytics, ads, payment, …).
pub fn known_service(host: &str) -> Option<ServiceCategory> {
    services::services().category(host)
}

pub struct DetectionStage;

impl Stage for DetectionStage {
    const STEP: Step = Step::Detection;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        if let Err(err) = try_rules() {
            return Err(StageError::Permanent(format!(
                "the detection rules are invalid: {err}"
            )));
        }
        let capture = ctx.capture().await?;
        let detection = detect(&capture);
        let names: Vec<&str> = detection.vendors.iter().map(|v| v.id.as_str()).collect();
        let summary = if names.is_empty() {
            "no anti-bot vendor found".to_owned()
        } else {
            format!("{} vendor(s): {}", names.len(), names.join(", "))
        };
        let summary = match detection.challenges.len() {
            0 => summary,
            n => format!("{summary}; {n} challenged request(s)"),
        };
        StageOutput::new(&detection, summary)
    }
}
