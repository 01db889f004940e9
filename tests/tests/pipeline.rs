//! One scan through every stage on real NATS JetStream, Postgres and the file blob store.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use recon_contracts::{names, RecordedEvent, Step, StepStatus};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_server::Role;
use recon_tests::{fixtures, TestStack};
use tokio::task::JoinSet;
use uuid::Uuid;

const SCAN_TIMEOUT: Duration = Duration::from_secs(60);

fn sequence(events: &[RecordedEvent]) -> Vec<(Step, StepStatus)> {
    events
        .iter()
        .map(|event| (event.step.clone(), event.status))
        .collect()
}

async fn stage_runs(stack: &TestStack, scan_id: Uuid) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT stage, runs FROM stage_results WHERE scan_id = $1 ORDER BY stage")
        .bind(scan_id)
        .fetch_all(&stack.db)
        .await
        .expect("stage results")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scan_flows_through_every_stage_and_the_report_is_served() {
    let stack = TestStack::start().await;
    let created = stack.create_scan("product prices").await;
    let scan_id = created.scan_id;

    // The WebSocket connects before the capture exists and must still see everything.
    let early_socket = tokio::spawn(recon_tests::websocket_events(
        stack.api.clone(),
        stack.key.clone(),
        scan_id,
        0,
    ));

    let started = std::time::Instant::now();
    let accepted = stack.upload(scan_id, &fixtures::shop_capture()).await;
    eprintln!("capture accepted in {:?}", started.elapsed());
    assert_eq!(accepted.status, "queued");

    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    eprintln!("scan finished in {:?}", started.elapsed());
    assert_eq!(sequence(&events), recon_tests::successful_scan_sequence());
    let cursors: Vec<i64> = events.iter().map(|e| e.cursor).collect();
    let event_count = 2 * recon_tests::steps().len() as i64;
    assert_eq!(cursors, (1..=event_count).collect::<Vec<_>>());

    let over_ws =
        recon_tests::websocket_events(stack.api.clone(), stack.key.clone(), scan_id, 0).await;
    assert_eq!(over_ws, events, "REST and WebSocket serve the same events");
    let early = early_socket.await.expect("early socket");
    assert_eq!(
        early, events,
        "a socket opened before the upload sees every event"
    );
    let tail =
        recon_tests::websocket_events(stack.api.clone(), stack.key.clone(), scan_id, 10).await;
    assert_eq!(
        tail,
        events[10..].to_vec(),
        "the WebSocket honours the cursor"
    );
    let rest_tail = stack.events_page(scan_id, 10).await;
    assert_eq!(rest_tail.events, events[10..].to_vec());
    assert_eq!(rest_tail.cursor, event_count);

    let view = stack.scan(scan_id).await;
    assert_eq!(view.status, recon_contracts::ScanStatus::Complete);
    assert_eq!(view.report_url, accepted.report_url);

    let runs = stage_runs(&stack, scan_id).await;
    assert_eq!(runs.len(), recon_tests::steps().len());
    assert!(runs.iter().all(|(_, runs)| *runs == 1), "{runs:?}");

    let html = stack
        .http
        .get(&view.report_url)
        .send()
        .await
        .expect("report");
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = html.text().await.unwrap();
    assert!(html.contains("demo-shop.recon.test"));
    assert!(
        !html.contains("s3cr3t-session"),
        "the report shows no live secret"
    );

    let download = stack
        .http
        .get(format!("{}?download=1", view.report_url))
        .send()
        .await
        .expect("download");
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    // Saved to disk, the page still links to its JSON by absolute URL.
    let saved = download.text().await.expect("download body");
    assert!(
        saved.contains(&format!("href=\"{}.json\"", view.report_url)),
        "the downloaded page links to its JSON absolutely"
    );
    assert!(!saved.contains("href=\"./"));

    let json = stack.get_json(&format!("{}.json", view.report_url)).await;
    assert_eq!(json["scan"]["id"], scan_id.to_string());
    assert_eq!(json["scan"]["status"], "complete");
    assert!(json["detection"]["vendors"].is_array());
    let endpoints = json["endpoints"].as_array().expect("endpoints");
    assert!(endpoints
        .iter()
        .any(|e| e["path_template"] == "/api/products"));
    for key in [
        "id",
        "method",
        "host",
        "path_template",
        "graphql_operation",
        "kind",
        "bucket",
    ] {
        assert!(endpoints[0].get(key).is_some(), "endpoint lacks {key}");
    }
    assert!(json["intent"]["ranked"][0]["reasons"].is_array());
    assert!(json["validation"]["results"].is_array());
    assert!(json["synthesis"]["snippets"][0]["code"]
        .as_str()
        .unwrap()
        .contains("curl"));
    assert!(json["synthesis"]["notes"].is_array());
    assert!(!json.to_string().contains("s3cr3t-session"));

    stack.stop().await;
}

/// Detection that hangs on its first delivery, as a process would that died mid-message.
struct HangsOnFirstRun {
    runs: Arc<AtomicU32>,
    hanging: Arc<tokio::sync::Notify>,
}

impl Stage for HangsOnFirstRun {
    const STEP: &'static str = "detection";

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            self.hanging.notify_one();
            std::future::pending::<()>().await;
        }
        recon_server::stages::DetectionStage.run(ctx).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stage_that_dies_before_acking_is_redelivered_without_duplicates() {
    let roles: Vec<Role> = recon_server::parse_targets("all")
        .unwrap()
        .into_iter()
        .filter(|role| *role != Role::Stage("detection"))
        .collect();
    let stack = TestStack::start_roles(&roles).await;
    let runs = Arc::new(AtomicU32::new(0));
    let hanging = Arc::new(tokio::sync::Notify::new());
    let mut dying = JoinSet::new();
    let dying_shutdown = tokio_util::sync::CancellationToken::new();
    recon_server::spawn_stage(
        &mut dying,
        stack.deps().await,
        HangsOnFirstRun {
            runs: runs.clone(),
            hanging: hanging.clone(),
        },
        dying_shutdown,
    );

    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    tokio::time::timeout(SCAN_TIMEOUT, hanging.notified())
        .await
        .expect("detection started");
    dying.abort_all();
    while dying.join_next().await.is_some() {}

    // A fresh replica picks the message up once its ack deadline passes.
    let mut replica = JoinSet::new();
    recon_server::spawn_stage(
        &mut replica,
        stack.deps().await,
        HangsOnFirstRun {
            runs: runs.clone(),
            hanging,
        },
        stack.shutdown.clone(),
    );
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    assert_eq!(
        sequence(&events),
        recon_tests::successful_scan_sequence(),
        "no duplicate or missing event"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2, "redelivered exactly once");
    let stage_rows = stage_runs(&stack, scan_id).await;
    assert_eq!(stage_rows.len(), recon_tests::steps().len());
    assert!(
        stage_rows.iter().all(|(_, runs)| *runs == 1),
        "{stage_rows:?}"
    );
    assert_eq!(
        stack.scan(scan_id).await.status,
        recon_contracts::ScanStatus::Complete
    );
    stack.stop().await;
    replica.abort_all();
}

struct AlwaysFails {
    runs: Arc<AtomicU32>,
}

impl Stage for AlwaysFails {
    const STEP: &'static str = "analysis";

    async fn run(&self, _ctx: &StageContext) -> Result<StageOutput, StageError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Err(StageError::permanent(
            "the capture has no endpoint to analyse",
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permanent_failure_errors_the_scan_once() {
    let roles: Vec<Role> = recon_server::parse_targets("all")
        .unwrap()
        .into_iter()
        .filter(|role| *role != Role::Stage("analysis"))
        .collect();
    let stack = TestStack::start_roles(&roles).await;
    let runs = Arc::new(AtomicU32::new(0));
    let mut failing = JoinSet::new();
    recon_server::spawn_stage(
        &mut failing,
        stack.deps().await,
        AlwaysFails { runs: runs.clone() },
        stack.shutdown.clone(),
    );
    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    assert_eq!(
        sequence(&events),
        vec![
            (Step::named("detection"), StepStatus::Started),
            (Step::named("detection"), StepStatus::Complete),
            (Step::named("analysis"), StepStatus::Started),
            (Step::named("analysis"), StepStatus::Errored),
        ]
    );
    assert_eq!(
        events[3].message.as_deref(),
        Some("the capture has no endpoint to analyse")
    );
    let view = stack.scan(scan_id).await;
    assert_eq!(view.status, recon_contracts::ScanStatus::Errored);
    assert!(view.error.unwrap().contains("no endpoint"));

    // Longer than several ack deadlines: the message was terminated, not redelivered.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(stack.events_page(scan_id, 4).await.events, vec![]);
    let stream = stack
        .deps()
        .await
        .bus
        .jetstream
        .get_stream(names::SCANS_STREAM)
        .await
        .expect("stream");
    let mut consumer: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer("analysis").await.expect("consumer");
    let info = consumer.info().await.expect("consumer info");
    assert_eq!(info.num_ack_pending, 0);
    assert_eq!(info.num_pending, 0);
    stack.stop().await;
    failing.abort_all();
}
