//! A Postgres outage longer than any retry budget: the test's own cluster is stopped for 90 s
//! while a scan is inside analysis. The stage holds the message (progress acks, no nak), so the
//! outage uses up none of its deliveries; the orphan sweep, which runs every few seconds with an
//! idle limit far below the outage, does not error the scan; and once the database is back the
//! scan completes with every event once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recon_contracts::{names, ScanStatus};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_server::Role;
use recon_tests::{fixtures, PostgresCluster, TestStack};
use tokio::sync::Notify;
use tokio::task::JoinSet;

const OUTAGE: Duration = Duration::from_secs(90);
/// Only there so a broken run fails instead of hanging; nothing asserts on durations.
const SCAN_TIMEOUT: Duration = Duration::from_secs(180);

/// A stage whose first run waits at a gate, so the outage starts while it holds the message.
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
async fn a_90_second_postgres_outage_mid_scan_holds_the_scan_and_it_completes_after() {
    let mut postgres = PostgresCluster::start().await;
    let roles: Vec<Role> = recon_server::parse_targets("all")
        .expect("all")
        .into_iter()
        .filter(|role| *role != Role::Stage("analysis"))
        .collect();
    let stack = TestStack::start_on_cluster(
        &postgres.url("postgres"),
        &roles,
        &[
            // A sweep that saw only the clock would error the scan a third of the way in.
            ("RECON_ORPHAN_AFTER_SECS", "30"),
            ("RECON_SWEEP_INTERVAL_SECS", "2"),
        ],
    )
    .await;
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

    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    tokio::time::timeout(SCAN_TIMEOUT, entered.notified())
        .await
        .expect("analysis started");

    postgres.stop().await;
    let outage = Instant::now();
    // Analysis now needs the database (the detection result), which is gone.
    release.notify_one();
    tokio::time::sleep(OUTAGE).await;
    postgres.start_again().await;
    eprintln!("Postgres was down for {:?}", outage.elapsed());

    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    let sequence: Vec<_> = events.iter().map(|e| (e.step.clone(), e.status)).collect();
    assert_eq!(
        sequence,
        recon_tests::successful_scan_sequence(),
        "the scan went on where it stopped, every event once"
    );
    let cursors: Vec<i64> = events.iter().map(|e| e.cursor).collect();
    assert_eq!(cursors, (1..=events.len() as i64).collect::<Vec<_>>());
    assert_eq!(stack.scan(scan_id).await.status, ScanStatus::Complete);
    eprintln!(
        "scan complete {:?} after the outage began; analysis ran {} times",
        outage.elapsed(),
        runs.load(Ordering::SeqCst)
    );

    // The held message was delivered once: the outage used up no delivery.
    let deps = stack.deps().await;
    let consumer = deps
        .bus
        .jetstream
        .get_stream(names::SCANS_STREAM)
        .await
        .expect("SCANS")
        .consumer_info("analysis")
        .await
        .expect("analysis consumer");
    assert_eq!(consumer.num_redelivered, 0, "{consumer:?}");
    assert_eq!(consumer.num_ack_pending, 0, "{consumer:?}");
    stack.stop().await;
    analysis.abort_all();
}
