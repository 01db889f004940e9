//! The cookie jar a HAR import ends with: what the responses set (from HAR's parsed
//! `response.cookies`, or from the `Set-Cookie` lines when an exporter left those out), plus the
//! cookies requests sent that no response set (script-set ones: consent, analytics, anti-bot
//! tokens).

use std::collections::{BTreeMap, HashMap};

use chrono::DateTime;
use recon_contracts::{Cookie, Header};

use super::model::{parse_time, HarCookie};

#[derive(Default)]
pub(super) struct CookieJar {
    /// By (domain, path, name).
    set: BTreeMap<(String, String, String), Cookie>,
    /// Cookies seen only on requests, by (host, name).
    sent: BTreeMap<(String, String), String>,
}

impl CookieJar {
    fn set(&mut self, cookie: CookieUpdate) {
        let key = (
            cookie.cookie.domain.clone(),
            cookie.cookie.path.clone(),
            cookie.cookie.name.clone(),
        );
        if cookie.deleted {
            self.set.remove(&key);
        } else {
            self.set.insert(key, cookie.cookie);
        }
    }

    /// The cookies a response set: HAR's parsed `response.cookies`, or its `Set-Cookie` lines
    /// when the exporter left those out.
    pub(super) fn remember_set(
        &mut self,
        parsed: &[HarCookie],
        headers: &[Header],
        url: &url::Url,
        now_ms: f64,
    ) {
        let Some(host) = url.host_str() else {
            return;
        };
        if parsed.is_empty() {
            for line in headers
                .iter()
                .filter(|header| header.name.eq_ignore_ascii_case("set-cookie"))
                .flat_map(|header| header.value.lines())
            {
                if let Some(cookie) = parse_set_cookie(line, host, url.path(), now_ms) {
                    self.set(cookie);
                }
            }
        } else {
            for cookie in parsed {
                if let Some(cookie) = har_cookie(cookie, host, url.path(), now_ms) {
                    self.set(cookie);
                }
            }
        }
    }

    pub(super) fn remember_sent(&mut self, host: &str, headers: &[Header]) {
        for header in headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case("cookie"))
        {
            for pair in header.value.split(';') {
                if let Some((name, value)) = pair.split_once('=') {
                    let name = name.trim();
                    if !name.is_empty() {
                        self.sent.insert(
                            (host.to_ascii_lowercase(), name.to_owned()),
                            value.trim().to_owned(),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn into_cookies(self) -> Vec<Cookie> {
        let mut cookies: Vec<Cookie> = self.set.into_values().collect();
        // Each sent cookie is looked for among the set ones of its name only, not all of them.
        let mut set_domains: HashMap<String, Vec<String>> = HashMap::new();
        for cookie in &cookies {
            set_domains
                .entry(cookie.name.clone())
                .or_default()
                .push(cookie.domain.clone());
        }
        for ((host, name), value) in self.sent {
            let known = set_domains
                .get(&name)
                .is_some_and(|domains| domains.iter().any(|domain| domain_matches(domain, &host)));
            if !known {
                cookies.push(Cookie {
                    name,
                    value,
                    domain: host,
                    path: "/".into(),
                    expires: None,
                    http_only: false,
                    secure: false,
                    same_site: None,
                });
            }
        }
        cookies
    }
}

fn domain_matches(cookie_domain: &str, host: &str) -> bool {
    let domain = cookie_domain.trim_start_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

struct CookieUpdate {
    cookie: Cookie,
    /// The response expired it: it leaves the jar.
    deleted: bool,
}

/// The cookie's domain as the browser keeps it: `.example` for a `Domain` attribute, the bare
/// host for a host-only cookie.
fn cookie_domain(attribute: Option<&str>, host: &str) -> String {
    match attribute.map(str::trim).filter(|domain| !domain.is_empty()) {
        Some(domain) if domain.starts_with('.') => domain.to_ascii_lowercase(),
        Some(domain) => format!(".{}", domain.to_ascii_lowercase()),
        None => host.to_ascii_lowercase(),
    }
}

/// RFC 6265's default path: the request path up to its last `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(end) => request_path[..end].to_owned(),
    }
}

fn har_cookie(
    cookie: &HarCookie,
    host: &str,
    request_path: &str,
    now_ms: f64,
) -> Option<CookieUpdate> {
    if cookie.name.is_empty() {
        return None;
    }
    let expires = cookie
        .expires
        .as_deref()
        .and_then(parse_time)
        .map(|ms| (ms / 1000.0).floor() as i64);
    Some(CookieUpdate {
        deleted: expires.is_some_and(|expires| (expires as f64) * 1000.0 < now_ms),
        cookie: Cookie {
            name: cookie.name.clone(),
            value: cookie.value.clone(),
            domain: cookie_domain(cookie.domain.as_deref(), host),
            path: cookie
                .path
                .clone()
                .filter(|path| path.starts_with('/'))
                .unwrap_or_else(|| default_path(request_path)),
            expires,
            http_only: cookie.http_only,
            secure: cookie.secure,
            same_site: cookie.same_site.clone().filter(|same| !same.is_empty()),
        },
    })
}

/// One `Set-Cookie` line, for exporters that leave `response.cookies` empty.
fn parse_set_cookie(
    line: &str,
    host: &str,
    request_path: &str,
    now_ms: f64,
) -> Option<CookieUpdate> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = HarCookie {
        name: name.to_owned(),
        value: value.trim().to_owned(),
        path: None,
        domain: None,
        expires: None,
        http_only: false,
        secure: false,
        same_site: None,
    };
    let mut max_age = None;
    for attribute in parts {
        let (key, value) = attribute
            .split_once('=')
            .map_or((attribute.trim(), ""), |(key, value)| {
                (key.trim(), value.trim())
            });
        match key.to_ascii_lowercase().as_str() {
            "domain" => cookie.domain = Some(value.to_owned()),
            "path" => cookie.path = Some(value.to_owned()),
            "expires" => {
                cookie.expires = DateTime::parse_from_rfc2822(value)
                    .ok()
                    .map(|time| time.to_rfc3339());
            }
            "max-age" => max_age = value.parse::<i64>().ok(),
            "httponly" => cookie.http_only = true,
            "secure" => cookie.secure = true,
            "samesite" => cookie.same_site = Some(value.to_owned()),
            _ => {}
        }
    }
    let mut update = har_cookie(&cookie, host, request_path, now_ms)?;
    if let Some(max_age) = max_age {
        // Max-Age wins over Expires (RFC 6265 § 5.3).
        update.cookie.expires = Some((now_ms / 1000.0).floor() as i64 + max_age);
        update.deleted = max_age <= 0;
    }
    Some(update)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::test_support::{demo, firefox};

    const NOW_MS: f64 = 1_741_944_612_000.0;

    #[test]
    fn a_set_cookie_line_keeps_its_attributes() {
        let update = parse_set_cookie(
            "id=42; Domain=shop.test; Path=/api; Max-Age=3600; Secure; SameSite=None",
            "www.shop.test",
            "/x",
            NOW_MS,
        )
        .unwrap();
        assert_eq!(update.cookie.domain, ".shop.test");
        assert_eq!(update.cookie.path, "/api");
        assert_eq!(update.cookie.expires, Some(1_741_944_612 + 3600));
        assert!(update.cookie.secure && !update.deleted);
    }

    #[test]
    fn an_expired_set_cookie_line_deletes_the_cookie_with_the_default_path() {
        let gone = parse_set_cookie(
            "id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "shop.test",
            "/a/b",
            NOW_MS,
        )
        .unwrap();
        assert!(gone.deleted);
        assert_eq!(gone.cookie.path, "/a");
    }

    #[test]
    fn a_cookie_a_response_set_keeps_its_attributes() {
        let capture = demo().capture;
        let session = capture
            .cookies
            .iter()
            .find(|cookie| cookie.name == "shop_session")
            .unwrap();
        assert_eq!(session.domain, "demo-shop.recon.test");
        assert!(session.http_only && session.secure);
        assert_eq!(session.same_site.as_deref(), Some("Lax"));
    }

    #[test]
    fn a_cookie_only_requests_sent_is_in_the_jar() {
        // Set by a script, so only seen on requests.
        let capture = demo().capture;
        let consent = capture
            .cookies
            .iter()
            .find(|cookie| cookie.name == "consent")
            .unwrap();
        assert_eq!(consent.domain, "demo-shop.recon.test");
    }

    #[test]
    fn a_third_party_cookie_keeps_its_domain() {
        let capture = demo().capture;
        assert!(capture
            .cookies
            .iter()
            .any(|cookie| cookie.name == "_mb_uid" && cookie.domain == ".metricsbeam.test"));
    }

    #[test]
    fn set_cookie_headers_are_read_when_the_har_has_no_parsed_cookies() {
        let capture = firefox().capture;
        let sid = capture
            .cookies
            .iter()
            .find(|cookie| cookie.name == "sid")
            .unwrap();
        assert!(sid.http_only && sid.secure);
        assert_eq!(sid.domain, "demo-shop.recon.test");
    }

    #[test]
    fn request_cookies_of_a_firefox_har_are_in_the_jar() {
        let capture = firefox().capture;
        assert!(capture
            .cookies
            .iter()
            .any(|cookie| cookie.name == "consent"));
    }
}
