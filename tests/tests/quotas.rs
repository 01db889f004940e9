//! Per-account quotas as a client meets them: over each quota a 429 with Retry-After and a JSON
//! error naming the quota, nothing half-done, `GET /account` showing usage and limits;
//! admissions racing on two api replicas never pass a quota; validation replays no more than the
//! daily quota leaves; and one account flooding the api does not stop another's scan.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use recon_contracts::{
    AccountView, CreateScanRequest, CreateScanResponse, Quota, QuotaErrorBody, QuotaUse,
    ScanStatus, Step, StepStatus,
};
use recon_runtime::codec;
use recon_server::Role;
use recon_tests::lamp_shop::{self, LampShop};
use recon_tests::{fixtures, TestStack};
use uuid::Uuid;

const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

async fn post_scan(stack: &TestStack, api: &str, key: &str) -> reqwest::Response {
    stack
        .http
        .post(format!("{api}/scans"))
        .bearer_auth(key)
        .json(&CreateScanRequest {
            target_url: "https://demo-shop.recon.test/".to_owned(),
            intent_text: Some("product prices".to_owned()),
            starter_template: None,
        })
        .send()
        .await
        .expect("POST /scans")
}

async fn created(response: reqwest::Response) -> Uuid {
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let body: CreateScanResponse = response.json().await.expect("scan body");
    body.scan_id
}

async fn post_capture(
    stack: &TestStack,
    api: &str,
    key: &str,
    scan_id: Uuid,
    gzip_body: Vec<u8>,
) -> reqwest::Response {
    stack
        .http
        .post(format!("{api}/scans/{scan_id}/capture"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip_body)
        .send()
        .await
        .expect("POST capture")
}

/// Asserts a refusal over `quota`: 429, `quota_exceeded`, the quota named, and a Retry-After
/// header that says what the body says.
async fn refused_over(response: reqwest::Response, quota: Quota) -> QuotaErrorBody {
    assert_eq!(response.status(), 429);
    let retry_after: Option<u64> = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok());
    let body: QuotaErrorBody = response.json().await.expect("quota error body");
    assert_eq!(body.error.detail.code, "quota_exceeded");
    assert_eq!(body.error.quota, quota, "{body:?}");
    assert!(
        body.error.detail.message.contains(quota.as_str()),
        "{body:?}"
    );
    assert!(retry_after.is_some_and(|seconds| seconds >= 1), "{body:?}");
    assert_eq!(body.error.retry_after_secs, retry_after);
    body
}

async fn account(stack: &TestStack, key: &str) -> AccountView {
    let response = stack
        .http
        .get(stack.url("/account"))
        .bearer_auth(key)
        .send()
        .await
        .expect("GET /account");
    assert_eq!(response.status(), 200);
    response.json().await.expect("account body")
}

async fn count(stack: &TestStack, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&stack.db)
        .await
        .expect("count")
}

fn shop_upload() -> Vec<u8> {
    codec::to_gzip_json(&fixtures::shop_capture()).expect("gzip")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_the_hourly_scan_quota_post_scans_gets_429_naming_it_with_retry_after() {
    let stack = TestStack::start_with(&[Role::Api], &[("RECON_QUOTA_SCANS_PER_HOUR", "3")]).await;
    for _ in 0..3 {
        created(post_scan(&stack, &stack.api, &stack.key).await).await;
    }
    let refused = refused_over(
        post_scan(&stack, &stack.api, &stack.key).await,
        Quota::ScansPerHour,
    )
    .await;
    assert_eq!((refused.error.allowed, refused.error.used), (3, 3));
    // The slot frees when the first scan leaves the hour.
    let retry = refused.error.retry_after_secs.unwrap_or_default();
    assert!((3500..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(count(&stack, "SELECT count(*) FROM scans").await, 3);
    assert_eq!(
        account(&stack, &stack.key).await.quotas.scans_per_hour,
        QuotaUse {
            limit: 3,
            used: 3,
            window_secs: Some(3600)
        }
    );

    // Another account has its own quota.
    let other = stack.account_key("another-account").await;
    created(post_scan(&stack, &stack.api, &other).await).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_the_concurrent_scans_quota_an_upload_waits_until_a_scan_ends() {
    // No stage runs, so an accepted scan stays in processing.
    let stack = TestStack::start_with(&[Role::Api], &[("RECON_QUOTA_CONCURRENT_SCANS", "1")]).await;
    let first = created(post_scan(&stack, &stack.api, &stack.key).await).await;
    let second = created(post_scan(&stack, &stack.api, &stack.key).await).await;
    let upload = post_capture(&stack, &stack.api, &stack.key, first, shop_upload()).await;
    assert_eq!(upload.status(), 202);

    let refused = refused_over(
        post_capture(&stack, &stack.api, &stack.key, second, shop_upload()).await,
        Quota::ConcurrentScans,
    )
    .await;
    assert_eq!((refused.error.allowed, refused.error.used), (1, 1));
    assert_eq!(stack.scan(second).await.status, ScanStatus::Created);
    // A retried upload of the scan already in the pipeline is answered as the first one was.
    let retried = post_capture(&stack, &stack.api, &stack.key, first, shop_upload()).await;
    assert_eq!(retried.status(), 202);
    let quotas = account(&stack, &stack.key).await.quotas;
    assert_eq!(
        (quotas.concurrent_scans.limit, quotas.concurrent_scans.used),
        (1, 1)
    );

    recon_runtime::db::scans::mark_complete(&stack.db, first)
        .await
        .expect("end the first scan");
    let upload = post_capture(&stack, &stack.api, &stack.key, second, shop_upload()).await;
    assert_eq!(upload.status(), 202);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capture_bytes_count_as_stored_and_a_capture_larger_than_the_quota_gets_413() {
    let body = shop_upload();
    let size = body.len() as u64;
    let limit = size * 3 / 2;
    let stack = TestStack::start_with(
        &[Role::Api],
        &[("RECON_QUOTA_CAPTURE_BYTES_PER_DAY", &limit.to_string())],
    )
    .await;
    let first = created(post_scan(&stack, &stack.api, &stack.key).await).await;
    let upload = post_capture(&stack, &stack.api, &stack.key, first, body.clone()).await;
    assert_eq!(upload.status(), 202);

    let second = created(post_scan(&stack, &stack.api, &stack.key).await).await;
    let refused = refused_over(
        post_capture(&stack, &stack.api, &stack.key, second, body).await,
        Quota::CaptureBytesPerDay,
    )
    .await;
    assert_eq!((refused.error.allowed, refused.error.used), (limit, size));
    let retry = refused.error.retry_after_secs.unwrap_or_default();
    assert!((86_300..=86_400).contains(&retry), "Retry-After {retry}");

    // A capture the quota could never hold is refused for good: 413, no Retry-After.
    let huge = codec::to_gzip_json(&fixtures::sized_capture(256 << 10)).expect("gzip");
    assert!(
        huge.len() as u64 > limit,
        "the test capture must exceed the quota"
    );
    let never = post_capture(&stack, &stack.api, &stack.key, second, huge).await;
    assert_eq!(never.status(), 413);
    assert!(never.headers().get("retry-after").is_none());
    let body: QuotaErrorBody = never.json().await.expect("quota error body");
    assert_eq!(body.error.quota, Quota::CaptureBytesPerDay);
    assert!(
        body.error.detail.message.contains("never"),
        "{}",
        body.error.detail.message
    );

    let quotas = account(&stack, &stack.key).await.quotas;
    assert_eq!(quotas.capture_bytes_per_day.used, size);
    assert_eq!(stack.scan(second).await.status, ScanStatus::Created);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_scan_creations_on_two_replicas_never_pass_the_hourly_quota() {
    let mut stack =
        TestStack::start_with(&[Role::Api], &[("RECON_QUOTA_SCANS_PER_HOUR", "5")]).await;
    stack.add_roles(&[Role::Api]).await;
    let replicas = stack.api_replicas();
    assert_eq!(replicas.len(), 2);
    let attempts = (0..40).map(|index| {
        let api = &replicas[index % 2];
        async { post_scan(&stack, api, &stack.key).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(attempts).await;
    let admitted = statuses.iter().filter(|status| **status == 201).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((admitted, refused), (5, 35), "{statuses:?}");
    assert_eq!(count(&stack, "SELECT count(*) FROM scans").await, 5);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uploads_on_two_replicas_never_pass_the_concurrent_scans_quota() {
    let mut stack =
        TestStack::start_with(&[Role::Api], &[("RECON_QUOTA_CONCURRENT_SCANS", "2")]).await;
    stack.add_roles(&[Role::Api]).await;
    let replicas = stack.api_replicas();
    let mut scans = Vec::new();
    for _ in 0..12 {
        scans.push(created(post_scan(&stack, &stack.api, &stack.key).await).await);
    }
    let body = shop_upload();
    let world = &stack;
    let uploads = scans.iter().enumerate().map(|(index, scan_id)| {
        let api = &replicas[index % 2];
        let body = body.clone();
        async move {
            post_capture(world, api, &world.key, *scan_id, body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(uploads).await;
    let accepted = statuses.iter().filter(|status| **status == 202).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((accepted, refused), (2, 10), "{statuses:?}");
    assert_eq!(
        count(
            &stack,
            "SELECT count(*) FROM scans WHERE status = 'processing'"
        )
        .await,
        2
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validation_replays_no_more_than_the_daily_quota_leaves() {
    let shop = LampShop::start(Duration::ZERO).await;
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").expect("all"),
        &[
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            (
                "RECON_VALIDATION_ALLOWED_PORTS",
                &shop.address.port().to_string(),
            ),
            ("RECON_QUOTA_VALIDATION_REQUESTS_PER_DAY", "4"),
        ],
    )
    .await;
    let capture = lamp_shop::capture(&shop.base(), 60, 4);
    let mut sent = 0;
    for _ in 0..2 {
        let scan_id = stack.run_scan(&capture).await;
        let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
        let last = events
            .last()
            .map(|event| (event.step.clone(), event.status));
        assert_eq!(last, Some((Step::named("render"), StepStatus::Complete)));
        let validation = stack.validation(scan_id).await;
        assert!(
            validation
                .notes
                .iter()
                .any(|note| note.contains("daily validation quota")),
            "{:?}",
            validation.notes
        );
        sent += validation.requests_sent;
    }
    // The shop has more to replay than 4 requests: the quota, not the capture, is what stopped.
    assert_eq!(sent, 4, "replay requests against a quota of 4");
    assert_eq!(shop.requests_served(), 4, "replays the shop saw");
    let quotas = account(&stack, &stack.key).await.quotas;
    assert_eq!(quotas.validation_requests_per_day.limit, 4);
    assert_eq!(quotas.validation_requests_per_day.used, u64::from(sent));
    stack.stop().await;
}

/// The quotas account A's flood runs into.
const FLOOD_QUOTAS: [&str; 3] = ["scans_per_hour", "concurrent_scans", "websockets"];

/// What account A's flood met: the status of every request and the quotas of its refusals.
#[derive(Default)]
struct FloodLog {
    statuses: Vec<u16>,
    refused_over: BTreeSet<&'static str>,
}

/// One of account A's flooding clients: create a scan, upload to it, open its WebSocket and keep
/// it, again and again until `stop` and until it has been refused over every quota it meets
/// (or for [`SCAN_TIMEOUT`], after which the test's assertions say what never came).
async fn flood(stack: &TestStack, key: &str, stop: &AtomicBool, log: &Mutex<FloodLog>) {
    let give_up = std::time::Instant::now() + SCAN_TIMEOUT;
    let done = || {
        let met_all = log.lock().expect("flood log").refused_over.len() == FLOOD_QUOTAS.len();
        (stop.load(Ordering::SeqCst) && met_all) || std::time::Instant::now() > give_up
    };
    let body = shop_upload();
    let mut sockets = Vec::new();
    let note = |status: u16, quota: Option<Quota>| {
        let mut log = log.lock().expect("flood log");
        log.statuses.push(status);
        if let Some(quota) = quota {
            log.refused_over.insert(quota.as_str());
        }
    };
    let mut last_scan = None;
    while !done() {
        let response = post_scan(stack, &stack.api, key).await;
        let status = response.status().as_u16();
        if status == 201 {
            note(status, None);
            let scan: CreateScanResponse = response.json().await.expect("scan body");
            last_scan = Some(scan.scan_id);
            let upload = post_capture(stack, &stack.api, key, scan.scan_id, body.clone()).await;
            match upload.status().as_u16() {
                429 => {
                    let refusal = refused_over(upload, Quota::ConcurrentScans).await;
                    note(429, Some(refusal.error.quota));
                }
                status => note(status, None),
            }
        } else {
            let refusal = refused_over(response, Quota::ScansPerHour).await;
            note(status, Some(refusal.error.quota));
        }
        if let Some(scan_id) = last_scan {
            match recon_tests::connect_events(&stack.api, key, scan_id, 0).await {
                Ok(socket) => sockets.push(socket),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 429);
                    assert!(response.headers().contains_key("retry-after"));
                    note(429, Some(Quota::Websockets));
                }
                Err(err) => panic!("WebSocket connect: {err}"),
            }
        }
        // A client in a hurry, not a busy loop: the machine is shared with the stack under test.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flooding_account_gets_429s_while_another_accounts_scan_completes() {
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").expect("all"),
        &[
            ("RECON_QUOTA_CONCURRENT_SCANS", "1"),
            ("RECON_QUOTA_SCANS_PER_HOUR", "6"),
            ("RECON_QUOTA_WEBSOCKETS", "2"),
        ],
    )
    .await;
    let flooder = stack.account_key("account-a").await;
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(FloodLog::default()));
    let clients: Vec<_> = (0..8)
        .map(|_| flood(&stack, &flooder, &stop, &log))
        .collect();
    let flooding = futures::future::join_all(clients);
    let watched = async {
        // Account B: one scan, watched to its end while A floods.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
        let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
        stop.store(true, Ordering::SeqCst);
        (scan_id, events)
    };
    let ((scan_id, events), _) = tokio::join!(watched, flooding);

    assert_eq!(
        stack.scan(scan_id).await.status,
        ScanStatus::Complete,
        "{events:?}"
    );
    let log = std::mem::take(&mut *log.lock().expect("flood log"));
    let refused = log.statuses.iter().filter(|status| **status == 429).count();
    eprintln!(
        "account A: {} requests, {refused} refused over {:?}",
        log.statuses.len(),
        log.refused_over
    );
    for quota in FLOOD_QUOTAS {
        assert!(
            log.refused_over.contains(quota),
            "A was never refused over {quota}"
        );
    }
    assert!(
        log.statuses
            .iter()
            .all(|status| [201, 202, 429].contains(status)),
        "{:?}",
        log.statuses
    );
    stack.stop().await;
}
