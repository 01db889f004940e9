//! The words: a recommendation per endpoint and for the scan, and the caveats a scraper
//! author needs (IP-bound anti-bot cookies, rate limits, fingerprinting).

use recon_contracts::{
    EndpointValidation, MinimalRequest, NetworkTier, RateLimit, ReplayChoice, ReplayProfile,
    Verdict,
};

use crate::cookies::antibot_cookie;

pub fn endpoint_recommendation(choice: ReplayChoice, minimal: Option<&MinimalRequest>) -> String {
    let how = match choice.profile {
        ReplayProfile::Plain => "a plain HTTP client with no cookies or browser headers".to_owned(),
        ReplayProfile::BrowserHeaders => "the browser's request headers, no cookies".to_owned(),
        ReplayProfile::BrowserSession => "the browser's headers and cookies".to_owned(),
        ReplayProfile::Impersonate => "a client with Chrome's TLS and HTTP/2 fingerprint (curl_cffi in Python, wreq in Rust) and the browser's headers and cookies".to_owned(),
    };
    let via = match choice.tier {
        NetworkTier::Direct => "directly, with no proxy".to_owned(),
        tier => format!("through the {} proxy", tier.name()),
    };
    let mut text = format!("{choice}: {how}, {via}.");
    if let Some(minimal) = minimal {
        let mut needed = Vec::new();
        if !minimal.cookies.is_empty() {
            needed.push(format!("cookie(s) {}", minimal.cookies.join(", ")));
        }
        if !minimal.headers.is_empty() {
            needed.push(format!("header(s) {}", minimal.headers.join(", ")));
        }
        if needed.is_empty() {
            text.push_str(" None of the captured cookies or headers turned out to be needed.");
        } else {
            text.push_str(&format!(" Minimal set: {}.", needed.join("; ")));
        }
    }
    text
}

/// Caveats for one endpoint, from what the cascade and the diagnosis found.
pub fn endpoint_notes(result: &EndpointValidation, inventory_antibot: &[String]) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(best) = result.best else {
        if let Some(last) = result.attempts.last() {
            notes.push(format!(
                "No profile × tier passed; the last attempt ({} × {}) got: {}.",
                last.profile.name(),
                last.tier.name(),
                last.reason.as_deref().unwrap_or("no answer")
            ));
        }
        if let Some(limit) = &result.rate_limit {
            notes.push(rate_limit_note(limit));
        }
        return notes;
    };
    let blocked_cheaper_tiers: Vec<&str> = [NetworkTier::Direct, NetworkTier::Datacenter]
        .into_iter()
        .filter(|tier| *tier < best.tier)
        .filter(|tier| {
            result
                .attempts
                .iter()
                .any(|a| a.tier == *tier && a.verdict == Verdict::Blocked)
        })
        .map(NetworkTier::name)
        .collect();
    if !blocked_cheaper_tiers.is_empty() {
        notes.push(format!(
            "Requests from the {} tier were blocked: the site judges the egress IP. Only the {} tier passed.",
            blocked_cheaper_tiers.join(" and "),
            best.tier.name()
        ));
    }
    let cookie_names: Vec<String> = match &result.minimal {
        Some(minimal) => minimal.cookies.clone(),
        None if best.profile >= ReplayProfile::BrowserSession => inventory_antibot.to_vec(),
        None => Vec::new(),
    };
    for name in &cookie_names {
        let vendor = antibot_cookie(name)
            .map(|rule| format!("{}'s ({}) anti-bot token", rule.product, rule.vendor))
            .or_else(|| {
                inventory_antibot
                    .contains(name)
                    .then(|| "an anti-bot token".to_owned())
            });
        match vendor {
            Some(vendor) => notes.push(format!(
                "Cookie {name} is {vendor}. It was minted in the user's browser on the user's IP: it expires, and replays from another IP (a datacenter or a rotating proxy) can meet 412/403 challenges. Mint it again with a real browser, ideally through the same sticky proxy session that will replay."
            )),
            None => notes.push(format!("Cookie {name} is required (a session or state cookie).")),
        }
    }
    if best.profile >= ReplayProfile::BrowserSession && best.tier != NetworkTier::Residential {
        if let Some(minimal) = &result.minimal {
            if !minimal.cookies.is_empty() && best.tier == NetworkTier::Direct {
                notes.push(
                    "These cookies passed from this server's IP today; a session minted on a residential IP may still be challenged from a datacenter IP tomorrow.".to_owned(),
                );
            }
        }
    }
    if best.profile == ReplayProfile::Impersonate {
        notes.push(
            "Only a client with Chrome's TLS/HTTP2 fingerprint passed: requests or httpx will be fingerprinted; use curl_cffi (impersonate=\"chrome\").".to_owned(),
        );
    }
    if let Some(limit) = &result.rate_limit {
        notes.push(rate_limit_note(limit));
    }
    notes
}

fn rate_limit_note(limit: &RateLimit) -> String {
    let mut text = if limit.status == 429 {
        "The endpoint rate-limits (429 Too Many Requests)".to_owned()
    } else {
        "The endpoint announces a rate limit".to_owned()
    };
    if let Some(seconds) = limit.retry_after_secs {
        text.push_str(&format!(", Retry-After {seconds} s"));
    }
    if !limit.headers.is_empty() {
        text.push_str(&format!(" ({})", limit.headers.join(", ")));
    }
    text.push_str(". Validation backed off; pace your requests and honour Retry-After.");
    text
}

/// The combination that covers every validated endpoint that passed, in words.
pub fn overall_recommendation(results: &[EndpointValidation]) -> Option<String> {
    let passed: Vec<ReplayChoice> = results.iter().filter_map(|result| result.best).collect();
    let covering = passed.iter().max().copied()?;
    let mut text = format!(
        "{covering} covers every endpoint that passed ({} of {}).",
        passed.len(),
        results.len()
    );
    let cheaper = passed.iter().filter(|choice| **choice < covering).count();
    if cheaper > 0 {
        text.push_str(&format!(
            " {cheaper} of them pass with something cheaper; see each endpoint."
        ));
    }
    Some(text)
}
