//! Small, readable captures made for the tests.

use recon_contracts::{
    Body, Capture, CaptureSource, Cookie, Header, Page, RequestRecord, ResourceType,
    ResponseRecord, Timing, CAPTURE_FORMAT_VERSION,
};

const T0: f64 = 1_764_000_000_000.0;

fn request(
    id: usize,
    method: &str,
    url: &str,
    resource_type: ResourceType,
    mime: &str,
    body: Option<&str>,
) -> RequestRecord {
    RequestRecord {
        id: format!("req-{id}"),
        page_id: Some("page-1".to_owned()),
        method: method.to_owned(),
        url: url.to_owned(),
        resource_type,
        initiator: None,
        request_headers: vec![
            Header::new("Accept", "*/*"),
            Header::new("Cookie", "session=s3cr3t-session; theme=dark"),
        ],
        post_data: None,
        response: Some(ResponseRecord {
            status: 200,
            status_text: "OK".to_owned(),
            headers: vec![
                Header::new("Content-Type", mime),
                Header::new("Set-Cookie", "session=s3cr3t-session; Path=/; HttpOnly"),
            ],
            mime_type: mime.to_owned(),
            body: body.map(Body::text),
            remote_address: Some("127.0.0.1:443".to_owned()),
            protocol: Some("h2".to_owned()),
            from_cache: false,
            from_service_worker: false,
        }),
        timing: Timing {
            started_at_ms: T0 + id as f64 * 10.0,
            duration_ms: Some(42.0),
            wait_ms: Some(30.0),
        },
        redirected_from: None,
        failure: None,
    }
}

/// A shop with a document, assets and a few JSON APIs.
pub fn shop_capture() -> Capture {
    let host = "https://demo-shop.recon.test";
    let mut requests = vec![
        request(
            1,
            "GET",
            &format!("{host}/"),
            ResourceType::Document,
            "text/html",
            Some("<html><body>shop</body></html>"),
        ),
        request(
            2,
            "GET",
            &format!("{host}/static/app.js"),
            ResourceType::Script,
            "application/javascript",
            None,
        ),
        request(
            3,
            "GET",
            &format!("{host}/api/products?page=1"),
            ResourceType::Fetch,
            "application/json",
            Some(r#"{"items":[{"id":1842,"price":19.9}],"next":2}"#),
        ),
        request(
            4,
            "GET",
            &format!("{host}/api/products?page=2"),
            ResourceType::Fetch,
            "application/json",
            Some(r#"{"items":[{"id":1843,"price":24.5}],"next":null}"#),
        ),
        request(
            5,
            "GET",
            &format!("{host}/api/products/1842/reviews"),
            ResourceType::Xhr,
            "application/json",
            Some(r#"{"reviews":[{"stars":5}]}"#),
        ),
        request(
            6,
            "POST",
            "https://collector.analytics.test/collect",
            ResourceType::Ping,
            "text/plain",
            None,
        ),
    ];
    requests[4].request_headers.push(Header::new(
        "Authorization",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
    ));
    Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: format!("{host}/"),
        started_at_ms: T0,
        ended_at_ms: T0 + 30_000.0,
        browser: Some("Chrome/156.0.0.0".to_owned()),
        pages: vec![Page {
            id: "page-1".to_owned(),
            url: format!("{host}/"),
            title: Some("Demo shop".to_owned()),
            started_at_ms: T0,
        }],
        requests,
        cookies: vec![Cookie {
            name: "session".to_owned(),
            value: "s3cr3t-session".to_owned(),
            domain: "demo-shop.recon.test".to_owned(),
            path: "/".to_owned(),
            expires: None,
            http_only: true,
            secure: true,
            same_site: Some("Lax".to_owned()),
        }],
        streams: vec![],
    }
}

/// A capture of roughly `bytes` bytes of JSON: the shop plus many API calls with bodies.
pub fn sized_capture(bytes: usize) -> Capture {
    let mut capture = shop_capture();
    let body = format!(
        r#"{{"items":[{}]}}"#,
        vec![r#"{"id":1,"name":"lamp","price":19.9}"#; 60].join(",")
    );
    let mut id = 100;
    while serde_json::to_vec(&capture)
        .map(|json| json.len())
        .unwrap_or(0)
        < bytes
    {
        for _ in 0..100 {
            id += 1;
            capture.requests.push(request(
                id,
                "GET",
                &format!("https://demo-shop.recon.test/api/items/{id}"),
                ResourceType::Fetch,
                "application/json",
                Some(&body),
            ));
        }
    }
    capture
}
