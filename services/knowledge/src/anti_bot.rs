//! Questions other stages ask of the vendor rules about one request, cookie or host: is this a
//! vendor's script or sensor, a bot-management cookie, a well-known third-party service.

use recon_contracts::RequestRecord;

use crate::rules::{try_rules, Matcher, Rule, RuleSet, Scope, Signal, Strength};
use crate::services::{services, ServiceCategory};

/// The URL matches one of the vendors' `url` rules (their scripts and collectors).
pub fn vendor_url_rule<'r>(rules: &'r RuleSet, url: &str) -> Option<&'r Rule> {
    rules
        .by_signal(Signal::Url)
        .find(|rule| match &rule.matcher {
            Matcher::Url(regex) => rule.scope == Scope::Any && regex.is_match(url),
            _ => false,
        })
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
    if let Some(rule) = vendor_url_rule(rules, &request.url) {
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
    services().category(host)
}
