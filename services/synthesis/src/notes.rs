//! Notes (caveats: anti-bot findings, IP-bound cookies, rate limits) and drivers (why the code
//! looks the way it does), in plain words, from the stage results only.

use recon_contracts::{
    Detection, Endpoint, EndpointValidation, NetworkTier, PaginationStyle, ReplayProfile,
};

use crate::plan::Plan;

pub fn profile_words(profile: ReplayProfile) -> &'static str {
    match profile {
        ReplayProfile::Plain => "plain",
        ReplayProfile::BrowserHeaders => "browser-headers",
        ReplayProfile::BrowserSession => "browser-session",
        ReplayProfile::Impersonate => "impersonate",
    }
}

pub fn tier_words(tier: NetworkTier) -> &'static str {
    match tier {
        NetworkTier::Direct => "direct",
        NetworkTier::Datacenter => "datacenter",
        NetworkTier::Residential => "residential",
    }
}

fn style_words(style: PaginationStyle) -> &'static str {
    match style {
        PaginationStyle::Page => "page-number",
        PaginationStyle::Offset => "offset",
        PaginationStyle::Cursor => "cursor",
        PaginationStyle::NextLink => "next-link",
    }
}

/// Why this endpoint's code looks the way it does.
pub fn drivers(plan: &Plan, validation: Option<&EndpointValidation>) -> Vec<String> {
    let mut drivers = Vec::new();
    let label = &plan.label;
    match validation.and_then(|v| v.best) {
        Some(best) => {
            let how = match best.profile {
                ReplayProfile::Plain => "requests with default headers and no cookies",
                ReplayProfile::BrowserHeaders => "requests with the captured headers, no cookies",
                ReplayProfile::BrowserSession => "requests with the captured headers and cookies",
                ReplayProfile::Impersonate => {
                    "curl_cffi impersonating Chrome's TLS and HTTP/2 fingerprint, because plainer clients were blocked"
                }
            };
            drivers.push(format!(
                "{label}: validation found {} × {} the cheapest combination that passed, so the code uses {how}.",
                profile_words(best.profile),
                tier_words(best.tier)
            ));
            if best.tier != NetworkTier::Direct {
                drivers.push(format!(
                    "{label}: direct requests did not pass; the {} proxy tier did, so the code reads the proxy URL from {}.",
                    tier_words(best.tier),
                    match best.tier {
                        NetworkTier::Datacenter => "DATACENTER_PROXY",
                        _ => "RESIDENTIAL_PROXY",
                    }
                ));
            }
        }
        None => match validation {
            Some(v) if !v.attempts.is_empty() => drivers.push(format!(
                "{label}: no profile × tier passed validation ({} attempt(s)); the code replays the captured request as it was and will likely be blocked.",
                v.attempts.len()
            )),
            _ => drivers.push(format!(
                "{label}: validation did not replay this endpoint; the code sends the captured headers and cookies (sent only when their environment variables are set), unconfirmed."
            )),
        },
    }
    if let Some(minimal) = validation.and_then(|v| v.minimal.as_ref()) {
        if !minimal.cookies.is_empty() || !minimal.headers.is_empty() {
            drivers.push(format!(
                "{label}: the smallest set that still passed: cookies [{}], headers [{}]; the code sends only these.",
                minimal.cookies.join(", "),
                minimal.headers.join(", ")
            ));
        }
    }
    if let Some(page) = &plan.pagination {
        let on = page
            .parameter
            .as_deref()
            .map(|p| format!(" on `{p}`"))
            .unwrap_or_default();
        let next = page
            .next_field
            .as_deref()
            .map(|f| format!(", next page from `{f}`"))
            .unwrap_or_default();
        drivers.push(format!(
            "{label}: analysis found {} pagination{on}{next}, so the Python and Rust code loop over the pages (at most MAX_PAGES).",
            style_words(page.style)
        ));
    }
    for warmup in &plan.warmups {
        drivers.push(format!(
            "{label}: {} — the code requests it first ({} {}).",
            warmup.mints.join("; "),
            warmup.method,
            warmup
                .url
                .0
                .iter()
                .map(|piece| match piece {
                    crate::template::Piece::Text(text) => text.clone(),
                    crate::template::Piece::Env(env) | crate::template::Piece::Warm(env) =>
                        format!("${env}"),
                })
                .collect::<String>()
        ));
    }
    drivers
}

/// Caveats for the whole scan and for the endpoints that got code.
pub fn notes(
    detection: &Detection,
    chosen: &[(&Endpoint, Option<&EndpointValidation>, Option<&Plan>)],
    validation_notes: &[String],
) -> Vec<String> {
    let mut notes = Vec::new();
    for vendor in &detection.vendors {
        let example = vendor
            .evidence
            .first()
            .map(|e| format!(", e.g. {}", e.detail))
            .unwrap_or_default();
        notes.push(format!(
            "{} {} ({}) guards this site, confidence {:.0}%: {} signal(s){example}.",
            vendor.id,
            vendor.product,
            if vendor.category.is_empty() {
                "anti-bot"
            } else {
                &vendor.category
            },
            vendor.confidence * 100.0,
            vendor.evidence.len()
        ));
    }
    if !detection.challenges.is_empty() {
        notes.push(format!(
            "{} captured request(s) met a challenge or block page; expect the same under load.",
            detection.challenges.len()
        ));
    }
    for (endpoint, validation, plan) in chosen {
        let label = crate::plan::endpoint_label(endpoint);
        if endpoint.challenged_count > 0 {
            notes.push(format!(
                "{label}: {} captured request(s) were challenged.",
                endpoint.challenged_count
            ));
        }
        if let Some(plan) = plan {
            for cookie in &plan.js_cookies {
                notes.push(format!(
                    "{label}: cookie {cookie} is written by the page's JavaScript (typically an anti-bot sensor); no HTTP client can mint it, so copy a fresh value from a browser when requests start failing."
                ));
            }
            let uses_cookies = !plan.cookies.is_empty() || !plan.warmups.is_empty();
            if uses_cookies && plan.tier != NetworkTier::Direct {
                notes.push(format!(
                    "{label}: session cookies are often bound to the IP address that obtained them; keep one sticky proxy session while they are in use."
                ));
            }
            if !plan.required_env.is_empty() {
                notes.push(format!(
                    "{label}: the code reads these secrets from environment variables: {}.",
                    plan.required_env
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if let Some(validation) = validation {
            if let Some(limit) = &validation.rate_limit {
                let retry = limit
                    .retry_after_secs
                    .map(|s| format!(", Retry-After {s} s"))
                    .unwrap_or_default();
                let headers = if limit.headers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", limit.headers.join("; "))
                };
                notes.push(format!(
                    "{label}: rate limited with HTTP {}{retry}{headers}; the Python code waits and retries on 429, keep the request rate low.",
                    limit.status
                ));
            }
            for note in &validation.notes {
                notes.push(format!("{label}: {note}"));
            }
        }
    }
    notes.extend(validation_notes.iter().cloned());
    notes
        .into_iter()
        .map(|note| recon_redaction::secrets::scrub_shapes_standalone(&note, false))
        .collect()
}
