//! Synthesis on constructed inputs: rich (validated, paginated, warm-up) and empty.

use recon_contracts::{
    Body, CaptureSource, Endpoint, EndpointValidation, Header, MinimalRequest, MintedBy,
    NetworkTier, Pagination, PaginationStyle, ParameterLocation, Provenance, RankedEndpoint,
    ReplayChoice, ReplayProfile, ResourceType, ResponseRecord, Timing, ValueSource,
    CAPTURE_FORMAT_VERSION,
};

use super::*;

const BEARER: &str = "live-bearer-0123456789abcdef";
const SID: &str = "live-sid-9876543210";
const CSRF: &str = "live-csrf-55555";

fn record(
    id: &str,
    method: &str,
    url: &str,
    headers: Vec<Header>,
    mime: &str,
    body: &str,
) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        page_id: None,
        method: method.into(),
        url: url.into(),
        resource_type: ResourceType::Fetch,
        initiator: None,
        request_headers: headers,
        post_data: None,
        response: Some(ResponseRecord {
            status: 200,
            status_text: "OK".into(),
            headers: vec![Header::new("Content-Type", mime)],
            mime_type: mime.into(),
            body: Some(Body::text(body)),
            remote_address: None,
            protocol: None,
            from_cache: false,
            from_service_worker: false,
        }),
        timing: Timing::default(),
        redirected_from: None,
        failure: None,
    }
}

fn raw_capture() -> Capture {
    let mut home = record(
        "1",
        "GET",
        "https://shop.example/",
        vec![Header::new("Accept", "text/html")],
        "text/html",
        &format!(r#"<meta name="csrf-token" content="{CSRF}">"#),
    );
    if let Some(response) = home.response.as_mut() {
        response
            .headers
            .push(Header::new("Set-Cookie", format!("sid={SID}; Path=/")));
    }
    let products = record(
        "2",
        "GET",
        "https://shop.example/api/products?page=2&per_page=2",
        vec![
            Header::new("Accept", "application/json"),
            Header::new("Authorization", format!("Bearer {BEARER}")),
            Header::new("X-CSRF-Token", CSRF),
            Header::new("Cookie", format!("sid={SID}; theme=dark")),
            Header::new("Accept-Encoding", "gzip, br"),
        ],
        "application/json",
        r#"{"items":[{"id":3},{"id":4}],"meta":{"next_page":3}}"#,
    );
    let mut search = record(
        "3",
        "POST",
        "https://shop.example/api/search",
        vec![Header::new("Content-Type", "application/json")],
        "application/json",
        r#"{"data":[{"id":1}],"next_cursor":"abc"}"#,
    );
    search.post_data = Some(Body::text(r#"{"query":"lamp","cursor":"xyz"}"#));
    Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: "https://shop.example/".into(),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: vec![],
        requests: vec![home, products, search],
        cookies: vec![],
        streams: vec![],
    }
}

fn inventory() -> Inventory {
    Inventory {
        endpoints: vec![
            Endpoint {
                id: "ep_products".into(),
                method: "GET".into(),
                host: "shop.example".into(),
                path_template: "/api/products".into(),
                kind: "json-api".into(),
                bucket: "listing".into(),
                request_ids: vec!["2".into()],
                content_type: Some("application/json".into()),
                pagination: Some(Pagination {
                    style: PaginationStyle::Page,
                    parameters: vec!["page".into()],
                    page_size_parameter: Some("per_page".into()),
                    next_field: Some("meta.next_page".into()),
                }),
                provenance: vec![
                    Provenance {
                        name: "sid".into(),
                        location: ParameterLocation::Cookie,
                        minted_by: Some(ValueSource {
                            how: MintedBy::SetCookie,
                            request_id: "1".into(),
                            endpoint_id: None,
                            method: "GET".into(),
                            url: "https://shop.example/".into(),
                            field: Some("sid".into()),
                        }),
                    },
                    Provenance {
                        name: "X-CSRF-Token".into(),
                        location: ParameterLocation::Header,
                        minted_by: Some(ValueSource {
                            how: MintedBy::HtmlMeta,
                            request_id: "1".into(),
                            endpoint_id: None,
                            method: "GET".into(),
                            url: "https://shop.example/".into(),
                            field: Some("csrf-token".into()),
                        }),
                    },
                ],
                ..Default::default()
            },
            Endpoint {
                id: "ep_search".into(),
                method: "POST".into(),
                host: "shop.example".into(),
                path_template: "/api/search".into(),
                kind: "json-api".into(),
                bucket: "search".into(),
                request_ids: vec!["3".into()],
                pagination: Some(Pagination {
                    style: PaginationStyle::Cursor,
                    parameters: vec!["cursor".into()],
                    page_size_parameter: None,
                    next_field: Some("next_cursor".into()),
                }),
                ..Default::default()
            },
        ],
    }
}

fn ranking() -> IntentRanking {
    IntentRanking {
        ranked: ["ep_products", "ep_search"]
            .into_iter()
            .map(|id| RankedEndpoint {
                endpoint_id: id.into(),
                score: 1.0,
                reasons: vec![],
            })
            .collect(),
        ..Default::default()
    }
}

fn validation() -> Validation {
    Validation {
        results: vec![
            EndpointValidation {
                endpoint_id: "ep_products".into(),
                best: Some(ReplayChoice {
                    profile: ReplayProfile::BrowserSession,
                    tier: NetworkTier::Residential,
                }),
                minimal: Some(MinimalRequest {
                    cookies: vec!["sid".into()],
                    headers: vec!["Authorization".into(), "X-CSRF-Token".into()],
                }),
                rate_limit: Some(recon_contracts::RateLimit {
                    status: 429,
                    retry_after_secs: Some(7),
                    headers: vec!["x-ratelimit-remaining: 0".into()],
                }),
                ..Default::default()
            },
            EndpointValidation {
                endpoint_id: "ep_search".into(),
                best: Some(ReplayChoice {
                    profile: ReplayProfile::Impersonate,
                    tier: NetworkTier::Direct,
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn run() -> Synthesis {
    let scrubbed = recon_scrub::scrub(raw_capture()).capture;
    synthesize(&SynthesisInputs {
        scrubbed: &scrubbed,
        detection: &Detection::default(),
        inventory: &inventory(),
        ranking: &ranking(),
        validation: &validation(),
    })
}

fn code(synthesis: &Synthesis, endpoint: &str, language: &str) -> String {
    synthesis
        .snippets
        .iter()
        .find(|s| s.endpoint_id == endpoint && s.language == language)
        .map(|s| s.code.clone())
        .unwrap_or_else(|| panic!("no {language} for {endpoint}"))
}

#[test]
fn rich_inputs_give_runnable_looking_code_without_secrets() {
    let synthesis = run();
    assert_eq!(synthesis.snippets.len(), 6);
    let all = serde_json::to_string(&synthesis).unwrap();
    for secret in [BEARER, SID, CSRF] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
    let python = code(&synthesis, "ep_products", "python");
    assert!(python.contains("import requests"), "{python}");
    assert!(python.contains("PROXY_ENV = \"RESIDENTIAL_PROXY\""));
    assert!(
        python.contains("REQUIRED = [\"SITE_BEARER_TOKEN\"]"),
        "{python}"
    );
    assert!(python.contains("join(\"Bearer \", env(\"SITE_BEARER_TOKEN\"))"));
    // The cookie comes from the warm-up's Set-Cookie, the CSRF header from the meta tag.
    assert!(python.contains("warm = warm_up(session)"));
    assert!(python
        .contains("tag_value(response.text, \"meta\", \"name\", \"csrf-token\", \"content\")"));
    assert!(
        python.contains("\"X-CSRF-Token\": warm[\"X-CSRF-Token\"]"),
        "{python}"
    );
    assert!(
        !python.contains("\"theme\""),
        "only the minimal cookies are sent"
    );
    assert!(!python.contains("Accept-Encoding"));
    assert!(python.contains("params[\"page\"] = str(page)"));
    assert!(python.contains("if not dig(data, \"meta.next_page\"):"));
    assert!(python.contains("if len(batch) < 2:"));
    assert!(python.contains("page = 1"));

    let search = code(&synthesis, "ep_search", "python");
    assert!(search.contains("from curl_cffi import requests"));
    assert!(search.contains("impersonate=\"chrome\""));
    assert!(
        search.contains("set_path(body, [\"cursor\"], cursor)"),
        "{search}"
    );
    assert!(search.contains("cursor = dig(data, \"next_cursor\")"));

    let curl = code(&synthesis, "ep_products", "curl");
    assert!(curl.contains("--proxy \"$RESIDENTIAL_PROXY\""), "{curl}");
    assert!(
        curl.contains("'Authorization: Bearer '\"${SITE_BEARER_TOKEN}\""),
        "{curl}"
    );
    assert!(curl.contains("--cookie-jar \"$jar\""));
    assert!(curl.contains("page=1"), "{curl}");

    let rust = code(&synthesis, "ep_products", "rust");
    assert!(rust.contains("secret(\"SITE_BEARER_TOKEN\")?"));
    assert!(rust.contains("RESIDENTIAL_PROXY"));

    assert!(synthesis
        .drivers
        .iter()
        .any(|d| d.contains("browser-session × residential")));
    assert!(synthesis.drivers.iter().any(|d| d.contains("curl_cffi")));
    assert!(synthesis
        .notes
        .iter()
        .any(|n| n.contains("HTTP 429, Retry-After 7 s")));
    assert!(synthesis
        .notes
        .iter()
        .any(|n| n.contains("sticky proxy session")));
    assert_eq!(run(), synthesis, "deterministic");
}

#[test]
fn empty_inputs_say_so() {
    let capture = raw_capture();
    let synthesis = synthesize(&SynthesisInputs {
        scrubbed: &capture,
        detection: &Detection::default(),
        inventory: &Inventory::default(),
        ranking: &IntentRanking::default(),
        validation: &Validation::default(),
    });
    assert!(synthesis.snippets.is_empty());
    assert_eq!(synthesis.notes.len(), 1);
}

#[test]
fn unvalidated_endpoints_send_what_was_captured_when_set() {
    let scrubbed = recon_scrub::scrub(raw_capture()).capture;
    let synthesis = synthesize(&SynthesisInputs {
        scrubbed: &scrubbed,
        detection: &Detection::default(),
        inventory: &inventory(),
        ranking: &ranking(),
        validation: &Validation::default(),
    });
    let python = code(&synthesis, "ep_products", "python");
    assert!(python.contains("REQUIRED = []"), "{python}");
    assert!(python.contains("(sent when set)"));
    assert!(
        python.contains("\"theme\": env(\"SITE_COOKIE_THEME\")"),
        "{python}"
    );
    assert!(synthesis
        .drivers
        .iter()
        .any(|d| d.contains("did not replay")));
}

/// The issue's attack: a meta tag name with line breaks, written into a comment of every
/// language (the curl TODO line, the warm-up comments), must not end the comment.
#[test]
fn a_site_name_with_line_breaks_stays_inside_its_comment() {
    let hostile = "x\ntouch /tmp/pwned\n#";
    let mut inventory = inventory();
    for provenance in &mut inventory.endpoints[0].provenance {
        if let Some(source) = provenance.minted_by.as_mut() {
            if source.how == MintedBy::HtmlMeta {
                source.field = Some(hostile.into());
            }
        }
    }
    let scrubbed = recon_scrub::scrub(raw_capture()).capture;
    let synthesis = synthesize(&SynthesisInputs {
        scrubbed: &scrubbed,
        detection: &Detection::default(),
        inventory: &inventory,
        ranking: &ranking(),
        validation: &validation(),
    });
    for language in ["curl", "python", "rust"] {
        let code = code(&synthesis, "ep_products", language);
        assert!(
            code.contains(r"x\u{a}touch /tmp/pwned\u{a}#")
                || code.contains(r#""x\ntouch /tmp/pwned\n#""#),
            "{language}: the name is shown, escaped:\n{code}"
        );
        assert!(
            code.lines()
                .all(|line| !line.trim_start().starts_with("touch")),
            "{language}: a line of the site's runs:\n{code}"
        );
    }
}
