//! Bad input gets a clear 4xx with a JSON error body, and never a half-written scan.

use recon_contracts::{ErrorBody, ScanStatus};
use recon_runtime::codec;
use recon_server::Role;
use recon_tests::{fixtures, TestStack};
use uuid::Uuid;

async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> ErrorBody {
    assert_eq!(response.status(), status, "expected {status} {code}");
    let content_type = response.headers().get("content-type").cloned();
    let body: ErrorBody = response.json().await.expect("JSON error body");
    assert_eq!(body.error.code, code, "{body:?}");
    assert!(!body.error.message.is_empty());
    assert_eq!(content_type.unwrap(), "application/json");
    body
}

fn gzip_bomb() -> Vec<u8> {
    codec::gzip(&vec![b' '; 8 << 20])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let stack = TestStack::start_with(
        &[Role::Api],
        &[
            ("RECON_MAX_CAPTURE_BYTES", "2000000"),
            ("RECON_MAX_CAPTURE_DECODED_BYTES", "4000000"),
        ],
    )
    .await;
    let http = &stack.http;
    let scan_id = stack.create_scan("prices").await.scan_id;
    let capture_url = stack.url(&format!("/scans/{scan_id}/capture"));

    // Authentication.
    expect_error(
        http.get(stack.url(&format!("/scans/{scan_id}")))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let forged = http
        .get(stack.url(&format!("/scans/{scan_id}")))
        .bearer_auth("rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    expect_error(forged, 401, "unauthorized").await;
    let not_bearer = http
        .get(stack.url(&format!("/scans/{scan_id}")))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    expect_error(not_bearer, 401, "unauthorized").await;

    // Another account sees nothing of this scan.
    let other_key = recon_runtime::db::accounts::create_key(&stack.db, "someone-else")
        .await
        .unwrap();
    for path in [
        format!("/scans/{scan_id}"),
        format!("/scans/{scan_id}/events"),
    ] {
        let response = http
            .get(stack.url(&path))
            .bearer_auth(&other_key)
            .send()
            .await
            .unwrap();
        expect_error(response, 404, "not_found").await;
    }
    let response = http
        .post(&capture_url)
        .bearer_auth(&other_key)
        .json(&fixtures::shop_capture())
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "not_found").await;

    // Unknown scans.
    for path in [
        format!("/scans/{}", Uuid::new_v4()),
        "/scans/not-a-uuid".to_owned(),
    ] {
        let response = stack
            .authed(http.get(stack.url(&path)))
            .send()
            .await
            .unwrap();
        expect_error(response, 404, "not_found").await;
    }
    expect_error(
        http.get(stack.url("/r/NoSuchReport")).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        http.get(stack.url("/nowhere")).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    // Creating scans.
    let bad_scans: [(&str, &str); 5] = [
        (r#"{"target_url": "#, "invalid_json"),
        (r#"{"target_url": 5}"#, "invalid_json"),
        (
            r#"{"target_url": "https://a.test", "extra": 1}"#,
            "invalid_json",
        ),
        (r#"{"target_url": "ftp://a.test"}"#, "invalid_target_url"),
        (
            r#"{"target_url": "https://a.test", "starter_template": "../x"}"#,
            "invalid_template",
        ),
    ];
    for (body, code) in bad_scans {
        let response = stack
            .authed(http.post(stack.url("/scans")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_error(response, 400, code).await;
    }
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = stack
        .authed(http.post(stack.url("/scans")))
        .body(nested)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_json").await;

    // Uploading captures.
    let upload = |body: Vec<u8>, encoding: Option<&'static str>| {
        let mut request = stack
            .authed(http.post(&capture_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.send()
    };
    let capture_json = serde_json::to_vec(&fixtures::shop_capture()).unwrap();
    let gzipped = codec::gzip(&capture_json);
    let mut wrong_version = fixtures::shop_capture();
    wrong_version.format_version = 99;
    let bad_uploads: Vec<(Vec<u8>, Option<&'static str>, u16, &str)> = vec![
        (b"not gzip at all".to_vec(), Some("gzip"), 400, "bad_gzip"),
        (
            gzipped[..gzipped.len() / 2].to_vec(),
            Some("gzip"),
            400,
            "bad_gzip",
        ),
        (gzip_bomb(), Some("gzip"), 413, "capture_too_large"),
        (vec![b'x'; 2_500_000], None, 413, "payload_too_large"),
        (
            capture_json.clone(),
            Some("br"),
            415,
            "unsupported_media_type",
        ),
        (b"{\"requests\": []".to_vec(), None, 400, "invalid_json"),
        (
            b"{\"format_version\": \"one\"}".to_vec(),
            None,
            400,
            "invalid_json",
        ),
        (vec![0xff, 0xfe, 0x7b], None, 400, "invalid_json"),
        (
            serde_json::to_vec(&wrong_version).unwrap(),
            None,
            400,
            "invalid_capture",
        ),
    ];
    for (body, encoding, status, code) in bad_uploads {
        expect_error(upload(body, encoding).await.unwrap(), status, code).await;
    }

    // Nothing of the above left a trace.
    let view = stack.scan(scan_id).await;
    assert_eq!(view.status, ScanStatus::Created);
    let capture_file = stack
        .data_dir
        .path()
        .join("blobs")
        .join(recon_contracts::names::capture_key(scan_id));
    assert!(
        !capture_file.exists(),
        "no capture stored for a refused upload"
    );
    assert!(stack.events_page(scan_id, 0).await.events.is_empty());

    // The first good upload is queued; the same upload again (a retry) gets the same answer;
    // a different capture is a conflict.
    let first = upload(gzipped.clone(), Some("gzip")).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: serde_json::Value = first.json().await.unwrap();
    let retry = upload(capture_json.clone(), None).await.unwrap();
    assert_eq!(retry.status(), 202);
    assert_eq!(retry.json::<serde_json::Value>().await.unwrap(), first);
    let mut other = fixtures::shop_capture();
    other.requests.pop();
    expect_error(
        upload(serde_json::to_vec(&other).unwrap(), None)
            .await
            .unwrap(),
        409,
        "capture_already_uploaded",
    )
    .await;
    assert!(capture_file.exists());
    assert_eq!(stack.scan(scan_id).await.status, ScanStatus::Processing);

    // Cursors must be cursors.
    let response = stack
        .authed(http.get(stack.url(&format!("/scans/{scan_id}/events?since=abc"))))
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_cursor").await;

    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_health_and_old_clients() {
    let stack =
        TestStack::start_with(&[Role::Api], &[("RECON_MINIMUM_CLI_VERSION", "0.3.0")]).await;
    let http = reqwest::Client::new();

    let version = stack.get_json("/version").await;
    assert_eq!(version["minimum_supported"], "0.3.0");
    assert_eq!(version["server_version"], recon_contracts::version::VERSION);
    assert!(version["latest"].is_string());

    let old = http
        .get(stack.url("/scans"))
        .header("user-agent", "browser-recon/0.2.7")
        .send()
        .await
        .unwrap();
    let body = expect_error(old, 426, "upgrade_required").await;
    assert!(body.error.message.contains("pipx upgrade browser-recon"));
    let old_version = http
        .get(stack.url("/version"))
        .header("user-agent", "browser-recon/0.2.7")
        .send()
        .await
        .unwrap();
    assert_eq!(
        old_version.status(),
        200,
        "old clients can still learn the versions"
    );

    assert_eq!(
        http.get(stack.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = http.get(stack.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["nats"], "ok");
    assert_eq!(ready["checks"]["blob_store"], "ok");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_five_megabyte_capture_is_accepted_quickly() {
    let stack = TestStack::start_roles(&[Role::Api]).await;
    let capture = fixtures::sized_capture(5 << 20);
    let body = codec::to_gzip_json(&capture).unwrap();
    let mut timings = Vec::new();
    for _ in 0..3 {
        let scan_id = stack.create_scan("prices").await.scan_id;
        let started = std::time::Instant::now();
        let response = stack
            .capture_request(scan_id, body.clone())
            .send()
            .await
            .unwrap();
        timings.push(started.elapsed());
        assert_eq!(response.status(), 202);
    }
    // Reported, not asserted: shared machines are noisy. `cargo xtask bench` measures it.
    eprintln!(
        "5 MB capture (gzip {} KB) accepted in {timings:?}",
        body.len() / 1024
    );
    stack.stop().await;
}
