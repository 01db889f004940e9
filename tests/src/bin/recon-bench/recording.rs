//! Event recording under load: many scans publish their step events at once while 1, 2 or 4
//! separate `recon-server --target events` processes record them, each process consuming
//! every partition. The figure is events recorded per second (first publish to the last row
//! committed) and, for a sample of scans followed over the WebSocket from the in-process api,
//! the latency from publish to receipt under that load. A row with one partition shows the
//! single line the recorders shared before events were partitioned. Each run is a fresh world.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use recon_server::Role;
use recon_tests::TestStack;
use uuid::Uuid;

use crate::events::{latencies, read_websocket, scan_events, Receipts};
use crate::server_process::ServerProcess;
use crate::stats::{ms, summarize};
use crate::table::Row;
use crate::Options;

/// (partitions, recorder processes) of each run.
const RUNS: [(u16, usize); 4] = [(1, 1), (8, 1), (8, 2), (8, 4)];
/// Scans of each run followed over a WebSocket.
const WATCHED: usize = 16;

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let scans = if options.quick { 32 } else { 128 };
    let mut rows = Vec::new();
    for (partitions, processes) in RUNS {
        let run = record_under_load(scans, partitions, processes).await?;
        let latency = summarize(run.latencies);
        rows.push(Row::info(
            format!(
                "events recorded, {partitions} partition(s), {processes} recorder process(es), \
                 {scans} scans publishing at once"
            ),
            format!(
                "{:.0} events/s ({} events in {}) · WebSocket p50 {} · p99 {} (n={})",
                run.events as f64 / run.span.as_secs_f64(),
                run.events,
                ms(run.span),
                ms(latency.p50),
                ms(latency.p99),
                latency.n
            ),
        ));
    }
    Ok(rows)
}

struct LoadRun {
    events: usize,
    span: Duration,
    latencies: Vec<Duration>,
}

async fn record_under_load(scans: usize, partitions: u16, processes: usize) -> Result<LoadRun> {
    let layout = partitions.to_string();
    let settings = [("RECON_EVENT_PARTITIONS", layout.as_str())];
    let stack = TestStack::start_with(&[Role::Api], &settings).await;
    let deps = stack.deps().await;
    let env = [("RECON_EVENT_PARTITIONS", layout.clone())];
    let recorders = futures::future::try_join_all(
        (0..processes).map(|_| ServerProcess::spawn_with(&stack, "events", &env)),
    )
    .await?;

    let mut scan_ids = Vec::with_capacity(scans);
    for _ in 0..scans {
        scan_ids.push(stack.create_scan("lamp prices").await.scan_id);
    }
    let receipts = Receipts::default();
    let readers: Vec<_> = scan_ids
        .iter()
        .take(WATCHED)
        .map(|&scan_id| {
            tokio::spawn(read_websocket(
                stack.api.clone(),
                stack.key.clone(),
                scan_id,
                receipts.clone(),
            ))
        })
        .collect();
    // Let the sockets subscribe before the first event.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let events = scans * scan_events(Uuid::nil()).len();
    let started = Instant::now();
    let publishers: Vec<_> = scan_ids
        .iter()
        .map(|&scan_id| {
            let bus = deps.bus.clone();
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for event in scan_events(scan_id) {
                    let at = Instant::now();
                    bus.publish_event(&event).await?;
                    sent.push((event.id, at));
                }
                anyhow::Ok(sent)
            })
        })
        .collect();
    wait_until_recorded(&stack, events).await?;
    let span = started.elapsed();

    let mut sent = Vec::new();
    for publisher in publishers {
        sent.extend(publisher.await??);
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .context("a WebSocket did not close after its terminal event")???;
    }
    let watched: HashSet<Uuid> = scan_ids
        .iter()
        .take(WATCHED)
        .flat_map(|&scan_id| scan_events(scan_id).into_iter().map(|event| event.id))
        .collect();
    let watched_sent: Vec<(Uuid, Instant)> = sent
        .into_iter()
        .filter(|(id, _)| watched.contains(id))
        .collect();
    let latencies = latencies(&watched_sent, &receipts)?;
    for recorder in recorders {
        recorder.stop().await;
    }
    stack.stop().await;
    Ok(LoadRun {
        events,
        span,
        latencies,
    })
}

async fn wait_until_recorded(stack: &TestStack, events: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM scan_events")
            .fetch_one(&stack.db)
            .await?;
        if stored as usize >= events {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {stored} of {events} events recorded within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
