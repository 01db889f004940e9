//! The starter-code world: a paginating shop on loopback (`fixtures/paginating_site.py`, run by
//! the harness Python), a capture of it holding stale secrets as the browser saw them, and the
//! analysis and validation results a real scan would give it.

use std::process::Stdio;
use std::time::Duration;

use recon_contracts::{
    Body, Capture, CaptureSource, Endpoint, EndpointValidation, Header, IntentRanking, Inventory,
    MinimalRequest, MintedBy, NetworkTier, Pagination, PaginationStyle, ParameterLocation,
    Provenance, RankedEndpoint, ReplayChoice, ReplayProfile, RequestRecord, ResourceType,
    ResponseRecord, Timing, Validation, ValueSource, CAPTURE_FORMAT_VERSION,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Stale values the capture holds; the site accepts none of them.
pub const STALE_SESSION: &str = "stale-session-4b1d9e77a0c2";
pub const STALE_CSRF: &str = "stale-csrf-88e1f0a4";
pub const STALE_BEARER: &str = "stale-bearer-0b5e2c91d7f3a6";

pub struct StarterSite {
    pub base: String,
    pub bearer: String,
    _child: Child,
}

impl StarterSite {
    /// Starts the site; `bearer` is the token it accepts.
    pub async fn start(bearer: &str) -> StarterSite {
        let python = crate::harness_env("RECON_TEST_PYTHON");
        let port = crate::free_port();
        let script = crate::crate_dir().join("fixtures/paginating_site.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .arg(bearer)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {python} {}: {err}", script.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref line))) if line == "ready"),
            "fixture site did not start: {ready:?}"
        );
        StarterSite {
            base: format!("http://127.0.0.1:{port}"),
            bearer: bearer.to_owned(),
            _child: child,
        }
    }
}

fn record(id: &str, method: &str, url: String, headers: Vec<Header>) -> RequestRecord {
    RequestRecord {
        id: id.to_owned(),
        page_id: None,
        method: method.to_owned(),
        url,
        resource_type: ResourceType::Fetch,
        initiator: None,
        request_headers: headers,
        post_data: None,
        response: None,
        timing: Timing::default(),
        redirected_from: None,
        failure: None,
    }
}

fn response(mime: &str, headers: Vec<Header>, body: String) -> Option<ResponseRecord> {
    Some(ResponseRecord {
        status: 200,
        status_text: "OK".to_owned(),
        headers,
        mime_type: mime.to_owned(),
        body: Some(Body::text(body)),
        remote_address: None,
        protocol: None,
        from_cache: false,
        from_service_worker: false,
    })
}

/// The browser's view of the site: the home page, page 1 of the products, one search.
pub fn capture(base: &str) -> Capture {
    let mut home = record(
        "home",
        "GET",
        format!("{base}/"),
        vec![Header::new("Accept", "text/html")],
    );
    home.resource_type = ResourceType::Document;
    home.response = response(
        "text/html",
        vec![Header::new(
            "Set-Cookie",
            format!("sid={STALE_SESSION}; Path=/; HttpOnly"),
        )],
        format!(r#"<html><head><meta name="csrf-token" content="{STALE_CSRF}"></head></html>"#),
    );
    let mut products = record(
        "products-1",
        "GET",
        format!("{base}/api/products?page=1&per_page=3"),
        vec![
            Header::new("Accept", "application/json"),
            Header::new("Authorization", format!("Bearer {STALE_BEARER}")),
            Header::new("X-CSRF-Token", STALE_CSRF),
            Header::new("Cookie", format!("sid={STALE_SESSION}; theme=dark")),
            Header::new("User-Agent", "Mozilla/5.0 Chrome/131.0.0.0"),
        ],
    );
    products.response = response(
        "application/json",
        vec![],
        r#"{"items":[{"id":1},{"id":2},{"id":3}],"meta":{"page":1,"next_page":2}}"#.to_owned(),
    );
    let mut search = record(
        "search-1",
        "POST",
        format!("{base}/api/search"),
        vec![
            Header::new("Content-Type", "application/json"),
            Header::new("Accept", "application/json"),
        ],
    );
    search.post_data = Some(Body::text(r#"{"query":"lamp","cursor":null}"#));
    search.response = response(
        "application/json",
        vec![],
        r#"{"data":[{"id":101},{"id":102}],"next_cursor":"2"}"#.to_owned(),
    );
    Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: format!("{base}/"),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: vec![],
        requests: vec![home, products, search],
        cookies: vec![],
        streams: vec![],
    }
}

/// What analysis, intent ranking and validation say about [`capture`].
pub fn results() -> (Inventory, IntentRanking, Validation) {
    let home_source = |how, field: &str| ValueSource {
        how,
        request_id: "home".to_owned(),
        endpoint_id: Some("ep_home".to_owned()),
        method: "GET".to_owned(),
        url: "/".to_owned(),
        field: Some(field.to_owned()),
    };
    let inventory = Inventory {
        endpoints: vec![
            Endpoint {
                id: "ep_products".to_owned(),
                method: "GET".to_owned(),
                host: "127.0.0.1".to_owned(),
                path_template: "/api/products".to_owned(),
                kind: "json-api".to_owned(),
                bucket: "listing".to_owned(),
                sample_count: 1,
                request_ids: vec!["products-1".to_owned()],
                content_type: Some("application/json".to_owned()),
                pagination: Some(Pagination {
                    style: PaginationStyle::Page,
                    parameters: vec!["page".to_owned()],
                    page_size_parameter: Some("per_page".to_owned()),
                    next_field: Some("meta.next_page".to_owned()),
                }),
                provenance: vec![
                    Provenance {
                        name: "sid".to_owned(),
                        location: ParameterLocation::Cookie,
                        minted_by: Some(home_source(MintedBy::SetCookie, "sid")),
                    },
                    Provenance {
                        name: "X-CSRF-Token".to_owned(),
                        location: ParameterLocation::Header,
                        minted_by: Some(home_source(MintedBy::HtmlMeta, "csrf-token")),
                    },
                    Provenance {
                        name: "Authorization".to_owned(),
                        location: ParameterLocation::Header,
                        minted_by: None,
                    },
                ],
                ..Default::default()
            },
            Endpoint {
                id: "ep_search".to_owned(),
                method: "POST".to_owned(),
                host: "127.0.0.1".to_owned(),
                path_template: "/api/search".to_owned(),
                kind: "json-api".to_owned(),
                bucket: "search".to_owned(),
                sample_count: 1,
                request_ids: vec!["search-1".to_owned()],
                content_type: Some("application/json".to_owned()),
                pagination: Some(Pagination {
                    style: PaginationStyle::Cursor,
                    parameters: vec!["cursor".to_owned()],
                    page_size_parameter: None,
                    next_field: Some("next_cursor".to_owned()),
                }),
                ..Default::default()
            },
        ],
    };
    let ranking = IntentRanking {
        ranked: ["ep_products", "ep_search"]
            .into_iter()
            .map(|id| RankedEndpoint {
                endpoint_id: id.to_owned(),
                score: 1.0,
                reasons: vec!["test".to_owned()],
            })
            .collect(),
        ..Default::default()
    };
    let validation = Validation {
        results: vec![
            EndpointValidation {
                endpoint_id: "ep_products".to_owned(),
                best: Some(ReplayChoice {
                    profile: ReplayProfile::BrowserSession,
                    tier: NetworkTier::Direct,
                }),
                minimal: Some(MinimalRequest {
                    cookies: vec!["sid".to_owned()],
                    headers: vec!["Authorization".to_owned(), "X-CSRF-Token".to_owned()],
                }),
                ..Default::default()
            },
            EndpointValidation {
                endpoint_id: "ep_search".to_owned(),
                best: Some(ReplayChoice {
                    profile: ReplayProfile::Impersonate,
                    tier: NetworkTier::Direct,
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    (inventory, ranking, validation)
}
