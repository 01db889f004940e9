//! What an endpoint's requests carried to be let in: session cookies, anti-bot cookies,
//! bearer tokens, API keys, CSRF tokens, basic auth. Which of them are truly needed is
//! validation's job; this lists what the browser sent.

use std::collections::BTreeSet;

use recon_contracts::{AuthKind, AuthRequirement};

use crate::config::AnalysisConfig;
use crate::group::Member;
use crate::parameters::cookie_pairs;
use crate::sample::RequestBody;

fn is_csrf_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("csrf")
        || lower.contains("xsrf")
        || lower == "authenticity_token"
        || lower == "__requestverificationtoken"
}

fn is_api_key_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase().replace(['-', '_'], "");
    lower.contains("apikey")
        || lower.ends_with("subscriptionkey")
        || lower == "xapikey"
        || lower == "key"
        || lower.ends_with("clientkey")
        || lower == "xappkey"
}

pub fn requirements(config: &AnalysisConfig, members: &[Member<'_, '_>]) -> Vec<AuthRequirement> {
    let mut found: BTreeSet<(AuthKind, String)> = BTreeSet::new();
    let mut cookies_seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for member in members {
        let request = member.sample.request;
        for header in &request.request_headers {
            let name = header.name.to_ascii_lowercase();
            if name == "authorization" {
                let scheme = header
                    .value
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let kind = match scheme.as_str() {
                    "bearer" => AuthKind::Bearer,
                    "basic" => AuthKind::Basic,
                    _ => AuthKind::ApiKey,
                };
                found.insert((kind, "Authorization".to_owned()));
            } else if is_csrf_name(&name) {
                found.insert((AuthKind::Csrf, name));
            } else if is_api_key_name(&name) {
                found.insert((AuthKind::ApiKey, name));
            }
        }
        for (name, _) in &member.sample.query {
            if is_api_key_name(name) {
                found.insert((AuthKind::ApiKey, name.clone()));
            } else if is_csrf_name(name) {
                found.insert((AuthKind::Csrf, name.clone()));
            }
        }
        match &member.sample.body {
            RequestBody::Form(pairs) => {
                for (name, _) in pairs {
                    if is_csrf_name(name) {
                        found.insert((AuthKind::Csrf, name.clone()));
                    }
                }
            }
            RequestBody::Json(serde_json::Value::Object(object)) if member.operation.is_none() => {
                for name in object.keys() {
                    if is_csrf_name(name) {
                        found.insert((AuthKind::Csrf, name.clone()));
                    }
                }
            }
            _ => {}
        }
        if let Some(cookies) = request.request_header("cookie") {
            for (name, _) in cookie_pairs(cookies) {
                if !cookies_seen.insert(name) {
                    continue;
                }
                if recon_knowledge::anti_bot_cookie(name).is_some() {
                    found.insert((AuthKind::AntiBotCookie, name.to_owned()));
                } else if is_csrf_name(name) {
                    found.insert((AuthKind::Csrf, name.to_owned()));
                } else if config.session_cookie.is_match(name) {
                    found.insert((AuthKind::SessionCookie, name.to_owned()));
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(kind, name)| AuthRequirement { kind, name })
        .collect()
}
