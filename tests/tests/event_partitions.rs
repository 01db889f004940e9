//! Partitioned event recording: each scan's events map onto one partition, scans spread over
//! the partitions, several recorders keep every scan's events once, in publication order and
//! with gap-free cursors, a stuck partition holds up only its own scans, and a deployment of
//! the single-consumer layout (or of another partition count) moves over without losing or
//! reordering an event.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use futures::TryStreamExt;
use recon_contracts::{names, RecordedEvent, Step, StepEvent, StepStatus};
use recon_runtime::config::PipelineSettings;
use recon_runtime::nats::Bus;
use recon_server::Role;
use recon_tests::{NatsServer, TestStack};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(90);

/// The `index`th event of a scan; every one has its own id and `Nats-Msg-Id`.
fn nth_event(scan_id: Uuid, index: usize) -> StepEvent {
    let step = Step::from(format!("step-{index:03}"));
    StepEvent::new(
        scan_id,
        step,
        StepStatus::Started,
        None,
        serde_json::json!({}),
    )
}

async fn publish_range(bus: &Bus, scan_id: Uuid, range: std::ops::Range<usize>) {
    for index in range {
        bus.publish_event(&nth_event(scan_id, index))
            .await
            .expect("publish");
    }
}

/// Polls as a CLI would until `count` events arrived, checking every page against the cursor:
/// a page starting past the cursor's successor would be an event this client lost.
async fn poll_until(stack: &TestStack, scan_id: Uuid, count: usize) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + WAIT;
    let mut cursor = 0;
    let mut seen: Vec<RecordedEvent> = Vec::new();
    while seen.len() < count {
        assert!(
            Instant::now() < deadline,
            "scan {scan_id}: only {} of {count} events arrived",
            seen.len()
        );
        let page = stack.events_page(scan_id, cursor).await;
        for event in &page.events {
            assert_eq!(
                event.cursor,
                cursor + 1,
                "scan {scan_id}: the poller skipped or repeated a cursor"
            );
            cursor = event.cursor;
        }
        assert_eq!(page.cursor, cursor);
        seen.extend(page.events);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    seen
}

/// The scan's events arrived once each, in publication order, with cursors 1..=count, and
/// nothing more is stored.
async fn assert_recorded_in_order(
    stack: &TestStack,
    scan_id: Uuid,
    polled: &[RecordedEvent],
    count: usize,
) {
    let expected: Vec<Step> = (0..count)
        .map(|index| nth_event(scan_id, index).step)
        .collect();
    let got: Vec<Step> = polled.iter().map(|event| event.step.clone()).collect();
    assert_eq!(got, expected, "scan {scan_id}: publication order");
    let cursors: Vec<i64> = polled.iter().map(|event| event.cursor).collect();
    assert_eq!(cursors, (1..=count as i64).collect::<Vec<_>>());
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM scan_events WHERE scan_id = $1")
        .bind(scan_id)
        .fetch_one(&stack.db)
        .await
        .expect("count rows");
    assert_eq!(stored, count as i64, "scan {scan_id}: each event once");
}

/// Stored subject counts of the `SCAN_EVENTS` stream under `filter`.
async fn stored_subjects(js: &jetstream::Context, filter: &str) -> HashMap<String, usize> {
    let stream = js
        .get_stream(names::SCAN_EVENTS_STREAM)
        .await
        .expect("SCAN_EVENTS");
    stream
        .info_with_subjects(filter)
        .await
        .expect("stream info with subjects")
        .try_collect()
        .await
        .expect("subjects")
}

/// The partition each scan's events are stored under, in a layout of `partitions`; a scan
/// found under two partitions fails the test.
async fn partitions_of(js: &jetstream::Context, partitions: u16) -> HashMap<Uuid, (u16, usize)> {
    let mut found = HashMap::new();
    for (subject, count) in stored_subjects(js, &format!("scan_events.{partitions}.*.*")).await {
        let tokens: Vec<&str> = subject.split('.').collect();
        let [_, _, partition, scan_id] = tokens[..] else {
            panic!("unexpected stored subject {subject}");
        };
        let partition: u16 = partition.parse().expect("a partition number");
        assert!(partition < partitions, "{subject}");
        let scan_id: Uuid = scan_id.parse().expect("a scan id");
        let earlier = found.insert(scan_id, (partition, count));
        assert!(
            earlier.is_none(),
            "scan {scan_id} stored under two partitions"
        );
    }
    found
}

async fn event_consumer_names(js: &jetstream::Context) -> BTreeSet<String> {
    js.get_stream(names::SCAN_EVENTS_STREAM)
        .await
        .expect("SCAN_EVENTS")
        .consumer_names()
        .try_collect()
        .await
        .expect("consumer names")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scans_partition_is_stable_and_scans_spread_over_the_partitions() {
    const PARTITIONS: u16 = 8;
    const SCANS: u128 = 64;
    let nats = NatsServer::start().await;
    let bus = Bus::connect(&nats.url).await.expect("connect");
    let settings = PipelineSettings {
        event_partitions: PARTITIONS,
        ..PipelineSettings::default()
    };
    bus.ensure_streams(&settings).await.expect("streams");
    // Fixed scan ids: the spread below is a property of these ids, not of chance.
    let scans: Vec<Uuid> = (1..=SCANS).map(Uuid::from_u128).collect();
    for &scan_id in &scans {
        publish_range(&bus, scan_id, 0..2).await;
    }
    // A second start-up (every role ensures the streams) changes nothing.
    bus.ensure_streams(&settings).await.expect("streams again");
    for &scan_id in &scans {
        publish_range(&bus, scan_id, 2..3).await;
    }

    let placed = partitions_of(&bus.jetstream, PARTITIONS).await;
    assert_eq!(
        placed.len(),
        scans.len(),
        "every scan is stored partitioned"
    );
    let mut per_partition: BTreeMap<u16, usize> = BTreeMap::new();
    for scan_id in &scans {
        let (partition, count) = placed[scan_id];
        assert_eq!(count, 3, "all of scan {scan_id}'s events in one partition");
        *per_partition.entry(partition).or_default() += 1;
    }
    eprintln!("scans per partition: {per_partition:?}");
    assert_eq!(
        per_partition.len(),
        usize::from(PARTITIONS),
        "64 scans use every one of 8 partitions"
    );
    assert!(
        per_partition.values().all(|&count| count <= 16),
        "no partition holds more than twice its share: {per_partition:?}"
    );
    // Nothing is stored unpartitioned.
    assert!(stored_subjects(&bus.jetstream, "scan_events.*")
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_scans_and_three_recorders_keep_every_scans_events_once_and_in_order() {
    const SCANS: usize = 40;
    const EVENTS: usize = 16;
    let mut stack = TestStack::start_roles(&[Role::Api, Role::Events]).await;
    stack.add_roles(&[Role::Events]).await;
    stack.add_roles(&[Role::Events]).await;
    let bus = stack.deps().await.bus;

    let mut scans = Vec::new();
    for _ in 0..SCANS {
        scans.push(stack.create_scan("anything").await.scan_id);
    }
    let publishers: Vec<_> = scans
        .iter()
        .map(|&scan_id| {
            let bus = bus.clone();
            tokio::spawn(async move {
                publish_range(&bus, scan_id, 0..EVENTS).await;
                // A redelivered step publishing again must not add a row.
                publish_range(&bus, scan_id, 0..EVENTS).await;
            })
        })
        .collect();
    let polled =
        futures::future::join_all(scans.iter().map(|&id| poll_until(&stack, id, EVENTS))).await;
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    for (scan_id, events) in scans.iter().zip(&polled) {
        assert_recorded_in_order(&stack, *scan_id, events, EVENTS).await;
    }
    let placed = partitions_of(&bus.jetstream, 8).await;
    let used: HashSet<u16> = placed.values().map(|(partition, _)| *partition).collect();
    eprintln!(
        "{SCANS} scans × {EVENTS} events over {} partitions, 3 recorders",
        used.len()
    );
    stack.stop().await;
}

/// Holds the lock the recorder takes for each insert of `scan_id` (db::events), so that the
/// scan's partition cannot record anything until the transaction ends.
async fn hold_scan_lock(
    stack: &TestStack,
    scan_id: Uuid,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = stack.db.begin().await.expect("begin");
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7023))")
        .bind(scan_id)
        .execute(&mut *tx)
        .await
        .expect("lock");
    tx
}

async fn recorded_count(stack: &TestStack, scan_id: Uuid) -> usize {
    stack.events_page(scan_id, 0).await.events.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stuck_partition_holds_up_only_the_scans_that_share_it() {
    const OTHERS: usize = 24;
    const EVENTS: usize = 4;
    let stack = TestStack::start_with(
        &[Role::Api, Role::Events],
        &[
            ("RECON_EVENT_PARTITIONS", "4"),
            ("RECON_ACK_WAIT_SECS", "60"),
        ],
    )
    .await;
    let bus = stack.deps().await.bus;
    let stuck = stack.create_scan("anything").await.scan_id;
    let mut others = Vec::new();
    for _ in 0..OTHERS {
        others.push(stack.create_scan("anything").await.scan_id);
    }

    let lock = hold_scan_lock(&stack, stuck).await;
    publish_range(&bus, stuck, 0..EVENTS).await;
    for &scan_id in &others {
        publish_range(&bus, scan_id, 0..EVENTS).await;
    }
    let placed = partitions_of(&bus.jetstream, 4).await;
    let stuck_partition = placed[&stuck].0;
    let (behind, free): (Vec<Uuid>, Vec<Uuid>) = others
        .iter()
        .partition(|scan_id| placed[*scan_id].0 == stuck_partition);
    assert!(!free.is_empty(), "some scans landed in other partitions");

    // Every scan of the other partitions is recorded while the stuck one waits.
    for &scan_id in &free {
        let events = poll_until(&stack, scan_id, EVENTS).await;
        assert_recorded_in_order(&stack, scan_id, &events, EVENTS).await;
    }
    assert_eq!(recorded_count(&stack, stuck).await, 0);
    for &scan_id in &behind {
        assert_eq!(
            recorded_count(&stack, scan_id).await,
            0,
            "a scan behind the stuck one in its partition waits, in order"
        );
    }
    eprintln!(
        "{} scans recorded past a stuck partition; {} waited behind it",
        free.len(),
        behind.len()
    );

    lock.rollback().await.expect("release the lock");
    for &scan_id in std::iter::once(&stuck).chain(&behind) {
        let events = poll_until(&stack, scan_id, EVENTS).await;
        assert_recorded_in_order(&stack, scan_id, &events, EVENTS).await;
    }
    stack.stop().await;
}

/// `SCAN_EVENTS` and its consumer as 0.3.0 made them: no subject transform, one consumer.
async fn make_single_consumer_layout(js: &jetstream::Context, settings: &PipelineSettings) {
    let mut events = js
        .get_stream(names::SCAN_EVENTS_STREAM)
        .await
        .expect("SCAN_EVENTS");
    let config = stream::Config {
        subject_transform: None,
        ..events.info().await.expect("stream info").config.clone()
    };
    js.update_stream(&config).await.expect("drop the transform");
    events
        .create_consumer(consumer::pull::Config {
            durable_name: Some(names::LEGACY_EVENTS_CONSUMER.to_owned()),
            filter_subject: names::SCAN_EVENTS_SUBJECTS.to_owned(),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: settings.ack_wait,
            max_ack_pending: 1,
            ..Default::default()
        })
        .await
        .expect("the single events consumer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_consumer_deployment_and_a_changed_partition_count_lose_and_reorder_nothing() {
    const SCANS: usize = 12;
    const PART: usize = 5;
    let mut stack = TestStack::start_with(&[Role::Api], &[("RECON_EVENT_PARTITIONS", "2")]).await;
    let deps = stack.deps().await;
    let bus = deps.bus.clone();
    let js = bus.jetstream.clone();
    let mut scans = Vec::new();
    for _ in 0..SCANS {
        scans.push(stack.create_scan("anything").await.scan_id);
    }

    // 0.3.0: no recorder ran for a while; the first events wait on the single consumer.
    make_single_consumer_layout(&js, &deps.pipeline).await;
    for &scan_id in &scans {
        publish_range(&bus, scan_id, 0..PART).await;
    }
    assert_eq!(
        stored_subjects(&js, "scan_events.*").await.len(),
        SCANS,
        "the first events are stored unpartitioned"
    );
    // Then a layout of 4 partitions whose recorders never got to record.
    let four = PipelineSettings {
        event_partitions: 4,
        ..deps.pipeline.clone()
    };
    // (switching the layout creates its consumers first)
    bus.ensure_streams(&four).await.expect("4 partitions");
    for &scan_id in &scans {
        publish_range(&bus, scan_id, PART..2 * PART).await;
    }
    // Now the configured 2 partitions (what every role ensures at start-up).
    bus.ensure_streams(&deps.pipeline)
        .await
        .expect("2 partitions");
    for &scan_id in &scans {
        publish_range(&bus, scan_id, 2 * PART..3 * PART).await;
    }
    assert_eq!(partitions_of(&js, 4).await.len(), SCANS);
    assert_eq!(partitions_of(&js, 2).await.len(), SCANS);

    // Two recorders of the new layout start while clients poll.
    let pollers: Vec<_> = scans
        .iter()
        .map(|&scan_id| poll_until(&stack, scan_id, 3 * PART))
        .collect();
    let (config, shutdown) = (stack.config.clone(), stack.shutdown.clone());
    let recorders = async {
        let mut started = Vec::new();
        for _ in 0..2 {
            let recorder = recon_server::start(&config, &[Role::Events], shutdown.clone())
                .await
                .expect("start a recorder");
            started.push(recorder);
        }
        started
    };
    let (polled, recorders) = tokio::join!(futures::future::join_all(pollers), recorders);
    stack.servers.extend(recorders);
    for (scan_id, events) in scans.iter().zip(&polled) {
        assert_recorded_in_order(&stack, *scan_id, events, 3 * PART).await;
    }
    let expected: BTreeSet<String> = (0..2)
        .map(|partition| names::events_partition_consumer(2, partition))
        .collect();
    assert_eq!(
        event_consumer_names(&js).await,
        expected,
        "the consumers of earlier layouts are deleted once drained"
    );

    // And the new layout records what comes next.
    for &scan_id in &scans {
        publish_range(&bus, scan_id, 3 * PART..4 * PART).await;
    }
    for &scan_id in &scans {
        let events = poll_until(&stack, scan_id, 4 * PART).await;
        assert_recorded_in_order(&stack, scan_id, &events, 4 * PART).await;
    }
    stack.stop().await;
}
