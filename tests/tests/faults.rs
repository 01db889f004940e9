//! Fault tests: the pipeline loses nothing and repeats nothing when nats-server restarts
//! mid-scan, when a capture upload is retried, when every stage runs twice over 20
//! concurrent scans, when a real stage process is SIGKILLed mid-message, and when Postgres
//! is unreachable for ten seconds (the api answers 503 and reports not ready meanwhile), and
//! when a stored capture is over the stages' bounds (the scan fails once, no crash loop).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recon_contracts::{names, Capture, RecordedEvent, ScanStatus, Step, StepStatus};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_server::Role;
use recon_tests::{fixtures, harness_env, TestStack};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Only there so a broken run fails instead of hanging; nothing asserts on durations.
const SCAN_TIMEOUT: Duration = Duration::from_secs(180);

/// Every (step, status) once, in pipeline order, with cursors 1, 2, 3… (strictly increasing,
/// no gap), and the scan itself complete.
async fn assert_complete_once_in_order(stack: &TestStack, scan_id: Uuid, events: &[RecordedEvent]) {
    let sequence: Vec<(Step, StepStatus)> =
        events.iter().map(|e| (e.step.clone(), e.status)).collect();
    assert_eq!(
        sequence,
        recon_tests::successful_scan_sequence(),
        "scan {scan_id}: duplicate, missing or reordered events"
    );
    let cursors: Vec<i64> = events.iter().map(|e| e.cursor).collect();
    assert_eq!(
        cursors,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "scan {scan_id}: cursors"
    );
    // The full history read back in one page matches what the poller collected.
    assert_eq!(stack.events_page(scan_id, 0).await.events, events);
    assert_eq!(stack.scan(scan_id).await.status, ScanStatus::Complete);
}

async fn stage_runs(stack: &TestStack, scan_id: Uuid) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT stage, runs FROM stage_results WHERE scan_id = $1 ORDER BY stage")
        .bind(scan_id)
        .fetch_all(&stack.db)
        .await
        .expect("stage results")
}

/// Every stage's role, in pipeline order.
fn stage_roles() -> Vec<Role> {
    recon_server::parse_targets("pipeline").unwrap()
}

fn all_roles_but(step: &'static str) -> Vec<Role> {
    recon_server::parse_targets("all")
        .unwrap()
        .into_iter()
        .filter(|role| *role != Role::Stage(step))
        .collect()
}

/// A stage whose first run stops at a gate until the test opens it, so a fault can be
/// injected while a message is in flight.
struct Gated<S> {
    inner: S,
    runs: Arc<AtomicU32>,
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl<S: Stage> Stage for Gated<S> {
    const STEP: &'static str = S::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.inner.run(ctx).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nats_restart_mid_scan_loses_no_scan_and_repeats_no_event() {
    let mut stack = TestStack::start_roles(&all_roles_but("analysis")).await;
    let (runs, entered, release) = (
        Arc::new(AtomicU32::new(0)),
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
    );
    let mut analysis = JoinSet::new();
    recon_server::spawn_stage(
        &mut analysis,
        stack.deps().await,
        Gated {
            inner: recon_server::stages::AnalysisStage,
            runs: runs.clone(),
            entered: entered.clone(),
            release: release.clone(),
        },
        stack.shutdown.clone(),
    );

    // The first scan is inside analysis; the second waits in the file-backed stream behind it.
    let in_flight = stack.run_scan(&fixtures::shop_capture()).await;
    tokio::time::timeout(SCAN_TIMEOUT, entered.notified())
        .await
        .expect("analysis started");
    let queued = stack.run_scan(&fixtures::shop_capture()).await;

    let restarted = Instant::now();
    stack.nats.restart().await;
    eprintln!("nats-server back after {:?}", restarted.elapsed());
    release.notify_one();

    for scan_id in [in_flight, queued] {
        let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
        assert_complete_once_in_order(&stack, scan_id, &events).await;
        let rows = stage_runs(&stack, scan_id).await;
        eprintln!("scan {scan_id}: stage runs after the restart {rows:?}");
        assert_eq!(rows.len(), recon_tests::steps().len(), "{rows:?}");
    }
    eprintln!(
        "gated analysis ran {} times for the two scans",
        runs.load(Ordering::SeqCst)
    );

    // The restarted server still takes new work.
    let after = stack.run_scan(&fixtures::shop_capture()).await;
    let events = stack.wait_for_terminal(after, SCAN_TIMEOUT).await;
    assert_complete_once_in_order(&stack, after, &events).await;
    stack.stop().await;
    analysis.abort_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_nats_restarts_at_arbitrary_points_lose_no_scan() {
    let mut stack = TestStack::start().await;
    let mut scans = Vec::new();
    for _ in 0..6 {
        scans.push(stack.run_scan(&fixtures::shop_capture()).await);
    }
    // Wherever the scans are by now, each restart catches some of them between steps.
    for _ in 0..3 {
        stack.nats.restart().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut reruns = 0;
    for scan_id in scans {
        let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
        assert_complete_once_in_order(&stack, scan_id, &events).await;
        let rows = stage_runs(&stack, scan_id).await;
        assert_eq!(rows.len(), recon_tests::steps().len(), "{rows:?}");
        reruns += rows.iter().map(|(_, runs)| runs - 1).sum::<i32>();
    }
    eprintln!("stage re-runs across 6 scans and 3 restarts: {reruns}");
    stack.stop().await;
}

/// POSTs the same gzip body and returns the status and the JSON answer.
async fn post_capture(stack: &TestStack, scan_id: Uuid, body: Vec<u8>) -> (u16, serde_json::Value) {
    let response = stack
        .capture_request(scan_id, body)
        .send()
        .await
        .expect("POST capture");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_upload_of_the_same_capture_starts_one_pipeline_run() {
    let stack = TestStack::start().await;
    let created = stack.create_scan("product prices").await;
    let scan_id = created.scan_id;
    let body = recon_runtime::codec::to_gzip_json(&fixtures::shop_capture()).expect("gzip");

    // Two copies racing (a client that timed out and retried at once), then a late retry.
    let (first, second) = tokio::join!(
        post_capture(&stack, scan_id, body.clone()),
        post_capture(&stack, scan_id, body.clone())
    );
    assert_eq!(first.0, 202, "{first:?}");
    assert_eq!(second, first, "the racing retry gets the same 202 body");
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    let late = post_capture(&stack, scan_id, body).await;
    assert_eq!(
        late, first,
        "a retry after the scan finished gets the same 202 body"
    );

    // A different capture for the same scan is a conflict, not a second run.
    let mut other = fixtures::shop_capture();
    other.requests.truncate(3);
    let (status, answer) = post_capture(
        &stack,
        scan_id,
        recon_runtime::codec::to_gzip_json(&other).unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{answer}");

    // Longer than several ack deadlines, so a second run would have started by now.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let events_after = stack.events_page(scan_id, 0).await.events;
    assert_eq!(events_after, events);
    assert_complete_once_in_order(&stack, scan_id, &events).await;
    let started = events
        .iter()
        .filter(|e| e.status == StepStatus::Started)
        .count();
    assert_eq!(
        started,
        recon_tests::steps().len(),
        "one `started` per step"
    );
    let rows = stage_runs(&stack, scan_id).await;
    assert_eq!(rows.len(), recon_tests::steps().len());
    assert!(
        rows.iter().all(|(_, runs)| *runs == 1),
        "every stage ran once: {rows:?}"
    );
    // Nothing is left queued or unacknowledged for any stage.
    let deps = stack.deps().await;
    for step in recon_tests::steps() {
        let lag = deps
            .bus
            .consumer_lag(names::SCANS_STREAM, step.as_str())
            .await
            .expect("consumer lag");
        assert_eq!(lag, 0, "{step} still has work");
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_scans_with_two_replicas_of_every_stage_all_complete() {
    let mut stack = TestStack::start().await;
    let replicas: Vec<Role> = std::iter::once(Role::Events).chain(stage_roles()).collect();
    stack.add_roles(&replicas).await;

    let started = Instant::now();
    let shared = &stack;
    let scans = futures::future::join_all((0..20).map(|_| async move {
        let scan_id = shared.run_scan(&fixtures::shop_capture()).await;
        let events = shared.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
        (scan_id, events)
    }))
    .await;
    eprintln!("20 scans finished in {:?}", started.elapsed());

    let mut reruns = 0;
    for (scan_id, events) in &scans {
        assert_complete_once_in_order(&stack, *scan_id, events).await;
        let rows = stage_runs(&stack, *scan_id).await;
        assert_eq!(rows.len(), recon_tests::steps().len(), "{rows:?}");
        reruns += rows.iter().map(|(_, runs)| runs - 1).sum::<i32>();
    }
    let distinct: std::collections::HashSet<Uuid> = scans.iter().map(|(id, _)| *id).collect();
    assert_eq!(distinct.len(), 20);
    // A re-run after a missed progress ack is allowed (results are overwritten, events
    // deduplicated); it is reported, not asserted, because it depends on machine load.
    eprintln!("stage re-runs across the 20 scans: {reruns}");
    stack.stop().await;
}

/// A loopback API whose first request never answers, so validation is caught mid-message.
struct SlowSite {
    address: SocketAddr,
    hits: Arc<AtomicU32>,
    first_hit: Arc<Notify>,
}

impl SlowSite {
    async fn start() -> SlowSite {
        let hits = Arc::new(AtomicU32::new(0));
        let first_hit = Arc::new(Notify::new());
        let held = Arc::new(AtomicBool::new(false));
        let (h, f) = (hits.clone(), first_hit.clone());
        let app = axum::Router::new().fallback(move || {
            let (hits, first_hit, held) = (h.clone(), f.clone(), held.clone());
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                if !held.swap(true, Ordering::SeqCst) {
                    first_hit.notify_one();
                    std::future::pending::<()>().await;
                }
                (
                    [("content-type", "application/json")],
                    r#"{"items":[{"id":1842,"price":19.9}],"next":2}"#,
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the slow site");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SlowSite {
            address,
            hits,
            first_hit,
        }
    }

    /// The shop capture, pointed at this site.
    fn capture(&self) -> Capture {
        let base = format!("http://{}", self.address);
        let mut capture = fixtures::shop_capture();
        let rebase = |url: &mut String| *url = url.replace("https://demo-shop.recon.test", &base);
        rebase(&mut capture.target_url);
        for page in &mut capture.pages {
            rebase(&mut page.url);
        }
        for request in &mut capture.requests {
            rebase(&mut request.url);
        }
        for cookie in &mut capture.cookies {
            cookie.domain = "127.0.0.1".to_owned();
            cookie.secure = false;
        }
        capture
    }
}

/// A real `recon-server --target validation` process sharing the stack's database, NATS,
/// blob and secrets stores.
async fn spawn_validation(
    stack: &TestStack,
    log: &PathBuf,
    site_port: u16,
) -> tokio::process::Child {
    let file = std::fs::File::create(log).expect("log file");
    tokio::process::Command::new(harness_env("RECON_TEST_SERVER"))
        .args(["--target", "validation"])
        .env("DATABASE_URL", &stack.config.database_url)
        .env("NATS_URL", &stack.config.nats_url)
        .env(
            "RECON_LISTEN",
            format!("127.0.0.1:{}", recon_tests::free_port()),
        )
        .env("RECON_BLOB_URL", &stack.config.blob_url)
        .env("RECON_SECRETS_URL", &stack.config.secrets_url)
        .env("RECON_ACK_WAIT_SECS", "2")
        .env("RECON_RETRY_BACKOFF_MS", "100")
        .env("RECON_VALIDATION_ALLOW_LOOPBACK", "1")
        .env("RECON_VALIDATION_ALLOWED_PORTS", site_port.to_string())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .expect("start recon-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stage_process_killed_mid_message_is_replaced_without_duplicates() {
    let stack = TestStack::start_roles(&all_roles_but("validation")).await;
    let site = SlowSite::start().await;
    let logs = tempfile::tempdir().expect("log dir");
    let (first_log, second_log) = (
        logs.path().join("validation-1.log"),
        logs.path().join("validation-2.log"),
    );
    let mut doomed = spawn_validation(&stack, &first_log, site.address.port()).await;

    let scan_id = stack.run_scan(&site.capture()).await;
    // Validation is now inside its run, waiting on a replay that never answers.
    if tokio::time::timeout(SCAN_TIMEOUT, site.first_hit.notified())
        .await
        .is_err()
    {
        panic!(
            "validation never replayed a request:\n{}",
            std::fs::read_to_string(&first_log).unwrap_or_default()
        );
    }
    doomed.kill().await.expect("SIGKILL the validation process");
    let status = doomed.wait().await.expect("reap");
    eprintln!("validation process killed: {status}");
    // `started` was confirmed by JetStream before the replay; the recorder stores it soon.
    let deadline = Instant::now() + SCAN_TIMEOUT;
    loop {
        let recorded = stack.events_page(scan_id, 0).await.events;
        let last = recorded.last().map(|e| (e.step.clone(), e.status));
        if last == Some((Step::named("validation"), StepStatus::Started)) {
            break;
        }
        let steps = recon_tests::steps();
        let position = |step: &Step| steps.iter().position(|s| s == step);
        let validation = Step::named("validation");
        let past_validation = recorded.iter().any(|e| {
            position(&e.step) > position(&validation)
                || (e.step == validation && e.status != StepStatus::Started)
        });
        assert!(
            Instant::now() < deadline && !past_validation,
            "the kill did not come mid-message: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut replacement = spawn_validation(&stack, &second_log, site.address.port()).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    let log = std::fs::read_to_string(&second_log).unwrap_or_default();
    assert_complete_once_in_order(&stack, scan_id, &events).await;
    let rows = stage_runs(&stack, scan_id).await;
    assert_eq!(rows.len(), recon_tests::steps().len(), "{rows:?}");
    assert!(
        rows.iter().all(|(_, runs)| *runs == 1),
        "every step's result written once: {rows:?}\n{log}"
    );
    assert!(
        site.hits.load(Ordering::SeqCst) > 1,
        "the replacement replayed again"
    );
    replacement.kill().await.expect("stop the replacement");
    stack.stop().await;
}

/// A loopback TCP relay to Postgres that can be cut: `cut` drops every open connection and
/// refuses new ones (accept, then close) until `restore`, as a database outage looks to clients.
struct CuttableRelay {
    port: u16,
    down: Arc<AtomicBool>,
    generation: Arc<std::sync::Mutex<tokio_util::sync::CancellationToken>>,
}

impl CuttableRelay {
    async fn start(upstream: SocketAddr) -> CuttableRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let down = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(std::sync::Mutex::new(
            tokio_util::sync::CancellationToken::new(),
        ));
        let (relay_down, relay_generation) = (down.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                // Read under the lock `cut` holds, so no connection slips past a cut.
                let cut = {
                    let generation = relay_generation.lock().unwrap();
                    if relay_down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    generation.clone()
                };
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        CuttableRelay {
            port,
            down,
            generation,
        }
    }

    fn cut(&self) {
        let mut generation = self.generation.lock().unwrap();
        self.down.store(true, Ordering::SeqCst);
        generation.cancel();
        *generation = tokio_util::sync::CancellationToken::new();
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_makes_the_api_answer_503_and_the_scan_resumes_after() {
    // The database and NATS first; the roles then reach Postgres only through the relay.
    let mut stack = TestStack::start_roles(&[]).await;
    let mut database_url = url::Url::parse(&stack.config.database_url).expect("database URL");
    let upstream: SocketAddr = format!(
        "{}:{}",
        database_url.host_str().expect("database host"),
        database_url.port().unwrap_or(5432)
    )
    .parse()
    .expect("loopback database address");
    let relay = CuttableRelay::start(upstream).await;
    database_url.set_port(Some(relay.port)).unwrap();
    stack.config.database_url = database_url.to_string();
    stack.config.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    stack.add_roles(&all_roles_but("detection")).await;
    let ops = format!(
        "http://{}",
        stack
            .servers
            .last()
            .expect("roles started")
            .ops_address
            .expect("ops address")
    );
    let (runs, entered, release) = (
        Arc::new(AtomicU32::new(0)),
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
    );
    let mut detection = JoinSet::new();
    recon_server::spawn_stage(
        &mut detection,
        stack.deps().await,
        Gated {
            inner: recon_server::stages::DetectionStage,
            runs: runs.clone(),
            entered: entered.clone(),
            release: release.clone(),
        },
        stack.shutdown.clone(),
    );

    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    tokio::time::timeout(SCAN_TIMEOUT, entered.notified())
        .await
        .expect("detection started");

    // Ten seconds without Postgres, with detection mid-message.
    let outage = Instant::now();
    relay.cut();
    release.notify_one();
    for base in [stack.api.clone(), ops.clone()] {
        let ready = stack
            .http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 503, "{base}/readyz during the outage");
        let body: serde_json::Value = ready.json().await.expect("readyz body");
        assert_eq!(body["status"], "not_ready");
        assert_ne!(body["checks"]["database"], "ok", "{body}");
        assert_eq!(body["checks"]["nats"], "ok", "{body}");
    }
    for path in [
        format!("/scans/{scan_id}"),
        format!("/scans/{scan_id}/events"),
    ] {
        let answer = stack
            .authed(stack.http.get(stack.url(&path)))
            .send()
            .await
            .expect("GET during the outage");
        assert_eq!(answer.status(), 503, "GET {path} during the outage");
    }
    let (status, answer) = post_capture(
        &stack,
        scan_id,
        recon_runtime::codec::to_gzip_json(&fixtures::shop_capture()).unwrap(),
    )
    .await;
    assert_eq!(status, 503, "POST capture during the outage: {answer}");
    let create = stack
        .authed(stack.http.post(stack.url("/scans")))
        .json(&serde_json::json!({"target_url": "https://demo-shop.recon.test/"}))
        .send()
        .await
        .expect("POST /scans");
    assert_eq!(create.status(), 503, "POST /scans during the outage");
    let elapsed = outage.elapsed();
    if elapsed < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_secs(10) - elapsed).await;
    }
    relay.restore();
    eprintln!("database down for {:?}", outage.elapsed());

    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    assert_complete_once_in_order(&stack, scan_id, &events).await;
    eprintln!(
        "detection ran {} times across the outage; stage runs {:?}",
        runs.load(Ordering::SeqCst),
        stage_runs(&stack, scan_id).await
    );
    let ready = stack
        .http
        .get(stack.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200, "ready again after the outage");
    stack.stop().await;
    detection.abort_all();
}

/// The api accepted a capture under its bounds; the stages run with lower ones (an operator
/// lowered them while the scan was queued). Loading it must fail the scan once, with the limit
/// named, not crash or retry the stage over and over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stored_capture_over_the_stages_bounds_fails_its_scan_once() {
    let mut stack = TestStack::start_roles(&[Role::Api, Role::Events]).await;
    let mut capture = fixtures::shop_capture();
    capture.streams = vec![recon_contracts::StreamSummary {
        kind: recon_contracts::StreamKind::WebSocket,
        url: "wss://demo-shop.recon.test/live".to_owned(),
        messages_sent: 0,
        messages_received: 50,
        samples: vec!["{\"price\":1}".to_owned(); 50],
    }];
    let scan_id = stack.run_scan(&capture).await;

    stack.config.limits.bounds = stack
        .config
        .limits
        .bounds
        .clone()
        .with(recon_contracts::Limit::SamplesPerStream, 10);
    stack.add_roles(&stage_roles()).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    let view = stack.scan(scan_id).await;
    assert_eq!(view.status, ScanStatus::Errored, "{events:?}");
    let error = view.error.unwrap_or_default();
    assert!(error.contains("samples_per_stream"), "{error}");
    let last = events.last().expect("a terminal event");
    assert_eq!(
        (last.step.clone(), last.status),
        (Step::named("detection"), StepStatus::Errored)
    );

    // Longer than several ack deadlines: a retried or redelivered message would show by now.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = stack.events_page(scan_id, 0).await.events;
    assert_eq!(after, events, "no run after the permanent failure");
    let started = after
        .iter()
        .filter(|event| event.status == StepStatus::Started)
        .count();
    assert_eq!(started, 1, "detection started once: {after:?}");
    let lag = stack
        .deps()
        .await
        .bus
        .consumer_lag(names::SCANS_STREAM, "detection")
        .await
        .expect("consumer lag");
    assert_eq!(
        lag, 0,
        "the message was terminated, not left for redelivery"
    );

    // The stages are healthy: a capture within their bounds goes through.
    let good = stack.run_scan(&fixtures::shop_capture()).await;
    let events = stack.wait_for_terminal(good, SCAN_TIMEOUT).await;
    assert_complete_once_in_order(&stack, good, &events).await;
    stack.stop().await;
}
