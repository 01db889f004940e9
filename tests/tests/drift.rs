//! Drift through the real pipeline: one account scans the same small shop three times (the
//! drift crate's own fixtures, a first visit and a later one with planted changes). The first
//! scan says it is the first; an unchanged second scan reports no change; a third scan of the
//! changed shop reports exactly the changes planted in its capture, in the report JSON, on the
//! report page, and as the one line `recon watch` prints at the end. Another account's scan of
//! the same site is its own first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use recon_contracts::{Capture, CreateScanRequest, CreateScanResponse, RecordedEvent, StepStatus};
use recon_detection::capture_spec::parse_corpus;
use recon_tests::cli::run_recon;
use recon_tests::TestStack;
use serde_json::Value;
use uuid::Uuid;

const SCAN_TIMEOUT: Duration = Duration::from_secs(90);
const TARGET: &str = "https://www.driftshop.test/";

fn capture_of(corpus: &str) -> Capture {
    let cases = parse_corpus(corpus).expect("the drift fixture parses");
    cases[0].capture().expect("the drift fixture builds")
}

fn first_visit() -> Capture {
    capture_of(include_str!(
        "../../services/drift/tests/fixtures/shop_before.toml"
    ))
}

fn changed_visit() -> Capture {
    capture_of(include_str!(
        "../../services/drift/tests/fixtures/shop_after.toml"
    ))
}

/// A finished scan of the shop: its id, its report JSON and its drift step's headline.
struct Scanned {
    id: Uuid,
    report_url: String,
    report: Value,
    headline: Option<String>,
}

impl Scanned {
    fn drift(&self) -> &Value {
        &self.report["drift"]
    }

    /// `since 3 Dec`, from the date of the scan this one was compared with.
    fn since(&self) -> String {
        let completed: DateTime<Utc> = self.drift()["previous_completed_at"]
            .as_str()
            .and_then(|text| text.parse().ok())
            .expect("a compared scan names when the previous one completed");
        format!("since {}", completed.format("%-d %b"))
    }

    /// (severity, kind, endpoint or vendor, field, before, after) of every change, in order.
    fn changes(&self) -> Vec<[Value; 6]> {
        let changes = self.drift()["changes"].as_array().expect("changes[]");
        changes
            .iter()
            .map(|change| {
                let subject = if change["vendor"].is_null() {
                    change["endpoint"].clone()
                } else {
                    change["vendor"].clone()
                };
                [
                    change["severity"].clone(),
                    change["kind"].clone(),
                    subject,
                    change["field"].clone(),
                    change["before"].clone(),
                    change["after"].clone(),
                ]
            })
            .collect()
    }
}

async fn scan(stack: &TestStack, key: &str, capture: &Capture) -> Scanned {
    let response = stack
        .http
        .post(stack.url("/scans"))
        .bearer_auth(key)
        .json(&CreateScanRequest {
            target_url: TARGET.to_owned(),
            intent_text: Some("lamp prices".to_owned()),
            starter_template: None,
        })
        .send()
        .await
        .expect("POST /scans");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let created: CreateScanResponse = response.json().await.expect("scan body");
    let body = recon_runtime::codec::to_gzip_json(capture).expect("gzip");
    let upload = stack
        .http
        .post(stack.url(&format!("/scans/{}/capture", created.scan_id)))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .expect("POST capture");
    assert_eq!(upload.status(), 202, "{:?}", upload.text().await);
    let accepted: recon_contracts::CaptureAccepted = upload.json().await.expect("accepted");
    let events = wait_for_terminal(stack, key, created.scan_id).await;
    let last = events.last().expect("a terminal event");
    assert_eq!(
        (last.step.as_str(), last.status),
        ("render", StepStatus::Complete),
        "{:?}",
        events.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    let drift_done = events
        .iter()
        .find(|e| e.step.as_str() == "drift" && e.status == StepStatus::Complete)
        .expect("drift completed");
    Scanned {
        id: created.scan_id,
        report: stack
            .get_json(&format!("{}.json", accepted.report_url))
            .await,
        report_url: accepted.report_url,
        headline: drift_done.headline().map(str::to_owned),
    }
}

/// The scan's events up to its terminal one, read with `key` (its account's).
async fn wait_for_terminal(stack: &TestStack, key: &str, scan_id: Uuid) -> Vec<RecordedEvent> {
    let deadline = std::time::Instant::now() + SCAN_TIMEOUT;
    let mut events: Vec<RecordedEvent> = Vec::new();
    loop {
        let since = events.last().map_or(0, |event| event.cursor);
        let page: recon_contracts::EventsPage = stack
            .http
            .get(stack.url(&format!("/scans/{scan_id}/events?since={since}")))
            .bearer_auth(key)
            .send()
            .await
            .expect("GET events")
            .json()
            .await
            .expect("events page");
        events.extend(page.events);
        if events.last().is_some_and(RecordedEvent::is_terminal) {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "scan {scan_id} did not finish: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn row(
    severity: &str,
    kind: &str,
    subject: &str,
    field: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
) -> [Value; 6] {
    let text = |value: Option<&str>| value.map_or(Value::Null, Value::from);
    [
        severity.into(),
        kind.into(),
        subject.into(),
        text(field),
        text(before),
        text(after),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_reports_a_first_scan_no_change_and_exactly_the_planted_changes() {
    let stack = TestStack::start().await;

    let first = scan(&stack, &stack.key, &first_visit()).await;
    assert!(
        first.drift()["previous_scan_id"].is_null(),
        "{}",
        first.drift()
    );
    assert_eq!(first.drift()["changes"], serde_json::json!([]));
    assert_eq!(first.headline.as_deref(), Some("first scan of this site"));

    let unchanged = scan(&stack, &stack.key, &first_visit()).await;
    assert_eq!(
        unchanged.drift()["previous_scan_id"],
        first.id.to_string(),
        "compared with the first scan"
    );
    assert_eq!(unchanged.drift()["changes"], serde_json::json!([]));
    assert_eq!(
        unchanged.headline,
        Some(format!("no changes {}", unchanged.since()))
    );

    let changed = scan(&stack, &stack.key, &changed_visit()).await;
    assert_eq!(
        changed.drift()["previous_scan_id"],
        unchanged.id.to_string(),
        "compared with the newest earlier scan"
    );
    // Validation cannot reach the shop (its hosts do not resolve), alike in both scans: what
    // changed is what was planted in the capture, and only that.
    let detail = "GET /v1/items/{item_id}";
    assert_eq!(
        changed.changes(),
        [
            row("high", "vendor_added", "datadome", None, None, Some("0.99")),
            row(
                "high",
                "response_field_removed",
                detail,
                Some("price"),
                Some("number"),
                None
            ),
            row(
                "high",
                "response_field_retyped",
                detail,
                Some("stock"),
                Some("integer"),
                Some("string")
            ),
            row(
                "high",
                "auth_changed",
                detail,
                None,
                None,
                Some("authorization (bearer)")
            ),
            row(
                "medium",
                "endpoint_removed",
                "GET /v1/reviews",
                None,
                Some("api.driftshop.test/v1/reviews"),
                None
            ),
            row(
                "low",
                "endpoint_added",
                "GET /v1/cart",
                None,
                None,
                Some("api.driftshop.test/v1/cart")
            ),
            row(
                "low",
                "response_field_added",
                detail,
                Some("rating"),
                None,
                Some("number")
            ),
        ]
    );
    let headline = format!(
        "7 changes {}: datadome added; {detail} lost field price; \
         {detail} field stock integer → string; …",
        changed.since()
    );
    assert_eq!(changed.headline.as_deref(), Some(headline.as_str()));

    let page = stack.get_text(&changed.report_url).await;
    assert!(page.contains(&format!("<h2 id=\"changes\">Changes {}", changed.since())));
    assert!(page.contains("7 change(s) since the previous scan"));

    // `recon watch` follows the finished scan and ends with the drift line, from the events.
    let home = tempfile::TempDir::new().expect("home");
    let env = [
        ("RECON_SERVER", stack.api.as_str()),
        ("RECON_API_KEY", stack.key.as_str()),
    ];
    let scan_id = changed.id.to_string();
    let output = run_recon(home.path(), &env, "", &["watch", &scan_id, "--no-progress"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let render_done = lines
        .iter()
        .position(|line| line.starts_with("[render] complete"))
        .unwrap_or_else(|| panic!("no render line in {stderr}"));
    assert_eq!(
        lines[render_done + 1..],
        [headline.as_str(), &format!("scan {scan_id} complete")],
        "{stderr}"
    );

    // Another account's scan of the same site is that account's first.
    let other_key = stack.account_key("another-account").await;
    let other = scan(&stack, &other_key, &changed_visit()).await;
    assert!(
        other.drift()["previous_scan_id"].is_null(),
        "{}",
        other.drift()
    );
    assert_eq!(other.headline.as_deref(), Some("first scan of this site"));

    stack.stop().await;
}
