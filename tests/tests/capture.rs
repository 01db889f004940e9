//! Chrome capture through the real `recon` binary and real headless Chromium
//! (RECON_TEST_CHROME) against the loopback fixture site: the fetch calls with their bodies,
//! the GraphQL POST, the cookies (including the Cookie request header that only Chrome's
//! ExtraInfo events carry), every redirect hop, the image, the EventSource, and the API call
//! a service worker makes behind the response it serves. Then `recon scan --headless` against a
//! TestStack behind a recording proxy: after the capture, only the upload and event requests.

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use recon_contracts::{Capture, ResourceType, StreamKind};
use recon_tests::capture_site::CaptureSite;
use recon_tests::proxy::RecordingProxy;
use recon_tests::TestStack;

async fn recon(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let binary = recon_tests::harness_env("RECON_TEST_CLI");
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHROME_PATH", recon_tests::harness_env("RECON_TEST_CHROME"))
        .stdin(std::process::Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("run recon")
}

fn counter(stderr: &str, name: &str) -> usize {
    stderr
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in the recorder line: {stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chrome_records_fetches_bodies_cookies_redirects_and_service_worker_calls() {
    let site = CaptureSite::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let out = home.path().join("capture.json");
    let started = Instant::now();
    let output = recon(
        home.path(),
        &[],
        &[
            "capture",
            &site.url,
            "--out",
            out.to_str().unwrap(),
            "--headless",
            "--duration",
            "8s",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let capture: Capture = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    capture.validate().unwrap();
    println!(
        "capture of the fixture site: {} requests, {} bytes of JSON, {:.1}s wall time\n{stderr}",
        capture.requests.len(),
        std::fs::metadata(&out).unwrap().len(),
        started.elapsed().as_secs_f64()
    );
    println!("site served: {:?}", site.served());

    let find = |path: &str| {
        capture
            .requests
            .iter()
            .find(|request| request.url.ends_with(path))
            .unwrap_or_else(|| {
                panic!(
                    "no request for {path}; captured: {:?}",
                    capture.requests.iter().map(|r| &r.url).collect::<Vec<_>>()
                )
            })
    };
    let text_body = |path: &str| {
        find(path)
            .response
            .as_ref()
            .and_then(|response| response.body.as_ref())
            .and_then(|body| body.as_text())
            .unwrap_or_else(|| panic!("no text body for {path}"))
            .to_owned()
    };

    // The document, with its Set-Cookie as sent on the wire.
    let page = capture
        .requests
        .iter()
        .find(|request| request.resource_type == ResourceType::Document)
        .expect("the page itself");
    let page_response = page.response.as_ref().unwrap();
    assert_eq!(page_response.status, 200);
    assert!(page_response
        .header("set-cookie")
        .is_some_and(|value| value.contains("srv_session=srv123")));
    assert!(page_response
        .body
        .as_ref()
        .unwrap()
        .as_text()
        .unwrap()
        .contains("Lamp shop"));
    assert_eq!(capture.pages.len(), 1, "{:?}", capture.pages);
    assert_eq!(page.page_id.as_deref(), Some(capture.pages[0].id.as_str()));

    // fetch() of a JSON API: body, and the Cookie header Chrome adds late (ExtraInfo).
    let products = find("/api/products?page=1");
    assert_eq!(products.resource_type, ResourceType::Fetch);
    assert!(text_body("/api/products?page=1").contains("Desk lamp"));
    let cookie = products.request_header("cookie").unwrap_or_else(|| {
        panic!(
            "no Cookie header on the API call: {:?}",
            products.request_headers
        )
    });
    assert!(cookie.contains("srv_session=srv123"), "{cookie}");
    assert!(cookie.contains("js_pref=dark"), "{cookie}");
    assert!(products
        .initiator
        .as_ref()
        .is_some_and(|initiator| initiator.kind == "script"));

    // The GraphQL POST: its body and its answer.
    let graphql = find("/graphql");
    assert_eq!(graphql.method, "POST");
    let post = graphql.post_data.as_ref().unwrap().as_text().unwrap();
    assert!(
        post.contains("\"operationName\":\"SearchProducts\""),
        "{post}"
    );
    assert!(text_body("/graphql").contains("\"operation\":\"SearchProducts\""));

    // Every redirect hop, chained.
    let start = find("/redirect/start");
    let middle = find("/redirect/middle");
    let last = find("/api/final");
    assert_eq!(start.response.as_ref().unwrap().status, 302);
    assert_eq!(middle.response.as_ref().unwrap().status, 301);
    assert_eq!(middle.redirected_from.as_deref(), Some(start.id.as_str()));
    assert_eq!(last.redirected_from.as_deref(), Some(middle.id.as_str()));
    assert_eq!(
        start.response.as_ref().unwrap().header("location"),
        Some("/redirect/middle")
    );
    assert!(text_body("/api/final").contains("\"final\":true"));

    // The image is recorded, its body is not kept.
    let logo = find("/logo.png");
    assert_eq!(logo.resource_type, ResourceType::Image);
    assert!(logo.response.as_ref().unwrap().body.is_none());

    // The EventSource, summarised.
    let events = capture
        .streams
        .iter()
        .find(|stream| stream.kind == StreamKind::EventSource)
        .expect("the EventSource stream");
    assert_eq!(events.messages_received, 2, "{events:?}");
    assert!(events.samples[0].contains("tick"));

    // The service worker answered /sw-api/items; the API call it made is in the capture too.
    let served = find("/sw-api/items");
    assert!(served.response.as_ref().unwrap().from_service_worker);
    assert!(text_body("/sw-api/items").contains("Shade"));
    let behind = find("/api/sw-backend?via=service-worker");
    assert_eq!(behind.response.as_ref().unwrap().status, 200);
    assert!(!behind.response.as_ref().unwrap().from_service_worker);
    assert_eq!(
        capture
            .requests
            .iter()
            .filter(|request| request.url.contains("/api/sw-backend"))
            .count(),
        1,
        "the worker's call is recorded once"
    );
    assert!(counter(&stderr, "service_worker_requests") >= 1);

    // The cookie jar at the end: set by the server, by JS and by an API response.
    for name in ["srv_session", "js_pref", "api_seen"] {
        assert!(
            capture.cookies.iter().any(|cookie| cookie.name == name),
            "cookie {name} missing: {:?}",
            capture.cookies
        );
    }
    assert!(capture
        .cookies
        .iter()
        .any(|cookie| cookie.name == "srv_session" && cookie.http_only));

    // The ExtraInfo events the raw DevTools connection delivered (chromiumoxide's own typed
    // stream drops most of them on this Chrome).
    let request_extra = counter(&stderr, "request_extra_info");
    let response_extra = counter(&stderr, "response_extra_info");
    println!("ExtraInfo events: {request_extra} requestWillBeSentExtraInfo, {response_extra} responseReceivedExtraInfo");
    let network_requests = capture
        .requests
        .iter()
        .filter(|request| {
            request
                .response
                .as_ref()
                .is_some_and(|r| !r.from_service_worker && !r.from_cache)
        })
        .count();
    assert!(
        response_extra >= network_requests - 1,
        "{response_extra} response ExtraInfo events for {network_requests} network responses"
    );
    assert!(request_extra >= 6, "{request_extra}");
    assert!(capture
        .browser
        .as_deref()
        .is_some_and(|b| b.contains("Chrome")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrome_not_found_says_how_to_install_it() {
    let home = tempfile::TempDir::new().unwrap();
    let missing = home.path().join("no-chrome-here");
    let binary = recon_tests::harness_env("RECON_TEST_CLI");
    let output = tokio::process::Command::new(binary)
        .args(["capture", "http://127.0.0.1:9/", "--headless", "--out"])
        .arg(home.path().join("capture.json"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .env("CHROME_PATH", &missing)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CHROME_PATH"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    if std::path::Path::new("/usr/bin/chromium").exists() {
        // Found in its Debian place even without PATH: the install hint cannot show here.
        return;
    }
    let output = tokio::process::Command::new(recon_tests::harness_env("RECON_TEST_CLI"))
        .args(["capture", "http://127.0.0.1:9/", "--headless", "--out"])
        .arg(home.path().join("capture.json"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("apt-get install chromium"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recon_scan_headless_uploads_the_capture_and_then_only_follows_events() {
    let site = CaptureSite::start().await;
    let site_port = url::Url::parse(&site.url)
        .ok()
        .and_then(|url| url.port())
        .expect("the site's port")
        .to_string();
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            ("RECON_VALIDATION_ALLOWED_PORTS", &site_port),
        ],
    )
    .await;
    let proxy = RecordingProxy::start(&stack.api, None).await;
    let home = tempfile::TempDir::new().unwrap();
    let output = recon(
        home.path(),
        &[("RECON_SERVER", &proxy.url), ("RECON_API_KEY", &stack.key)],
        &[
            "scan",
            &site.url,
            "--headless",
            "--duration",
            "6s",
            "--intent",
            "lamp prices",
            "--no-progress",
            "--json",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(result["status"], "complete");
    let scan_id = result["scan_id"].as_str().unwrap().to_owned();
    assert!(stderr.contains("captured: "), "{stderr}");
    assert!(stderr.contains("API calls"), "{stderr}");

    // What the server saw, in order.
    let requests = proxy.requests();
    println!("requests at the server: {requests:#?}");
    let upload = format!("POST /scans/{scan_id}/capture");
    let at = requests
        .iter()
        .position(|line| *line == upload)
        .expect("the upload");
    for line in &requests[..at] {
        assert!(
            line == "POST /scans" || line == "GET /version",
            "before the capture only the scan and the version check: {line}"
        );
    }
    for line in &requests[at + 1..] {
        let events = line.starts_with(&format!("GET /scans/{scan_id}/events?since="))
            || line.starts_with(&format!("GET /scans/{scan_id}/ws?since="));
        assert!(events, "after the capture only events: {line}");
    }
    assert_eq!(requests.iter().filter(|line| **line == upload).count(), 1);

    // The uploaded capture went through the pipeline: its API calls are in the report.
    let report = stack
        .get_json(&format!("{}.json", result["report_url"].as_str().unwrap()))
        .await;
    let endpoints = report["endpoints"].to_string();
    assert!(endpoints.contains("/api/products"), "{endpoints}");
    assert!(endpoints.contains("/graphql"), "{endpoints}");
    stack.stop().await;
}
