//! A small shop on 127.0.0.1 with the protections validation must see through: a session
//! cookie set by `Set-Cookie` and an anti-bot token (`datadome`) minted by the page's script,
//! required on the products API together with browser headers; a prices API that blocks
//! "datacenter egress" (every peer but 127.0.0.3, the residential proxy's egress); a reviews
//! API that rate-limits every other request; and a redirect into private address space.
//!
//! [`ProtectedSite::capture`] is what Chrome would have recorded browsing it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use recon_contracts::{
    Body, Capture, CaptureSource, Cookie, Header, Page, RequestRecord, ResourceType,
    ResponseRecord, Timing, CAPTURE_FORMAT_VERSION,
};
use tokio_util::sync::DropGuard;

/// The anti-bot token the page's script writes.
pub const ANTIBOT_COOKIE: &str = "datadome";
pub const ANTIBOT_VALUE: &str = "dd-7f3a91c2e8";
/// The egress address of the residential proxy: the only one the prices API serves.
pub const RESIDENTIAL_EGRESS: [u8; 4] = [127, 0, 0, 3];

pub const CONFIG_JSON: &str =
    r#"{"currency":"EUR","locale":"de-DE","features":["search","reviews"]}"#;
pub const PRODUCTS_JSON: &str = r#"{"products":[{"id":"p-100","name":"Desk lamp","price":24.9},{"id":"p-101","name":"Reading chair","price":189.0}],"page":1,"total":2}"#;
pub const PRICES_JSON: &str = r#"{"prices":[{"sku":"p-100","amount":24.9,"currency":"EUR"},{"sku":"p-101","amount":189.0,"currency":"EUR"}]}"#;
pub const REVIEWS_JSON: &str =
    r#"{"reviews":[{"id":"r-1","product":"p-100","stars":5,"title":"Bright"}],"count":1}"#;

const BLOCK_PAGE: &str = "<html><head><title>Access denied</title></head><body><h1>Access denied</h1><p>Please enable JS and disable any ad blocker. captcha-delivery</p></body></html>";

/// One request the site served.
#[derive(Debug, Clone)]
pub struct Served {
    pub path: String,
    pub peer: SocketAddr,
    pub user_agent: Option<String>,
    pub cookies: Option<String>,
    /// The Host header: the name the client meant, whatever address it reached.
    pub host: Option<String>,
    pub status: u16,
}

pub struct ProtectedSite {
    pub address: SocketAddr,
    served: Arc<Mutex<Vec<Served>>>,
    _server: DropGuard,
}

#[derive(Clone)]
struct SiteState {
    served: Arc<Mutex<Vec<Served>>>,
    reviews: Arc<AtomicU32>,
}

impl ProtectedSite {
    pub async fn start() -> ProtectedSite {
        let served = Arc::new(Mutex::new(Vec::new()));
        let state = SiteState {
            served: served.clone(),
            reviews: Arc::new(AtomicU32::new(0)),
        };
        let app = Router::new()
            .route("/", get(home))
            .route("/api/config", get(config))
            .route("/api/products", get(products))
            .route("/api/prices", get(prices))
            .route("/api/reviews", get(reviews))
            .route("/go/internal", get(redirect_inside))
            .with_state(state);
        let (address, server) = crate::serve_on_loopback(app).await;
        ProtectedSite {
            address,
            served,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Every request served so far.
    pub fn served(&self) -> Vec<Served> {
        self.served.lock().expect("served log").clone()
    }

    /// The capture a browser session on this site produces: the page, then its four API calls.
    pub fn capture(&self) -> Capture {
        let t0 = 1_764_000_000_000.0;
        let browser_headers = |referer: bool, cookies: bool| {
            let mut headers = vec![
                Header::new(":authority", self.address.to_string()),
                Header::new("Accept", "application/json, text/plain, */*"),
                Header::new("Accept-Language", "de-DE,de;q=0.9,en;q=0.8"),
                Header::new("Accept-Encoding", "gzip, deflate, br, zstd"),
                Header::new(
                    "User-Agent",
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                ),
                Header::new("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
                Header::new("sec-ch-ua-platform", "\"Linux\""),
                Header::new("Sec-Fetch-Mode", "cors"),
                Header::new("Sec-Fetch-Site", "same-origin"),
            ];
            if referer {
                headers.push(Header::new("Referer", self.url("/")));
            }
            if cookies {
                headers.push(Header::new(
                    "Cookie",
                    format!("session_id=s-4431; theme=dark; {ANTIBOT_COOKIE}={ANTIBOT_VALUE}"),
                ));
            }
            headers
        };
        let json_request = |index: usize, path: &str, body: &str| RequestRecord {
            id: format!("site-{index}"),
            page_id: Some("page-1".to_owned()),
            method: "GET".to_owned(),
            url: self.url(path),
            resource_type: ResourceType::Fetch,
            initiator: None,
            request_headers: browser_headers(true, true),
            post_data: None,
            response: Some(ResponseRecord {
                status: 200,
                status_text: "OK".to_owned(),
                headers: vec![Header::new("Content-Type", "application/json")],
                mime_type: "application/json".to_owned(),
                body: Some(Body::text(body)),
                remote_address: Some(self.address.to_string()),
                protocol: Some("http/1.1".to_owned()),
                from_cache: false,
                from_service_worker: false,
            }),
            timing: Timing {
                started_at_ms: t0 + index as f64 * 100.0,
                duration_ms: Some(20.0),
                wait_ms: Some(10.0),
            },
            redirected_from: None,
            failure: None,
        };
        let mut document = json_request(0, "/", "");
        document.resource_type = ResourceType::Document;
        document.request_headers = browser_headers(false, false);
        if let Some(response) = document.response.as_mut() {
            response.headers = vec![
                Header::new("Content-Type", "text/html; charset=utf-8"),
                Header::new("Set-Cookie", "session_id=s-4431; Path=/; HttpOnly"),
            ];
            response.mime_type = "text/html".to_owned();
            response.body = Some(Body::text(HOME_HTML));
        }
        Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: CaptureSource::Chrome,
            target_url: self.url("/"),
            started_at_ms: t0,
            ended_at_ms: t0 + 5_000.0,
            browser: Some("Chrome/131.0.6778.85".to_owned()),
            pages: vec![Page {
                id: "page-1".to_owned(),
                url: self.url("/"),
                title: Some("Lamp shop".to_owned()),
                started_at_ms: t0,
            }],
            requests: vec![
                document,
                json_request(1, "/api/config", CONFIG_JSON),
                json_request(2, "/api/products?page=1", PRODUCTS_JSON),
                json_request(3, "/api/prices", PRICES_JSON),
                json_request(4, "/api/reviews", REVIEWS_JSON),
            ],
            cookies: vec![
                Cookie {
                    name: "session_id".to_owned(),
                    value: "s-4431".to_owned(),
                    domain: self.address.ip().to_string(),
                    path: "/".to_owned(),
                    expires: None,
                    http_only: true,
                    secure: false,
                    same_site: None,
                },
                Cookie {
                    name: ANTIBOT_COOKIE.to_owned(),
                    value: ANTIBOT_VALUE.to_owned(),
                    domain: self.address.ip().to_string(),
                    path: "/".to_owned(),
                    expires: None,
                    http_only: false,
                    secure: false,
                    same_site: Some("Lax".to_owned()),
                },
            ],
            streams: Vec::new(),
        }
    }
}

impl ProtectedSite {
    /// [`capture`](Self::capture) as if the site were browsed by the name `name` (which the
    /// test's resolver maps to 127.0.0.1): every URL, authority and cookie domain names it.
    pub fn capture_named(&self, name: &str) -> Capture {
        let address = self.address.to_string();
        let named = format!("{name}:{}", self.address.port());
        let rename = |text: &mut String| *text = text.replace(&address, &named);
        let mut capture = self.capture();
        rename(&mut capture.target_url);
        for page in &mut capture.pages {
            rename(&mut page.url);
        }
        for request in &mut capture.requests {
            rename(&mut request.url);
            for header in &mut request.request_headers {
                rename(&mut header.value);
            }
        }
        for cookie in &mut capture.cookies {
            cookie.domain = name.to_owned();
        }
        capture
    }
}

const HOME_HTML: &str = r#"<!doctype html><html><head><title>Lamp shop</title>
<script>document.cookie = "datadome=dd-7f3a91c2e8; path=/; SameSite=Lax";</script>
</head><body><h1>Lamp shop</h1><div id="app"></div>
<script>fetch('/api/config');fetch('/api/products?page=1');fetch('/api/prices');fetch('/api/reviews');</script>
</body></html>"#;

fn log(state: &SiteState, path: &str, peer: SocketAddr, headers: &HeaderMap, status: u16) {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    state.served.lock().expect("served log").push(Served {
        path: path.to_owned(),
        peer,
        user_agent: text(header::USER_AGENT),
        cookies: text(header::COOKIE),
        host: text(header::HOST),
        status,
    });
}

fn json(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn block(status: StatusCode) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], BLOCK_PAGE).into_response()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn looks_like_a_browser(headers: &HeaderMap) -> bool {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    agent.starts_with("Mozilla/5.0") && headers.contains_key(header::ACCEPT_LANGUAGE)
}

async fn home(
    State(state): State<SiteState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    log(&state, "/", peer, &headers, 200);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::SET_COOKIE, "session_id=s-4431; Path=/; HttpOnly"),
        ],
        Html(HOME_HTML),
    )
        .into_response()
}

async fn config(
    State(state): State<SiteState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    log(&state, "/api/config", peer, &headers, 200);
    let mut response = json(CONFIG_JSON);
    response.headers_mut().insert(
        "x-ratelimit-remaining",
        header::HeaderValue::from_static("599"),
    );
    response
}

/// Browser headers and the script-minted anti-bot cookie, or a block page.
async fn products(
    State(state): State<SiteState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let allowed =
        looks_like_a_browser(&headers) && cookie(&headers, ANTIBOT_COOKIE) == Some(ANTIBOT_VALUE);
    let response = if allowed {
        json(PRODUCTS_JSON)
    } else {
        block(StatusCode::FORBIDDEN)
    };
    log(
        &state,
        "/api/products",
        peer,
        &headers,
        response.status().as_u16(),
    );
    response
}

/// Only the residential egress gets prices; datacenter and direct addresses get a block page.
async fn prices(
    State(state): State<SiteState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let residential = match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.octets() == RESIDENTIAL_EGRESS,
        std::net::IpAddr::V6(_) => false,
    };
    let response = if residential {
        json(PRICES_JSON)
    } else {
        block(StatusCode::FORBIDDEN)
    };
    log(
        &state,
        "/api/prices",
        peer,
        &headers,
        response.status().as_u16(),
    );
    response
}

/// Every odd request is refused with 429 and Retry-After: 1.
async fn reviews(
    State(state): State<SiteState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let count = state.reviews.fetch_add(1, Ordering::SeqCst);
    let response = if count % 2 == 0 {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::RETRY_AFTER, "1"),
                (header::HeaderName::from_static("x-ratelimit-limit"), "1"),
                (
                    header::HeaderName::from_static("x-ratelimit-remaining"),
                    "0",
                ),
            ],
            r#"{"error":"too many requests"}"#,
        )
            .into_response()
    } else {
        json(REVIEWS_JSON)
    };
    log(
        &state,
        "/api/reviews",
        peer,
        &headers,
        response.status().as_u16(),
    );
    response
}

/// An open redirect into private address space.
async fn redirect_inside(
    State(state): State<SiteState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    log(&state, "/go/internal", peer, &headers, 302);
    (
        StatusCode::FOUND,
        [(header::LOCATION, "http://10.0.0.1/admin")],
    )
        .into_response()
}
