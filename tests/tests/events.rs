//! The event cursor: never a skipped or repeated event, with two recorders and concurrent
//! scans, and at the database level with concurrent writers to one scan.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use recon_contracts::{RecordedEvent, Step, StepEvent, StepStatus};
use recon_server::Role;
use recon_tests::TestStack;
use uuid::Uuid;

const SCANS: usize = 6;

fn publication_order(scan_id: Uuid) -> Vec<StepEvent> {
    recon_tests::steps()
        .into_iter()
        .flat_map(|step| {
            [StepStatus::Started, StepStatus::Complete].map(|status| {
                StepEvent::new(scan_id, step.clone(), status, None, serde_json::json!({}))
            })
        })
        .collect()
}

/// Polls as a CLI would, as fast as it can, checking every page against the cursor.
async fn poll_until(stack: &TestStack, scan_id: Uuid, count: usize) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut cursor = 0;
    let mut seen = Vec::new();
    while seen.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} events arrived",
            seen.len()
        );
        let page = stack.events_page(scan_id, cursor).await;
        for event in &page.events {
            assert!(
                event.cursor > cursor,
                "event at or before the cursor was served"
            );
        }
        if let Some(last) = page.events.last() {
            assert_eq!(page.cursor, last.cursor);
        }
        cursor = page.cursor;
        seen.extend(page.events);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_recorders_and_concurrent_scans_never_skip_or_repeat() {
    let mut stack = TestStack::start_roles(&[Role::Api, Role::Events]).await;
    stack.add_roles(&[Role::Events]).await;
    let bus = stack.deps().await.bus;

    let mut scans = Vec::new();
    for _ in 0..SCANS {
        scans.push(stack.create_scan("anything").await.scan_id);
    }
    let publishers = scans.iter().map(|&scan_id| {
        let bus = bus.clone();
        tokio::spawn(async move {
            for event in publication_order(scan_id) {
                bus.publish_event(&event).await.expect("publish");
                // A step publishing the same event again (redelivery) must not duplicate it.
                if event.status == StepStatus::Complete {
                    bus.publish_event(&event).await.expect("republish");
                }
            }
        })
    });
    let publishers: Vec<_> = publishers.collect();
    let event_count = 2 * recon_tests::steps().len();
    let polls = scans
        .iter()
        .map(|&scan_id| poll_until(&stack, scan_id, event_count));
    let polled = futures::future::join_all(polls).await;
    for publisher in publishers {
        publisher.await.expect("publisher");
    }

    for (scan_id, events) in scans.iter().zip(polled) {
        let expected: Vec<(Step, StepStatus)> = publication_order(*scan_id)
            .iter()
            .map(|event| (event.step.clone(), event.status))
            .collect();
        let got: Vec<(Step, StepStatus)> =
            events.iter().map(|e| (e.step.clone(), e.status)).collect();
        assert_eq!(got, expected, "events in publication order");
        let cursors: Vec<i64> = events.iter().map(|e| e.cursor).collect();
        assert_eq!(cursors, (1..=event_count as i64).collect::<Vec<_>>());
        // Nothing more arrives later (the republished events were dropped).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(stack
            .events_page(*scan_id, event_count as i64)
            .await
            .events
            .is_empty());
    }
    stack.stop().await;
}

/// Writers that commit concurrently to the same scan, with a reader polling in between:
/// every event the reader passes over would be lost to it forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_to_one_scan_never_hide_an_event_behind_the_cursor() {
    let stack = TestStack::start_roles(&[Role::Api]).await;
    let scan_id = stack.create_scan("anything").await.scan_id;
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 25;
    let total = WRITERS * PER_WRITER;

    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let db = stack.db.clone();
            tokio::spawn(async move {
                for _ in 0..PER_WRITER {
                    let mut event = StepEvent::new(
                        scan_id,
                        Step::named("validation"),
                        StepStatus::Started,
                        None,
                        serde_json::json!({}),
                    );
                    event.id = Uuid::new_v4();
                    recon_runtime::db::events::record(&db, &event)
                        .await
                        .expect("record");
                }
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut cursor = 0;
    let mut seen = Vec::new();
    while seen.len() < total {
        assert!(
            Instant::now() < deadline,
            "reader stuck at {} of {total}",
            seen.len()
        );
        let page = recon_runtime::db::events::after(&stack.db, scan_id, cursor, 7)
            .await
            .expect("read");
        if let Some(last) = page.last() {
            cursor = last.cursor;
        }
        seen.extend(page);
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let cursors: Vec<i64> = seen.iter().map(|e| e.cursor).collect();
    assert_eq!(cursors, (1..=total as i64).collect::<Vec<_>>());
    let ids: HashSet<Uuid> = seen.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), total);
    stack.stop().await;
}
