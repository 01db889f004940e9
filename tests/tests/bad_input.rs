//! The API bad-input suite: malformed, hostile and slow requests each get a clear 4xx with a
//! JSON error body (or, where HTTP allows no answer, a closed connection), nothing is half
//! written, and the server stays healthy: a good scan afterwards goes through every stage.
//! Each hostile capture (small on the wire, huge once parsed) has its own test: refused while
//! decoding with the limit it crossed named in the error body.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use recon_contracts::{
    Body, Capture, ErrorBody, Header, Limit, ScanStatus, StreamKind, StreamSummary,
};
use recon_runtime::codec;
use recon_tests::{fixtures, TestStack};
use reqwest::header::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// Generous bound for "the server closed the connection eventually"; not a timing assertion.
const CLOSE_BOUND: Duration = Duration::from_secs(30);
const SCAN_TIMEOUT: Duration = Duration::from_secs(90);

/// Asserts a 4xx with the JSON error shape and, when given, its code; returns the body.
async fn expect_error(
    response: reqwest::Response,
    status: u16,
    code: Option<&str>,
    case: &str,
) -> ErrorBody {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "{case}: body {text}");
    assert!(
        content_type.starts_with("application/json"),
        "{case}: content-type {content_type:?}, body {text}"
    );
    let body: ErrorBody =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{case}: {err}: {text}"));
    if let Some(code) = code {
        assert_eq!(body.error.code, code, "{case}: {text}");
    }
    assert!(!body.error.message.is_empty(), "{case}");
    eprintln!(
        "{case}: {actual} {} ({})",
        body.error.code, body.error.message
    );
    body
}

/// What a raw exchange on one TCP connection came to.
#[derive(Debug)]
struct RawOutcome {
    /// The status of the first response, if one arrived.
    status: Option<u16>,
    /// Everything read (headers and body), lossily decoded.
    text: String,
    /// The server closed (or reset) the connection within `CLOSE_BOUND`.
    closed: bool,
    elapsed: Duration,
}

impl RawOutcome {
    fn json_error(&self) -> ErrorBody {
        let body = self
            .text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {}", self.text))
    }
}

/// Writes `head`, then each of `trickle` after `pause`, while reading whatever comes back
/// until the server closes the connection (or `CLOSE_BOUND` passes). Write errors are expected:
/// the server may close while the client is still sending.
async fn raw_exchange(
    address: SocketAddr,
    head: Vec<u8>,
    trickle: Vec<Vec<u8>>,
    pause: Duration,
) -> RawOutcome {
    let stream = TcpStream::connect(address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        if writer.write_all(&head).await.is_err() {
            return;
        }
        for piece in trickle {
            tokio::time::sleep(pause).await;
            if writer.write_all(&piece).await.is_err() || writer.flush().await.is_err() {
                return;
            }
        }
        // Keep the write side open: a half-close would let the server see EOF early.
        std::future::pending::<()>().await;
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(CLOSE_BOUND, async {
        let mut buffer = [0u8; 8192];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await
    .is_ok();
    let elapsed = started.elapsed();
    sender.abort();
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    RawOutcome {
        status,
        text,
        closed,
        elapsed,
    }
}

/// Row counts and a fingerprint of every scan row and stored blob: equal before and after the
/// barrage means nothing was written, half or whole.
#[derive(Debug, PartialEq)]
struct Snapshot {
    scans: i64,
    events: i64,
    stage_results: i64,
    api_keys: i64,
    scan_rows: String,
    blobs: Vec<(String, u64)>,
}

async fn snapshot(stack: &TestStack) -> Snapshot {
    let count = |table: &'static str| {
        let db = stack.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .expect("count")
        }
    };
    let scan_rows: Option<String> = sqlx::query_scalar(
        "SELECT string_agg(id::text || ' ' || status || ' ' || coalesce(encode(capture_sha256, 'hex'), '-') \
         || ' ' || coalesce(error, '-') || ' ' || updated_at::text, E'\\n' ORDER BY id) FROM scans",
    )
    .fetch_one(&stack.db)
    .await
    .expect("scan rows");
    let mut blobs = Vec::new();
    list_files(&stack.data_dir.path().join("blobs"), &mut blobs);
    blobs.sort();
    Snapshot {
        scans: count("scans").await,
        events: count("scan_events").await,
        stage_results: count("stage_results").await,
        api_keys: count("api_keys").await,
        scan_rows: scan_rows.unwrap_or_default(),
        blobs,
    }
}

fn list_files(dir: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            list_files(&path, out);
        } else if let Ok(meta) = entry.metadata() {
            out.push((path.display().to_string(), meta.len()));
        }
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Every kind of bad request against a stack running every role; then the server must still be
/// healthy and a good scan must complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_barrage_of_bad_requests_gets_clear_errors_writes_nothing_and_leaves_the_server_healthy()
{
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").expect("all"),
        &[
            ("RECON_MAX_CAPTURE_BYTES", "2000000"),
            ("RECON_MAX_CAPTURE_DECODED_BYTES", "4000000"),
            ("RECON_HEADER_READ_TIMEOUT_SECS", "2"),
            ("RECON_BODY_IDLE_TIMEOUT_SECS", "2"),
            ("RECON_BODY_TIMEOUT_SECS", "4"),
            ("RECON_MAX_HEADER_BYTES", "16384"),
        ],
    )
    .await;
    let http = &stack.http;
    let address: SocketAddr = stack
        .api
        .trim_start_matches("http://")
        .parse()
        .expect("api address");

    // The world the barrage aims at: a fresh scan, a completed one, an errored one, and a
    // second account.
    let fresh = stack.create_scan("prices").await.scan_id;
    let completed = stack.run_scan(&fixtures::shop_capture()).await;
    let finished = stack.wait_for_terminal(completed, SCAN_TIMEOUT).await;
    assert_eq!(
        stack.scan(completed).await.status,
        ScanStatus::Complete,
        "{finished:?}"
    );
    let errored = stack.create_scan("prices").await.scan_id;
    sqlx::query("UPDATE scans SET status = 'errored', error = 'a stage failed' WHERE id = $1")
        .bind(errored)
        .execute(&stack.db)
        .await
        .expect("mark errored");
    let other_key = recon_runtime::db::accounts::create_key(&stack.db, "someone-else")
        .await
        .expect("other key");
    let before = snapshot(&stack).await;

    let capture_json = serde_json::to_vec(&fixtures::shop_capture()).expect("capture json");
    let mut different = fixtures::shop_capture();
    different.requests.pop();
    let different_json = serde_json::to_vec(&different).expect("capture json");
    let fresh_capture = stack.url(&format!("/scans/{fresh}/capture"));
    let post_scan = |body: Vec<u8>| {
        stack
            .authed(http.post(stack.url("/scans")))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let upload = |url: String, body: Vec<u8>, gzip: bool| {
        let mut request = stack
            .authed(http.post(url))
            .header("content-type", "application/json")
            .body(body);
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
        request.send()
    };

    // Deeply nested JSON: 100k brackets, bare, inside a field, gzipped, and in the legacy body.
    // POST /scans takes at most 64 KB, so 30k brackets there; 100k elsewhere.
    let deep = nested(100_000);
    let deep_scan = nested(30_000);
    expect_error(
        post_scan(deep_scan.clone().into_bytes()).await.unwrap(),
        400,
        Some("invalid_json"),
        "POST /scans 30k [",
    )
    .await;
    let deep_field = format!(r#"{{"target_url": {deep_scan}}}"#);
    expect_error(
        post_scan(deep_field.into_bytes()).await.unwrap(),
        400,
        Some("invalid_json"),
        "POST /scans target_url 30k [",
    )
    .await;
    let deep_objects = format!(
        r#"{{"format_version": 1, "requests": [{}1{}]}}"#,
        r#"{"a":"#.repeat(100_000),
        "}".repeat(100_000)
    );
    expect_error(
        upload(fresh_capture.clone(), deep.clone().into_bytes(), false)
            .await
            .unwrap(),
        400,
        Some("invalid_json"),
        "capture 100k [",
    )
    .await;
    expect_error(
        upload(
            fresh_capture.clone(),
            codec::gzip(deep_objects.as_bytes()),
            true,
        )
        .await
        .unwrap(),
        400,
        Some("capture_too_deep"),
        "capture gzip 100k nested objects",
    )
    .await;
    expect_error(
        upload(
            stack.url(&format!("/scans/{fresh}/complete")),
            deep.clone().into_bytes(),
            false,
        )
        .await
        .unwrap(),
        400,
        Some("invalid_json"),
        "legacy complete 100k [",
    )
    .await;

    // Wrong JSON types and values.
    let wrong_scans: [&str; 8] = [
        "[]",
        "\"https://a.test\"",
        "null",
        r#"{"target_url": null}"#,
        r#"{"target_url": ["https://a.test"]}"#,
        r#"{"target_url": "https://a.test", "intent_text": 5}"#,
        r#"{"target_url": "https://a.test", "starter_template": {}}"#,
        r#"{"target_url": "https://a.test", "intent_text": "\ud800"}"#,
    ];
    for body in wrong_scans {
        expect_error(
            post_scan(body.as_bytes().to_vec()).await.unwrap(),
            400,
            Some("invalid_json"),
            &format!("POST /scans {body}"),
        )
        .await;
    }
    let wrong_captures: [&str; 6] = [
        "[]",
        "null",
        r#"{"format_version": 1, "requests": {}}"#,
        r#"{"format_version": -1, "requests": []}"#,
        r#"{"format_version": 1e999, "requests": []}"#,
        r#"{"format_version": 1, "requests": [{"method": 7}]}"#,
    ];
    for body in wrong_captures {
        let response = upload(fresh_capture.clone(), body.as_bytes().to_vec(), false)
            .await
            .unwrap();
        expect_error(response, 400, None, &format!("capture {body}")).await;
    }

    // Invalid UTF-8: in a JSON string, in a gzipped capture, in header values, in the path
    // (percent-encoded and raw) and in the query.
    let mut bad_utf8 = br#"{"target_url": "https://a.test/"#.to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
    expect_error(
        post_scan(bad_utf8.clone()).await.unwrap(),
        400,
        Some("invalid_json"),
        "POST /scans invalid UTF-8",
    )
    .await;
    let mut capture_bad_utf8 = capture_json.clone();
    let position = capture_bad_utf8
        .iter()
        .position(|&byte| byte == b'/')
        .unwrap_or(10);
    capture_bad_utf8[position] = 0xc3;
    expect_error(
        upload(fresh_capture.clone(), codec::gzip(&capture_bad_utf8), true)
            .await
            .unwrap(),
        400,
        Some("invalid_json"),
        "capture gzip invalid UTF-8",
    )
    .await;
    let mut bad_key = b"Bearer rec_live_".to_vec();
    bad_key.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    let response = http
        .get(stack.url(&format!("/scans/{fresh}")))
        .header(
            "authorization",
            HeaderValue::from_bytes(&bad_key).expect("obs-text header"),
        )
        .send()
        .await
        .unwrap();
    expect_error(response, 401, Some("unauthorized"), "invalid UTF-8 API key").await;
    let response = stack
        .authed(http.post(&fresh_capture))
        .header(
            "content-encoding",
            HeaderValue::from_bytes(&[0x67, 0xff, 0x7a]).expect("obs-text header"),
        )
        .body(capture_json.clone())
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        415,
        Some("unsupported_media_type"),
        "invalid UTF-8 Content-Encoding",
    )
    .await;
    let response = stack
        .authed(http.get(stack.url(&format!("/scans/{fresh}"))))
        .header(
            "user-agent",
            HeaderValue::from_bytes(&[0x62, 0xff, 0x2f, 0x31]).expect("obs-text header"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "an undecodable User-Agent is ignored, not fatal"
    );
    for path in ["/scans/%FF%FE", "/scans/%C3%28/events", "/r/%FF"] {
        let response = stack
            .authed(http.get(stack.url(path)))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(status == 400 || status == 404, "{path}: {status}");
        expect_error(response, status, None, &format!("GET {path}")).await;
    }
    for (query, code) in [
        ("since=%FF", Some("invalid_cursor")),
        ("since=1&since=2", None),
        ("since=-5", Some("invalid_cursor")),
    ] {
        let response = stack
            .authed(http.get(stack.url(&format!("/scans/{fresh}/events?{query}"))))
            .send()
            .await
            .unwrap();
        expect_error(response, 400, code, &format!("events ?{query}")).await;
    }
    let mut raw_path = format!("GET /scans/{fresh}").into_bytes();
    raw_path.extend_from_slice(&[0xff, 0xfe]);
    raw_path.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            stack.key
        )
        .as_bytes(),
    );
    let outcome = raw_exchange(address, raw_path, Vec::new(), Duration::ZERO).await;
    eprintln!(
        "raw invalid UTF-8 in the path: {:?}, closed {}",
        outcome.status, outcome.closed
    );
    assert!(matches!(outcome.status, None | Some(400)), "{outcome:?}");
    assert!(outcome.closed, "{outcome:?}");

    // Huge headers: one 1 MB header, 10k headers, a 12 KB and a 1 MB URL.
    let mut one_huge =
        format!("GET /scans/{fresh} HTTP/1.1\r\nHost: x\r\nX-Padding: ").into_bytes();
    one_huge.extend_from_slice(&vec![b'a'; 1 << 20]);
    one_huge.extend_from_slice(b"\r\n\r\n");
    let mut many = format!("GET /scans/{fresh} HTTP/1.1\r\nHost: x\r\n").into_bytes();
    for index in 0..10_000 {
        many.extend_from_slice(format!("X-H{index}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let mut huge_url = b"GET /scans?".to_vec();
    huge_url.extend_from_slice(&vec![b'q'; 1 << 20]);
    huge_url.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    for (case, head) in [
        ("one 1 MB header", one_huge),
        ("10k headers", many),
        ("a 1 MB URL", huge_url),
    ] {
        let outcome = raw_exchange(address, head, Vec::new(), Duration::ZERO).await;
        eprintln!(
            "{case}: status {:?}, closed {} after {:?}",
            outcome.status, outcome.closed, outcome.elapsed
        );
        assert!(
            matches!(outcome.status, None | Some(431)),
            "{case}: {outcome:?}"
        );
        assert!(outcome.closed, "{case}: {outcome:?}");
    }
    let long_url = stack.url(&format!(
        "/scans/{fresh}/events?since=0&pad={}",
        "p".repeat(12 << 10)
    ));
    expect_error(
        stack.authed(http.get(long_url)).send().await.unwrap(),
        414,
        Some("uri_too_long"),
        "a 12 KB URL",
    )
    .await;

    // Oversized bodies: declared, streamed without a length, and on each body-reading route.
    expect_error(
        post_scan(vec![b' '; 100 << 10]).await.unwrap(),
        413,
        Some("payload_too_large"),
        "POST /scans 100 KB",
    )
    .await;
    expect_error(
        upload(
            stack.url(&format!("/scans/{fresh}/complete")),
            vec![b' '; 2 << 20],
            false,
        )
        .await
        .unwrap(),
        413,
        Some("payload_too_large"),
        "legacy complete 2 MB",
    )
    .await;
    expect_error(
        upload(
            stack.url(&format!("/scans/{fresh}/complete")),
            codec::gzip(&vec![b' '; 8 << 20]),
            true,
        )
        .await
        .unwrap(),
        413,
        Some("payload_too_large"),
        "legacy complete gzip bomb",
    )
    .await;
    let chunked_head = format!(
        "POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        stack.key
    );
    let mut chunks: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            let mut chunk = format!("{:x}\r\n", 100_000).into_bytes();
            chunk.extend_from_slice(&vec![b'x'; 100_000]);
            chunk.extend_from_slice(b"\r\n");
            chunk
        })
        .collect();
    chunks.push(b"0\r\n\r\n".to_vec());
    let outcome = raw_exchange(address, chunked_head.into_bytes(), chunks, Duration::ZERO).await;
    assert_eq!(outcome.status, Some(413), "{outcome:?}");
    assert_eq!(outcome.json_error().error.code, "payload_too_large");
    eprintln!("capture 4 MB chunked without a length: 413");
    let declared = format!(
        "POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 999999999999\r\n\r\n{{",
        stack.key
    );
    let outcome = raw_exchange(address, declared.into_bytes(), Vec::new(), Duration::ZERO).await;
    assert_eq!(outcome.status, Some(413), "{outcome:?}");
    assert_eq!(outcome.json_error().error.code, "payload_too_large");
    eprintln!("capture declaring 1 TB: 413, closed {}", outcome.closed);

    // Truncated gzip and a gzip bomb on the capture route. The bomb is whitespace, which JSON
    // allows anywhere: a bomb of anything else is refused at its first byte that is not a
    // capture, long before it inflates to the bound.
    let gzipped = codec::gzip(&capture_json);
    expect_error(
        upload(
            fresh_capture.clone(),
            gzipped[..gzipped.len() - 9].to_vec(),
            true,
        )
        .await
        .unwrap(),
        400,
        Some("bad_gzip"),
        "truncated gzip",
    )
    .await;
    expect_error(
        upload(
            fresh_capture.clone(),
            codec::gzip(&vec![b' '; 8 << 20]),
            true,
        )
        .await
        .unwrap(),
        413,
        Some("capture_too_large"),
        "gzip bomb",
    )
    .await;

    // Unknown ids on every route that takes one.
    let unknown = Uuid::new_v4();
    for (method, path) in [
        ("GET", format!("/scans/{unknown}")),
        ("GET", format!("/scans/{unknown}/events")),
        ("GET", format!("/scans/{unknown}/ws")),
        ("POST", format!("/scans/{unknown}/capture")),
        ("POST", format!("/scans/{unknown}/complete")),
        ("GET", "/scans/12345".to_owned()),
        ("GET", "/r/no-such-report".to_owned()),
        ("GET", "/r/no-such-report/openapi.json".to_owned()),
    ] {
        let request = match method {
            "GET" => http.get(stack.url(&path)),
            _ => http.post(stack.url(&path)).body(capture_json.clone()),
        };
        let response = stack.authed(request).send().await.unwrap();
        // A WebSocket route asked without the upgrade handshake may refuse for that first.
        let status = response.status().as_u16();
        assert!(
            status == 404 || (path.ends_with("/ws") && status == 400),
            "{method} {path}: {status}"
        );
        expect_error(response, status, None, &format!("{method} {path}")).await;
    }

    // Another account's ids: indistinguishable from unknown ones.
    for (method, path) in [
        ("GET", format!("/scans/{fresh}")),
        ("GET", format!("/scans/{fresh}/events")),
        ("POST", format!("/scans/{fresh}/capture")),
        ("POST", format!("/scans/{fresh}/complete")),
        ("GET", format!("/scans/{completed}")),
    ] {
        let request = match method {
            "GET" => http.get(stack.url(&path)),
            _ => http.post(stack.url(&path)).body(capture_json.clone()),
        };
        let response = request.bearer_auth(&other_key).send().await.unwrap();
        expect_error(
            response,
            404,
            Some("not_found"),
            &format!("other account {method} {path}"),
        )
        .await;
    }

    // Missing and forged keys on every authenticated route.
    let long_key = format!("Bearer rec_live_{}", "A".repeat(10_000));
    let authorizations: [Option<&str>; 6] = [
        None,
        Some("Bearer "),
        Some("Bearer rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Some("Basic Zm9vOmJhcg=="),
        Some("rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Some(long_key.as_str()),
    ];
    for authorization in authorizations {
        for (method, path) in [
            ("POST", "/scans".to_owned()),
            ("GET", "/account".to_owned()),
            ("GET", format!("/scans/{fresh}")),
            ("GET", format!("/scans/{fresh}/events")),
            ("POST", format!("/scans/{fresh}/capture")),
            ("POST", format!("/scans/{fresh}/complete")),
        ] {
            let mut request = match method {
                "GET" => http.get(stack.url(&path)),
                _ => http.post(stack.url(&path)).body(capture_json.clone()),
            };
            if let Some(authorization) = authorization {
                request = request.header("authorization", authorization);
            }
            let case = format!(
                "{method} {path} with {:?}",
                authorization.map(|a| &a[..a.len().min(24)])
            );
            expect_error(
                request.send().await.unwrap(),
                401,
                Some("unauthorized"),
                &case,
            )
            .await;
        }
    }

    // Wrong state transitions: a second capture for a scan that finished, errored, or is
    // waiting for nothing; the wrong method on a route.
    for (scan_id, status) in [(completed, "completed"), (errored, "errored")] {
        let response = upload(
            stack.url(&format!("/scans/{scan_id}/capture")),
            different_json.clone(),
            false,
        )
        .await
        .unwrap();
        expect_error(
            response,
            409,
            Some("capture_already_uploaded"),
            &format!("upload to the {status} scan"),
        )
        .await;
    }
    let page = stack.events_page(fresh, 0).await;
    assert!(
        page.events.is_empty() && page.cursor == 0 && !page.more,
        "a scan never uploaded has no events: {page:?}"
    );
    for (method, path) in [
        ("GET", format!("/scans/{fresh}/capture")),
        ("GET", format!("/scans/{fresh}/complete")),
        ("DELETE", format!("/scans/{fresh}")),
        ("PUT", "/scans".to_owned()),
        ("POST", format!("/scans/{fresh}/events")),
    ] {
        let request = http.request(method.parse().expect("method"), stack.url(&path));
        let response = stack.authed(request).send().await.unwrap();
        assert!(response.headers().contains_key("allow"), "{method} {path}");
        expect_error(
            response,
            405,
            Some("method_not_allowed"),
            &format!("{method} {path}"),
        )
        .await;
    }
    let response = stack
        .authed(http.get(stack.url(&format!("/scans/{fresh}/ws"))))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(
        (400..500).contains(&status),
        "ws without the handshake: {status}"
    );
    expect_error(
        response,
        status,
        None,
        "GET /ws without the upgrade handshake",
    )
    .await;

    // Slow-loris: silence, trickled headers, a stalled body and a steadily trickled body.
    let outcome = raw_exchange(address, Vec::new(), Vec::new(), Duration::ZERO).await;
    eprintln!(
        "silent connection: closed {} after {:?}",
        outcome.closed, outcome.elapsed
    );
    assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");
    let trickled_headers: Vec<Vec<u8>> = (0..200)
        .map(|index| format!("X-Slow-{index}: x\r\n").into_bytes())
        .collect();
    let outcome = raw_exchange(
        address,
        format!("POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\n").into_bytes(),
        trickled_headers,
        Duration::from_millis(300),
    )
    .await;
    eprintln!(
        "headers trickled every 300 ms: closed {} after {:?}",
        outcome.closed, outcome.elapsed
    );
    assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");
    let stalled_head = format!(
        "POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"format_version\": 1,",
        stack.key
    );
    let outcome = raw_exchange(
        address,
        stalled_head.into_bytes(),
        Vec::new(),
        Duration::ZERO,
    )
    .await;
    eprintln!(
        "stalled capture body: {:?}, closed {} after {:?}",
        outcome.status, outcome.closed, outcome.elapsed
    );
    assert_eq!(outcome.status, Some(408), "{outcome:?}");
    assert_eq!(outcome.json_error().error.code, "timeout");
    assert!(outcome.closed, "{outcome:?}");
    let steady_head = format!(
        "POST /scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
        stack.key
    );
    let steady: Vec<Vec<u8>> = (0..200).map(|_| b" ".to_vec()).collect();
    let outcome = raw_exchange(
        address,
        steady_head.into_bytes(),
        steady,
        Duration::from_millis(250),
    )
    .await;
    eprintln!(
        "body trickled 1 byte / 250 ms: {:?}, closed {} after {:?}",
        outcome.status, outcome.closed, outcome.elapsed
    );
    assert_eq!(outcome.status, Some(408), "{outcome:?}");
    assert!(
        outcome
            .json_error()
            .error
            .message
            .contains("not complete within"),
        "{}",
        outcome.text
    );
    assert!(outcome.closed, "{outcome:?}");

    // A route that never reads its body does not wait for a stalled one.
    let outcome = raw_exchange(
        address,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{".to_vec(),
        Vec::new(),
        Duration::ZERO,
    )
    .await;
    eprintln!(
        "stalled body on GET /healthz: {:?}, closed {} after {:?}",
        outcome.status, outcome.closed, outcome.elapsed
    );
    assert_eq!(outcome.status, Some(200), "{outcome:?}");
    assert!(outcome.closed, "{outcome:?}");

    // 200 slow-loris connections at once: a prompt client is still served meanwhile, and
    // every one of them is closed.
    let lorises: Vec<_> = (0..200)
        .map(|_| {
            tokio::spawn(raw_exchange(
                address,
                b"POST /scans HTTP/1.1\r\nHost: x\r\n".to_vec(),
                vec![b"X-Slow: x\r\n".to_vec(); 100],
                Duration::from_millis(500),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let response = http.get(stack.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    eprintln!(
        "/healthz with 200 slow-loris connections open: 200 in {:?}",
        started.elapsed()
    );
    let mut longest = Duration::ZERO;
    for loris in lorises {
        let outcome = loris.await.expect("loris task");
        assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");
        longest = longest.max(outcome.elapsed);
    }
    eprintln!("200 slow-loris connections all closed; the last after {longest:?}");

    // Nothing above wrote anything.
    let after = snapshot(&stack).await;
    assert_eq!(before, after, "the barrage changed stored state");

    // The server is healthy: probes answer, and a good scan goes through every stage, watched
    // over the WebSocket.
    for probe in ["/healthz", "/readyz"] {
        let response = http.get(stack.url(probe)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{probe}");
    }
    let socket = tokio::spawn(recon_tests::websocket_events(
        stack.api.clone(),
        stack.key.clone(),
        fresh,
        0,
    ));
    let accepted = stack.upload(fresh, &fixtures::shop_capture()).await;
    assert_eq!(accepted.status, "queued");
    let events = stack.wait_for_terminal(fresh, SCAN_TIMEOUT).await;
    assert_eq!(
        stack.scan(fresh).await.status,
        ScanStatus::Complete,
        "{events:?}"
    );
    let pushed = socket.await.expect("websocket task");
    assert_eq!(pushed.len(), events.len(), "the WebSocket saw every event");

    // A valid capture whose bodies are hostile: every request and response body is JSON
    // nested 100k deep. The api accepts it (the bodies are strings); every stage must cope.
    let mut hostile = fixtures::shop_capture();
    let deep_objects_body = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
    for (index, request) in hostile.requests.iter_mut().enumerate() {
        let data = if index % 2 == 0 {
            deep.clone()
        } else {
            deep_objects_body.clone()
        };
        if let Some(response) = request.response.as_mut() {
            response.mime_type = "application/json".to_owned();
            response.body = Some(recon_contracts::capture::Body {
                encoding: recon_contracts::capture::BodyEncoding::Text,
                data: data.clone(),
                truncated: false,
                size: Some(data.len() as u64),
            });
        }
        if request.method != "GET" {
            request.post_data = Some(recon_contracts::capture::Body {
                encoding: recon_contracts::capture::BodyEncoding::Text,
                size: Some(data.len() as u64),
                data,
                truncated: false,
            });
        }
    }
    let hostile_scan = stack.create_scan("prices").await.scan_id;
    stack.upload(hostile_scan, &hostile).await;
    let events = stack.wait_for_terminal(hostile_scan, SCAN_TIMEOUT).await;
    let view = stack.scan(hostile_scan).await;
    eprintln!(
        "capture with 100k-deep JSON bodies: {:?} {:?}",
        view.status, view.error
    );
    assert_eq!(view.status, ScanStatus::Complete, "{events:?}");
    stack.stop().await;
}

/// The operations listener shares the api's accept loop: the same head deadline, the same caps
/// and the same error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_listener_refuses_slow_and_oversized_requests_too() {
    let stack = TestStack::start_with(
        &[recon_server::Role::Api],
        &[
            ("RECON_OPS_LISTEN", "127.0.0.1:0"),
            ("RECON_HEADER_READ_TIMEOUT_SECS", "1"),
            ("RECON_MAX_HEADER_BYTES", "8192"),
        ],
    )
    .await;
    let ops = stack.servers[0].ops_address.expect("ops listener bound");

    let outcome = raw_exchange(
        ops,
        b"GET /healthz HTTP/1.1\r\n".to_vec(),
        vec![b"Host: x\r\n".to_vec(); 100],
        Duration::from_millis(200),
    )
    .await;
    eprintln!(
        "ops, headers trickled every 200 ms: closed {} after {:?}",
        outcome.closed, outcome.elapsed
    );
    assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");

    let mut big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ".to_vec();
    big.extend_from_slice(&vec![b'a'; 64 << 10]);
    big.extend_from_slice(b"\r\n\r\n");
    let outcome = raw_exchange(ops, big, Vec::new(), Duration::ZERO).await;
    assert!(matches!(outcome.status, None | Some(431)), "{outcome:?}");
    assert!(outcome.closed, "{outcome:?}");

    let base = format!("http://{ops}");
    expect_error(
        stack
            .http
            .get(format!("{base}/nowhere"))
            .send()
            .await
            .unwrap(),
        404,
        Some("not_found"),
        "ops unknown path",
    )
    .await;
    expect_error(
        stack
            .http
            .post(format!("{base}/healthz"))
            .send()
            .await
            .unwrap(),
        405,
        Some("method_not_allowed"),
        "ops POST /healthz",
    )
    .await;
    let healthy = stack
        .http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), 200);
    stack.stop().await;
}

/// Uploads `json` gzipped (as the CLI sends it) to a fresh scan of a stack running every role
/// with the default capture bounds changed by `overrides`. The upload must be refused with
/// `status` and `code`, naming `limit`; nothing may be written; and the server must stay
/// healthy: the same scan then takes a good capture through every stage.
async fn assert_refused_upload(
    overrides: &[(&str, &str)],
    json: Vec<u8>,
    status: u16,
    code: &str,
    limit: Limit,
) {
    let stack =
        TestStack::start_with(&recon_server::parse_targets("all").expect("all"), overrides).await;
    let scan_id = stack.create_scan("prices").await.scan_id;
    let before = snapshot(&stack).await;
    let gzipped = codec::gzip(&json);
    let case = format!(
        "{limit}: {:.1} MiB of JSON in {:.0} KiB of gzip",
        json.len() as f64 / (1 << 20) as f64,
        gzipped.len() as f64 / 1024.0
    );
    drop(json);
    let response = stack
        .capture_request(scan_id, gzipped)
        .send()
        .await
        .expect("POST capture");
    let body = expect_error(response, status, Some(code), &case).await;
    assert_eq!(body.error.limit.as_deref(), Some(limit.as_str()), "{case}");
    assert!(
        body.error.message.contains(limit.as_str()),
        "{case}: {}",
        body.error.message
    );
    assert_eq!(
        snapshot(&stack).await,
        before,
        "{case}: something was written"
    );

    for probe in ["/healthz", "/readyz"] {
        let response = stack.http.get(stack.url(probe)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{case}: {probe}");
    }
    stack.upload(scan_id, &fixtures::shop_capture()).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    assert_eq!(
        stack.scan(scan_id).await.status,
        ScanStatus::Complete,
        "{case}: {events:?}"
    );
    stack.stop().await;
}

/// The shop capture as JSON, edited.
fn capture_json(edit: impl FnOnce(&mut Capture)) -> Vec<u8> {
    let mut capture = fixtures::shop_capture();
    edit(&mut capture);
    serde_json::to_vec(&capture).expect("capture json")
}

/// The shop capture as JSON with its top-level field `name` replaced by raw JSON text, written
/// first (too large to build as values).
fn capture_json_with_raw(name: &str, raw: &str) -> Vec<u8> {
    let mut value = serde_json::to_value(fixtures::shop_capture()).expect("capture value");
    if let Some(fields) = value.as_object_mut() {
        fields.remove(name);
    }
    let rest = serde_json::to_string(&value).expect("capture json");
    format!("{{\"{name}\":{raw},{}", &rest[1..]).into_bytes()
}

/// A JSON array of `count` copies of `item`.
fn repeated(item: &str, count: usize) -> String {
    format!("[{}]", vec![item; count].join(","))
}

fn default_max(limit: Limit) -> usize {
    usize::try_from(recon_contracts::CaptureBounds::default_max(limit)).expect("fits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_a_million_empty_samples_is_refused() {
    // Three bytes of JSON each, a 24-byte string each once parsed: the attack of issue 15.
    let json = capture_json(|capture| {
        capture.streams = vec![StreamSummary {
            kind: StreamKind::WebSocket,
            url: "wss://demo-shop.recon.test/live".to_owned(),
            messages_sent: 0,
            messages_received: 1_000_000,
            samples: vec![String::new(); 1_000_000],
        }];
    });
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::SamplesPerStream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_samples_in_all_than_allowed_are_refused() {
    let per_stream = default_max(Limit::SamplesPerStream);
    let streams = default_max(Limit::Samples) / per_stream + 1;
    let stream = format!(
        r#"{{"kind":"web_socket","url":"wss://demo-shop.recon.test/live","samples":{}}}"#,
        repeated(r#""""#, per_stream)
    );
    let json = capture_json_with_raw("streams", &repeated(&stream, streams));
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::Samples).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn millions_of_empty_strings_are_refused() {
    // In a field the server does not know: skipped fields are read under the bounds too.
    let raw = repeated(r#""""#, default_max(Limit::Strings) + 1);
    let json = capture_json_with_raw("extension", &raw);
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::Strings).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_too_many_headers_is_refused() {
    let count = default_max(Limit::HeadersPerRequest) + 1;
    let json = capture_json(|capture| {
        capture.requests[0].request_headers = (0..count)
            .map(|index| Header::new(format!("x-h{index}"), ""))
            .collect();
    });
    assert_refused_upload(
        &[],
        json,
        413,
        "capture_too_large",
        Limit::HeadersPerRequest,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_is_refused_as_a_bad_shape() {
    let depth = default_max(Limit::Nesting) + 8;
    let raw = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let json = capture_json_with_raw("extension", &raw);
    assert_refused_upload(&[], json, 400, "capture_too_deep", Limit::Nesting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_longer_than_allowed_is_refused() {
    let json = capture_json(|capture| {
        let padding = "a".repeat(default_max(Limit::StringBytes));
        capture.requests[0].url = format!("https://demo-shop.recon.test/?q={padding}");
    });
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::StringBytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_longer_than_allowed_is_refused() {
    let json = capture_json(|capture| {
        capture.requests[0].post_data =
            Some(Body::text("b".repeat(default_max(Limit::BodyBytes) + 1)));
    });
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::BodyBytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_requests_than_allowed_are_refused() {
    let request = r#"{"id":"r","method":"GET","url":"https://demo-shop.recon.test/","resource_type":"fetch","request_headers":[],"timing":{"started_at_ms":0}}"#;
    let raw = repeated(request, default_max(Limit::Requests) + 1);
    let json = capture_json_with_raw("requests", &raw);
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::Requests).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_pages_than_allowed_are_refused() {
    let page = r#"{"id":"p","url":"https://demo-shop.recon.test/","started_at_ms":0}"#;
    let raw = repeated(page, default_max(Limit::Pages) + 1);
    let json = capture_json_with_raw("pages", &raw);
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::Pages).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_cookies_than_allowed_are_refused() {
    let cookie = r#"{"name":"c","value":"","domain":"demo-shop.recon.test"}"#;
    let raw = repeated(cookie, default_max(Limit::Cookies) + 1);
    let json = capture_json_with_raw("cookies", &raw);
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::Cookies).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_streams_than_allowed_are_refused() {
    let stream = r#"{"kind":"event_source","url":"https://demo-shop.recon.test/feed"}"#;
    let raw = repeated(stream, default_max(Limit::Streams) + 1);
    let json = capture_json_with_raw("streams", &raw);
    assert_refused_upload(&[], json, 413, "capture_too_large", Limit::Streams).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_inflating_past_the_decoded_bytes_limit_is_refused() {
    // 8 MB of JSON whitespace in a few KB of gzip, against a 4 MB bound (the default, 256 MiB,
    // works the same, only slower in a debug build).
    let mut json = capture_json(|_| {});
    json.extend(std::iter::repeat_n(b' ', 8 << 20));
    assert_refused_upload(
        &[("RECON_MAX_CAPTURE_DECODED_BYTES", "4000000")],
        json,
        413,
        "capture_too_large",
        Limit::DecodedBytes,
    )
    .await;
}
