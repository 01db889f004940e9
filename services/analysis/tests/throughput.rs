//! Analysis throughput on a generated 10,000-request capture (a shop session: listings,
//! details, reviews, GraphQL, assets, analytics, each API call with a JSON body). Prints
//! requests per second; asserts only on the result, never on time (the machine is shared).
//! Run with `cargo test --release -p recon-analysis --test throughput -- --nocapture`.

use std::time::Instant;

use recon_analysis::analyze;
use recon_contracts::{
    Body, Capture, CaptureSource, Detection, Header, RequestRecord, ResourceType, ResponseRecord,
    Timing, CAPTURE_FORMAT_VERSION,
};

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
            Header::new("User-Agent", "Mozilla/5.0 Chrome/131.0.0.0"),
            Header::new(
                "Cookie",
                format!("shop_session=s{}; _abck=0A1B2C~-1~{i}; theme=dark", i % 7),
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
            protocol: Some("h2".to_owned()),
            from_cache: false,
            from_service_worker: false,
        }),
        timing: Timing {
            started_at_ms: 1_764_000_000_000.0 + i as f64,
            duration_ms: Some(20.0),
            wait_ms: Some(10.0),
        },
        redirected_from: None,
        failure: None,
    }
}

fn product(id: usize) -> String {
    format!(
        r#"{{"id":{id},"name":"Lamp {id}","price":{}.5,"currency":"EUR","in_stock":{},"tags":["desk","led"],"brand":{{"id":{},"name":"Lumo"}},"rating":{{"average":4.{},"count":{}}}}}"#,
        id % 90 + 10,
        id % 3 == 0,
        id % 17,
        id % 10,
        id % 300
    )
}

pub fn generated_capture(n: usize) -> Capture {
    let api = "https://api.lampshop.test";
    let www = "https://www.lampshop.test";
    let requests = (0..n)
        .map(|i| match i % 10 {
            0 | 1 => {
                let page = i / 10 % 50 + 1;
                let items: Vec<String> = (0..12).map(|k| product(page * 12 + k)).collect();
                request(i, "GET", format!("{api}/v1/products?page={page}&per_page=12&sort=popular"), ResourceType::Fetch, "application/json", None,
                    Some(format!(r#"{{"items":[{}],"page":{page},"total_pages":50,"links":{{"next":"{api}/v1/products?page={}"}}}}"#, items.join(","), page + 1)))
            }
            2 | 3 => request(i, "GET", format!("{api}/v1/products/{}", 1000 + i % 500), ResourceType::Fetch, "application/json", None, Some(product(1000 + i % 500))),
            4 => request(i, "GET", format!("{api}/v1/products/{}/reviews?cursor=c{}", 1000 + i % 500, i), ResourceType::Xhr, "application/json", None,
                Some(format!(r#"{{"reviews":[{{"rating":5,"title":"Great","author":"A{i}","body":"Bright and warm."}}],"next_cursor":"c{}"}}"#, i + 10))),
            5 => request(i, "POST", format!("{www}/graphql"), ResourceType::Fetch, "application/json",
                Some(format!(r#"{{"operationName":"SearchProducts","variables":{{"query":"lamp {}","first":24}},"query":"query SearchProducts($query: String!) {{ search(query: $query) {{ id }} }}"}}"#, i % 40)),
                Some(format!(r#"{{"data":{{"search":{{"edges":[{}],"pageInfo":{{"endCursor":"e{i}","hasNextPage":true}}}}}}}}"#, (0..6).map(|k| format!(r#"{{"node":{}}}"#, product(k + i % 100))).collect::<Vec<_>>().join(",")))),
            6 => request(i, "GET", format!("{www}/static/chunk-{}.js", i % 60), ResourceType::Script, "application/javascript", None, None),
            7 => request(i, "GET", format!("{www}/img/products/{}.jpg", 1000 + i % 500), ResourceType::Image, "image/jpeg", None, None),
            8 => request(i, "POST", "https://www.google-analytics.com/g/collect?v=2&tid=G-ABC".to_owned(), ResourceType::Ping, "text/plain", Some(format!("en=page_view&ep.id={i}")), None),
            _ => request(i, "GET", format!("{www}/c/{}-lamps", ["desk", "floor", "wall", "ceiling", "garden"][i / 10 % 5]), ResourceType::Document, "text/html", None,
                Some(format!(r#"<html><head><meta name="csrf-token" content="tok{i}"></head><body>{}</body></html>"#, "lamps ".repeat(200)))),
        })
        .collect();
    Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: format!("{www}/"),
        started_at_ms: 1_764_000_000_000.0,
        ended_at_ms: 1_764_000_600_000.0,
        browser: None,
        pages: vec![],
        requests,
        cookies: vec![],
        streams: vec![],
    }
}

#[test]
fn analysis_throughput_on_10000_requests() {
    let capture = generated_capture(10_000);
    let bytes = serde_json::to_vec(&capture).unwrap().len();
    let started = Instant::now();
    let inventory = analyze(&capture, &Detection::default());
    let elapsed = started.elapsed();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "analysis ({profile}): {} requests ({:.1} MB of capture JSON) -> {} endpoints in {:.3} s = {:.0} requests/s",
        capture.requests.len(),
        bytes as f64 / 1e6,
        inventory.endpoints.len(),
        elapsed.as_secs_f64(),
        capture.requests.len() as f64 / elapsed.as_secs_f64()
    );
    let templates: Vec<String> = inventory
        .endpoints
        .iter()
        .map(|e| {
            format!(
                "{} {}{}",
                e.method,
                e.path_template,
                e.graphql_operation
                    .as_deref()
                    .map(|o| format!("#{o}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    println!("{}", templates.join("\n"));
    for expected in [
        "GET /v1/products",
        "GET /v1/products/{product_id}",
        "GET /v1/products/{product_id}/reviews",
        "POST /graphql#SearchProducts",
        "GET /c/{c_slug}",
        "GET /img/products/{product_id}.jpg",
    ] {
        assert!(
            templates.iter().any(|t| t == expected),
            "{expected} missing"
        );
    }
    assert!(
        inventory.endpoints.len() < 100,
        "templating collapsed the ids: {}",
        inventory.endpoints.len()
    );
}
