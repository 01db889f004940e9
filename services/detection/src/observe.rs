//! Walks a capture and records every rule hit on the site's own traffic: cookies, headers,
//! request URLs, sensor POSTs and challenge pages. Aggregation into findings is elsewhere.

use recon_contracts::{Capture, Challenge, RequestRecord, ResourceType};

use recon_knowledge::anti_bot::vendor_url_rule;
use recon_knowledge::hosts::{host_of, FirstParty};
use recon_knowledge::response::classify_with;
use recon_knowledge::rules::{Matcher, Rule, RuleSet, Scope, Signal};
use recon_knowledge::services::Services;

/// One observation: a rule fired on some part of the capture.
#[derive(Debug, Clone)]
pub struct Hit<'r> {
    pub rule: &'r Rule,
    pub request_id: Option<String>,
    /// What was seen, without values.
    pub detail: String,
}

/// Everything the rules saw in one capture.
#[derive(Debug, Default)]
pub struct Observations<'r> {
    pub hits: Vec<Hit<'r>>,
    pub challenges: Vec<Challenge>,
}

/// The URL without its query string and fragment (queries may carry secrets).
pub fn url_without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

pub fn observe<'r>(
    rules: &'r RuleSet,
    services: &Services,
    capture: &Capture,
) -> (FirstParty, Observations<'r>) {
    let first_party = FirstParty::of(capture, services, |url| {
        vendor_url_rule(rules, url).is_some()
    });
    let mut seen = Observations::default();
    for request in &capture.requests {
        observe_request(rules, &first_party, request, &mut seen);
    }
    for cookie in &capture.cookies {
        if first_party.owns_cookie_domain(&cookie.domain) {
            cookie_hits(
                rules,
                &cookie.name,
                None,
                || {
                    format!(
                        "cookie {} in the browser's jar for {}",
                        cookie.name, cookie.domain
                    )
                },
                &mut seen,
            );
        }
    }
    (first_party, seen)
}

fn observe_request<'r>(
    rules: &'r RuleSet,
    first_party: &FirstParty,
    request: &RequestRecord,
    seen: &mut Observations<'r>,
) {
    let Some(host) = host_of(&request.url) else {
        return;
    };
    let own = first_party.contains(&host);
    // A request a third-party script or frame made (a payment widget loading its own captcha)
    // says nothing about the site.
    let initiator_host = request
        .initiator
        .as_ref()
        .and_then(|initiator| initiator.url.as_deref())
        .and_then(host_of);
    let site_initiated = initiator_host
        .as_deref()
        .is_none_or(|h| first_party.contains(h));
    let id = Some(request.id.clone());

    if own {
        if let Some(cookies) = request.request_header("cookie") {
            for name in cookie_names(cookies) {
                cookie_hits(
                    rules,
                    name,
                    id.clone(),
                    || format!("cookie {name} sent to {host}"),
                    seen,
                );
            }
        }
        header_hits(
            rules,
            Signal::RequestHeader,
            &request.request_headers,
            &host,
            &id,
            seen,
        );
        if let Some(response) = &request.response {
            for header in &response.headers {
                if header.name.eq_ignore_ascii_case("set-cookie") {
                    if let Some(name) = header.value.split('=').next().map(str::trim) {
                        cookie_hits(
                            rules,
                            name,
                            id.clone(),
                            || format!("cookie {name} set by {host}"),
                            seen,
                        );
                    }
                }
            }
            header_hits(
                rules,
                Signal::ResponseHeader,
                &response.headers,
                &host,
                &id,
                seen,
            );
        }
    }

    if site_initiated {
        for rule in rules.by_signal(Signal::Url) {
            if let Matcher::Url(regex) = &rule.matcher {
                if (rule.scope == Scope::Any || own) && regex.is_match(&request.url) {
                    seen.hits.push(Hit {
                        rule,
                        request_id: id.clone(),
                        detail: format!("{} {}", request.method, url_without_query(&request.url)),
                    });
                }
            }
        }
        let vendor_hosted = vendor_url_rule(rules, &request.url).is_some();
        if request.method.eq_ignore_ascii_case("POST") && (own || vendor_hosted) {
            if let Some(body) = request.post_data.as_ref().and_then(|body| body.as_text()) {
                for rule in rules.by_signal(Signal::SensorPost) {
                    if let Matcher::SensorPost { url, body: marker } = &rule.matcher {
                        if url.as_ref().is_none_or(|url| url.is_match(&request.url))
                            && marker.is_match(body)
                        {
                            seen.hits.push(Hit {
                                rule,
                                request_id: id.clone(),
                                detail: format!(
                                    "POST {} with a {} payload",
                                    url_without_query(&request.url),
                                    rule.vendor
                                ),
                            });
                        }
                    }
                }
            }
        }
    }

    // Challenges: on the site's own hosts, or a page the browser navigated to.
    let navigation = request.resource_type == ResourceType::Document;
    if let Some(response) = &request.response {
        if own || (navigation && site_initiated) {
            let body = response
                .body
                .as_ref()
                .and_then(|body| body.as_text())
                .unwrap_or("");
            if let Some(rule) = classify_with(rules, response.status, &response.headers, body) {
                let Matcher::ChallengePage { kind, .. } = &rule.matcher else {
                    return;
                };
                let path = url::Url::parse(&request.url)
                    .map(|url| url.path().to_owned())
                    .unwrap_or_default();
                seen.challenges.push(Challenge {
                    request_id: request.id.clone(),
                    method: request.method.clone(),
                    host: host.clone(),
                    path: path.clone(),
                    status: Some(response.status),
                    vendor: rule.vendor.clone(),
                    kind: *kind,
                    rule: rule.id.clone(),
                });
                let kind_label = serde_json::to_value(kind)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default();
                seen.hits.push(Hit {
                    rule,
                    request_id: id,
                    detail: format!(
                        "{} {kind_label} page for {} {host}{path}",
                        response.status, request.method
                    ),
                });
            }
        }
    }
}

/// Cookie names of a `Cookie:` header.
pub fn cookie_names(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(';')
        .filter_map(|pair| pair.split('=').next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

fn cookie_hits<'r>(
    rules: &'r RuleSet,
    name: &str,
    request_id: Option<String>,
    detail: impl Fn() -> String,
    seen: &mut Observations<'r>,
) {
    for rule in rules.by_signal(Signal::Cookie) {
        if let Matcher::Cookie(matcher) = &rule.matcher {
            if matcher.matches(name) {
                seen.hits.push(Hit {
                    rule,
                    request_id: request_id.clone(),
                    detail: detail(),
                });
            }
        }
    }
}

fn header_hits<'r>(
    rules: &'r RuleSet,
    signal: Signal,
    headers: &[recon_contracts::Header],
    host: &str,
    request_id: &Option<String>,
    seen: &mut Observations<'r>,
) {
    let direction = if signal == Signal::RequestHeader {
        "sent to"
    } else {
        "from"
    };
    for header in headers {
        for rule in rules.by_signal(signal) {
            let Matcher::Header { name, value } = &rule.matcher else {
                continue;
            };
            if !name.matches(&header.name) {
                continue;
            }
            let detail = match value {
                Some(value) if value.is_match(&header.value) => {
                    let shown: String = header.value.chars().take(60).collect();
                    format!(
                        "{} header {}: {shown} {direction} {host}",
                        signal_word(signal),
                        header.name.to_ascii_lowercase()
                    )
                }
                Some(_) => continue,
                None => format!(
                    "{} header {} {direction} {host}",
                    signal_word(signal),
                    header.name.to_ascii_lowercase()
                ),
            };
            seen.hits.push(Hit {
                rule,
                request_id: request_id.clone(),
                detail,
            });
        }
    }
}

fn signal_word(signal: Signal) -> &'static str {
    if signal == Signal::RequestHeader {
        "request"
    } else {
        "response"
    }
}
