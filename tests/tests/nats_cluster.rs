//! The pipeline on a three-node JetStream cluster with `RECON_NATS_REPLICAS=3`: concurrent
//! scans survive a SIGKILL of the SCANS stream's leader mid-scan and, later, of a follower, each
//! node restarted on its own store. Every scan completes, every event is recorded exactly once
//! in order, every stage result is one row. Also: streams made with one replica are scaled to
//! the configured count at start-up, and a single server asked for three replicas stops the
//! start with an error naming the setting.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use recon_contracts::{names, RecordedEvent, ScanStatus};
use recon_runtime::config::PipelineSettings;
use recon_runtime::nats::Bus;
use recon_tests::{fixtures, NatsCluster, NatsServer, TestStack};
use uuid::Uuid;

/// Only there so a broken run fails instead of hanging; nothing asserts on durations.
const SCAN_TIMEOUT: Duration = Duration::from_secs(240);
const LEADER_TIMEOUT: Duration = Duration::from_secs(60);
const SCANS_PER_WAVE: usize = 6;
/// The servers of these tests run with the default `RECON_EVENT_PARTITIONS`.
const PARTITIONS: u16 = 8;

fn replicated(replicas: usize) -> PipelineSettings {
    PipelineSettings {
        replicas,
        event_partitions: PARTITIONS,
        ..PipelineSettings::default()
    }
}

async fn jetstream_of(cluster: &NatsCluster) -> jetstream::Context {
    let servers = recon_runtime::nats::server_addresses(&cluster.urls()).expect("cluster URLs");
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(servers)
        .await
        .expect("connect to the cluster");
    jetstream::new(client)
}

/// The server leading `stream` and its followers, as the JetStream API reports them.
async fn placement(js: &jetstream::Context, stream: &str) -> Option<(String, Vec<String>)> {
    let mut stream = js.get_stream(stream).await.ok()?;
    let info = stream.info().await.ok()?;
    let cluster = info.cluster.clone()?;
    let followers = cluster
        .replicas
        .iter()
        .filter(|peer| peer.current)
        .map(|peer| peer.name.clone())
        .collect();
    Some((cluster.leader?, followers))
}

/// Waits until `stream` has a leader and two current followers (the scaling of a stream made
/// with one replica takes a moment).
async fn placed_on_three(js: &jetstream::Context, stream: &str) -> (String, Vec<String>) {
    let deadline = Instant::now() + LEADER_TIMEOUT;
    loop {
        let placed = placement(js, stream).await;
        if let Some((leader, followers)) = &placed {
            if followers.len() == 2 {
                return (leader.clone(), followers.clone());
            }
        }
        assert!(
            Instant::now() < deadline,
            "{stream} is not on three servers within {LEADER_TIMEOUT:?}: {placed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the roles made `consumer` (they start in the background) and it has two
/// followers.
async fn consumer_on_three(js: &jetstream::Context, stream: &str, consumer: &str) {
    let deadline = Instant::now() + LEADER_TIMEOUT;
    loop {
        let info = match js.get_stream(stream).await {
            Ok(stream) => stream
                .consumer_info(consumer)
                .await
                .map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        let followers = info
            .as_ref()
            .ok()
            .and_then(|info| info.cluster.as_ref())
            .map_or(0, |cluster| cluster.replicas.len());
        if followers == 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "consumer {consumer} is not on three servers within {LEADER_TIMEOUT:?}: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `stream` has a leader other than `not`, with every follower current.
async fn leader_other_than(js: &jetstream::Context, stream: &str, not: Option<&str>) -> String {
    let deadline = Instant::now() + LEADER_TIMEOUT;
    loop {
        if let Some((leader, _)) = placement(js, stream).await {
            if Some(leader.as_str()) != not {
                return leader;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{stream} had no new leader within {LEADER_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn start_scans(stack: &TestStack, count: usize) -> Vec<Uuid> {
    let mut scans = Vec::with_capacity(count);
    for _ in 0..count {
        scans.push(stack.run_scan(&fixtures::shop_capture()).await);
    }
    scans
}

/// Waits until one of `scans` has an event recorded, so the wave is under way; returns how many
/// of them had ended by then.
async fn wait_until_under_way(stack: &TestStack, scans: &[Uuid]) -> i64 {
    let deadline = Instant::now() + SCAN_TIMEOUT;
    loop {
        let (events, ended): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM scan_events WHERE scan_id = ANY($1)), \
                    (SELECT count(*) FROM scans WHERE id = ANY($1) \
                     AND status IN ('complete', 'errored'))",
        )
        .bind(scans)
        .fetch_one(&stack.db)
        .await
        .expect("read the wave's progress");
        if events > 0 {
            return ended;
        }
        assert!(Instant::now() < deadline, "no scan of the wave started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every (step, status) once, in pipeline order, cursors 1, 2, 3…, one row per event id in the
/// table, one result row per stage; returns the stage re-runs (a redelivery after a kill may
/// run a stage again, overwriting its row).
async fn assert_complete_exactly_once(
    stack: &TestStack,
    scan_id: Uuid,
    events: &[RecordedEvent],
) -> i32 {
    let sequence: Vec<_> = events.iter().map(|e| (e.step.clone(), e.status)).collect();
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
    let (rows, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT (step, status)) FROM scan_events WHERE scan_id = $1",
    )
    .bind(scan_id)
    .fetch_one(&stack.db)
    .await
    .expect("count events");
    assert_eq!((rows, distinct), (events.len() as i64, events.len() as i64));
    assert_eq!(stack.scan(scan_id).await.status, ScanStatus::Complete);
    let results: Vec<(String, i32)> =
        sqlx::query_as("SELECT stage, runs FROM stage_results WHERE scan_id = $1 ORDER BY stage")
            .bind(scan_id)
            .fetch_all(&stack.db)
            .await
            .expect("stage results");
    assert_eq!(
        results.len(),
        recon_tests::steps().len(),
        "scan {scan_id}: {results:?}"
    );
    results.iter().map(|(_, runs)| runs - 1).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scans_complete_once_through_the_loss_of_the_stream_leader_and_of_a_follower() {
    let mut cluster = NatsCluster::start(3).await;
    let js = jetstream_of(&cluster).await;
    // Streams made earlier with one replica (an installation before the cluster) are scaled
    // when the server starts with three.
    Bus::connect(&cluster.urls())
        .await
        .expect("connect")
        .ensure_streams(&replicated(1))
        .await
        .expect("streams with one replica");
    let urls = cluster.urls();
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").expect("all"),
        &[("NATS_URL", &urls), ("RECON_NATS_REPLICAS", "3")],
    )
    .await;
    for stream in [names::SCANS_STREAM, names::SCAN_EVENTS_STREAM] {
        let (leader, followers) = placed_on_three(&js, stream).await;
        eprintln!("{stream}: leader {leader}, followers {followers:?}");
    }
    for step in recon_tests::steps() {
        consumer_on_three(&js, names::SCANS_STREAM, step.as_str()).await;
    }
    for partition in 0..PARTITIONS {
        let consumer = names::events_partition_consumer(PARTITIONS, partition);
        consumer_on_three(&js, names::SCAN_EVENTS_STREAM, &consumer).await;
    }

    let started = Instant::now();
    let first = start_scans(&stack, SCANS_PER_WAVE).await;
    let ended = wait_until_under_way(&stack, &first).await;
    let leader = leader_other_than(&js, names::SCANS_STREAM, None).await;
    let leader_node = cluster.index_of(&leader).expect("the leader is a node");
    cluster.kill(leader_node).await;
    eprintln!(
        "killed the SCANS leader {leader} with {ended}/{SCANS_PER_WAVE} scans of wave 1 ended"
    );
    let new_leader = leader_other_than(&js, names::SCANS_STREAM, Some(&leader)).await;
    eprintln!("SCANS leader is now {new_leader}");
    cluster.restart(leader_node).await;

    let second = start_scans(&stack, SCANS_PER_WAVE).await;
    let ended = wait_until_under_way(&stack, &second).await;
    let (current, followers) = placed_on_three(&js, names::SCANS_STREAM).await;
    let follower = cluster
        .index_of(&followers[0])
        .expect("the follower is a node");
    cluster.kill(follower).await;
    eprintln!(
        "killed the SCANS follower {} (leader {current}) with {ended}/{SCANS_PER_WAVE} scans of wave 2 ended",
        cluster.name(follower)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.restart(follower).await;

    let mut events_checked = 0;
    let mut reruns = 0;
    for scan_id in first.iter().chain(&second) {
        let events = stack.wait_for_terminal(*scan_id, SCAN_TIMEOUT).await;
        reruns += assert_complete_exactly_once(&stack, *scan_id, &events).await;
        events_checked += events.len();
    }
    eprintln!(
        "{} scans complete in {:?} through 2 kills; {events_checked} events checked, \
         {reruns} stage re-runs",
        first.len() + second.len(),
        started.elapsed()
    );

    // The cluster, whole again, takes new work.
    let after = stack.run_scan(&fixtures::shop_capture()).await;
    let events = stack.wait_for_terminal(after, SCAN_TIMEOUT).await;
    assert_complete_exactly_once(&stack, after, &events).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_asked_for_three_replicas_refuses_to_start_naming_the_setting() {
    let nats = NatsServer::start().await;
    let bus = Bus::connect(&nats.url).await.expect("connect");
    let err = bus
        .ensure_streams(&replicated(3))
        .await
        .expect_err("one server cannot hold three replicas");
    let text = err.to_string();
    assert!(text.contains("RECON_NATS_REPLICAS"), "{text}");
    assert!(text.contains("3 replicas for stream SCANS"), "{text}");
    // One replica there is fine, and asking again is idempotent.
    bus.ensure_streams(&replicated(1))
        .await
        .expect("one replica");
    bus.ensure_streams(&replicated(1)).await.expect("again");
}
