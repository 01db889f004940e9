//! The lamp shop: a generated shop session of any size (listings, details, reviews, GraphQL,
//! assets, analytics, each API call with a JSON body) and a loopback site that answers the same
//! requests with the same shapes, optionally slowed down, so the whole pipeline, validation
//! included, can run on it. The benchmarks and the large-capture tests share it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use recon_contracts::{
    Body, Capture, CaptureSource, Header, RequestRecord, ResourceType, ResponseRecord, Timing,
    CAPTURE_FORMAT_VERSION,
};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

const STARTED_AT_MS: f64 = 1_764_000_000_000.0;
const TOTAL_PAGES: usize = 50;

/// A capture of `requests` requests against `base` (e.g. `http://127.0.0.1:4000`), with
/// `per_page` products per listing response (the knob that sets the size).
pub fn capture(base: &str, requests: usize, per_page: usize) -> Capture {
    let requests = (0..requests)
        .map(|i| generated_request(base, i, per_page))
        .collect();
    Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: format!("{base}/"),
        started_at_ms: STARTED_AT_MS,
        ended_at_ms: STARTED_AT_MS + 600_000.0,
        browser: None,
        pages: vec![],
        requests,
        cookies: vec![],
        streams: vec![],
    }
}

/// A capture of `requests` requests whose JSON is about `bytes` long: the listing size is
/// solved from two small samples, since size grows linearly with it.
pub fn capture_of_size(base: &str, requests: usize, bytes: usize) -> Capture {
    const SAMPLE: usize = 100;
    let size = |per_page| {
        serde_json::to_vec(&capture(base, SAMPLE, per_page))
            .map(|json| json.len())
            .unwrap_or(0) as f64
    };
    let (one, eleven) = (size(1), size(11));
    let per_product = (eleven - one) / 10.0;
    let wanted = bytes as f64 * SAMPLE as f64 / requests.max(1) as f64;
    let per_page = ((wanted - one) / per_product + 1.0)
        .round()
        .clamp(1.0, 2_000.0) as usize;
    capture(base, requests, per_page)
}

fn generated_request(base: &str, i: usize, per_page: usize) -> RequestRecord {
    match i % 10 {
        0 | 1 => {
            let page = i / 10 % TOTAL_PAGES + 1;
            let body = serde_json::to_string(&listing(base, page, per_page)).unwrap_or_default();
            request(
                i,
                "GET",
                format!("{base}/v1/products?page={page}&per_page={per_page}&sort=popular"),
                ResourceType::Fetch,
                "application/json",
                None,
                Some(body),
            )
        }
        2 | 3 => {
            let id = 1000 + i % 500;
            request(
                i,
                "GET",
                format!("{base}/v1/products/{id}"),
                ResourceType::Fetch,
                "application/json",
                None,
                Some(product(id).to_string()),
            )
        }
        4 => {
            let id = 1000 + i % 500;
            request(
                i,
                "GET",
                format!("{base}/v1/products/{id}/reviews?cursor=c{i}"),
                ResourceType::Xhr,
                "application/json",
                None,
                Some(reviews(&format!("c{i}")).to_string()),
            )
        }
        5 => {
            let query = format!("lamp {}", i % 40);
            request(
                i,
                "POST",
                format!("{base}/graphql"),
                ResourceType::Fetch,
                "application/json",
                Some(search_request(&query).to_string()),
                Some(search_response(i % 100, &format!("e{i}")).to_string()),
            )
        }
        6 => request(
            i,
            "GET",
            format!("{base}/static/chunk-{}.js", i % 60),
            ResourceType::Script,
            "application/javascript",
            None,
            None,
        ),
        7 => request(
            i,
            "GET",
            format!("{base}/img/products/{}.jpg", 1000 + i % 500),
            ResourceType::Image,
            "image/jpeg",
            None,
            None,
        ),
        8 => request(
            i,
            "POST",
            "https://www.google-analytics.com/g/collect?v=2&tid=G-ABC".to_owned(),
            ResourceType::Ping,
            "text/plain",
            Some(format!("en=page_view&ep.id={i}")),
            None,
        ),
        _ => {
            let category = CATEGORIES[i / 10 % CATEGORIES.len()];
            request(
                i,
                "GET",
                format!("{base}/c/{category}-lamps"),
                ResourceType::Document,
                "text/html",
                None,
                Some(category_page(&format!("tok{i}"))),
            )
        }
    }
}

const CATEGORIES: [&str; 5] = ["desk", "floor", "wall", "ceiling", "garden"];

fn request(
    i: usize,
    method: &str,
    url: String,
    resource_type: ResourceType,
    mime: &str,
    post: Option<String>,
    body: Option<String>,
) -> RequestRecord {
    RequestRecord {
        id: format!("r{i}"),
        page_id: None,
        method: method.to_owned(),
        url,
        resource_type,
        initiator: None,
        request_headers: vec![
            Header::new("Accept", "application/json"),
            Header::new(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            ),
            Header::new(
                "Cookie",
                format!("shop_session=s{}; theme=dark", i % 7),
            ),
            Header::new("x-request-id", format!("req-{i:08}")),
        ],
        post_data: post.map(Body::text),
        response: Some(ResponseRecord {
            status: 200,
            status_text: "OK".to_owned(),
            headers: vec![
                Header::new("content-type", mime),
                Header::new("cache-control", "no-store"),
            ],
            mime_type: mime.to_owned(),
            body: body.map(Body::text),
            remote_address: None,
            protocol: Some("http/1.1".to_owned()),
            from_cache: false,
            from_service_worker: false,
        }),
        timing: Timing {
            started_at_ms: STARTED_AT_MS + i as f64 * 10.0,
            duration_ms: Some(20.0),
            wait_ms: Some(10.0),
        },
        redirected_from: None,
        failure: None,
    }
}

fn product(id: usize) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name": format!("Lamp {id}"),
        "price": (id % 90 + 10) as f64 + 0.5,
        "currency": "EUR",
        "in_stock": id % 3 == 0,
        "tags": ["desk", "led"],
        "brand": {"id": id % 17, "name": "Lumo"},
        "rating": {"average": 4.0 + (id % 10) as f64 / 10.0, "count": id % 300},
    })
}

fn listing(base: &str, page: usize, per_page: usize) -> serde_json::Value {
    let items: Vec<serde_json::Value> = (0..per_page)
        .map(|k| product(page * per_page + k))
        .collect();
    serde_json::json!({
        "items": items,
        "page": page,
        "total_pages": TOTAL_PAGES,
        "links": {"next": format!("{base}/v1/products?page={}", page + 1)},
    })
}

fn reviews(cursor: &str) -> serde_json::Value {
    serde_json::json!({
        "reviews": [{"rating": 5, "title": "Great", "author": format!("A{cursor}"), "body": "Bright and warm."}],
        "next_cursor": format!("{cursor}0"),
    })
}

fn search_request(query: &str) -> serde_json::Value {
    serde_json::json!({
        "operationName": "SearchProducts",
        "variables": {"query": query, "first": 24},
        "query": "query SearchProducts($query: String!) { search(query: $query) { id } }",
    })
}

fn search_response(offset: usize, cursor: &str) -> serde_json::Value {
    let edges: Vec<serde_json::Value> = (0..6)
        .map(|k| serde_json::json!({"node": product(k + offset)}))
        .collect();
    serde_json::json!({
        "data": {"search": {"edges": edges, "pageInfo": {"endCursor": cursor, "hasNextPage": true}}},
    })
}

fn category_page(token: &str) -> String {
    format!(
        r#"<html><head><meta name="csrf-token" content="{token}"></head><body>{}</body></html>"#,
        "lamps ".repeat(200)
    )
}

/// The shop itself on 127.0.0.1, answering every request of [`capture`] after `delay`.
pub struct LampShop {
    pub address: SocketAddr,
    shutdown: CancellationToken,
    served: Arc<AtomicUsize>,
}

#[derive(Deserialize)]
struct ListingQuery {
    page: Option<usize>,
    per_page: Option<usize>,
}

#[derive(Deserialize)]
struct ReviewsQuery {
    cursor: Option<String>,
}

impl LampShop {
    pub async fn start(delay: Duration) -> LampShop {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the lamp shop");
        let address = listener.local_addr().expect("lamp shop address");
        let base = format!("http://{address}");
        let served = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&served);
        let app = Router::new()
            .route(
                "/v1/products",
                get(move |Query(query): Query<ListingQuery>| {
                    let base = base.clone();
                    async move {
                        Json(listing(
                            &base,
                            query.page.unwrap_or(1),
                            query.per_page.unwrap_or(24).min(2_000),
                        ))
                    }
                }),
            )
            .route(
                "/v1/products/{id}",
                get(|Path(id): Path<usize>| async move { Json(product(id)) }),
            )
            .route(
                "/v1/products/{id}/reviews",
                get(|Query(query): Query<ReviewsQuery>| async move {
                    Json(reviews(query.cursor.as_deref().unwrap_or("c0")))
                }),
            )
            .route(
                "/graphql",
                post(|| async { Json(search_response(0, "e0")) }),
            )
            .route(
                "/c/{category}",
                get(|| async { axum::response::Html(category_page("tok")) }),
            )
            .fallback(|| async { ([("content-type", "application/javascript")], "//") })
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        next.run(request).await.into_response()
                    }
                },
            ));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        LampShop {
            address,
            shutdown,
            served,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Requests the shop has answered (or is answering) so far.
    pub fn requests_served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// The settings that let validation replay against this shop on loopback.
    pub fn replay_settings(&self) -> [(&'static str, String); 2] {
        [
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1".to_owned()),
            (
                "RECON_VALIDATION_ALLOWED_PORTS",
                self.address.port().to_string(),
            ),
        ]
    }

    /// A stack running every role, validation replaying against this shop.
    pub async fn stack(&self) -> crate::TestStack {
        let settings = self.replay_settings();
        let overrides: Vec<(&str, &str)> = settings
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let roles = recon_server::parse_targets("all").expect("the `all` target");
        crate::TestStack::start_with(&roles, &overrides).await
    }
}

impl Drop for LampShop {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
