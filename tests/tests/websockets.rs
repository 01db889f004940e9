//! The events WebSocket's limits and wake-ups: the per-account socket quota (also with two api
//! replicas racing), the idle and lifetime limits with a close frame saying why, and one
//! Postgres LISTEN per api process that wakes sockets (which never poll) and makes them re-read
//! after it reconnects.

use std::time::{Duration, Instant};

use futures::SinkExt;
use recon_contracts::{AccountView, Quota, QuotaErrorBody, Step, StepEvent, StepStatus};
use recon_server::Role;
use recon_tests::{connect_events, read_until_closed, EventSocket, TestStack};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use uuid::Uuid;

async fn open(stack: &TestStack, api: &str, scan_id: Uuid) -> Result<EventSocket, WsError> {
    connect_events(api, &stack.key, scan_id, 0).await
}

async fn sockets_in_use(stack: &TestStack) -> u64 {
    let view: AccountView = stack
        .authed(stack.http.get(stack.url("/account")))
        .send()
        .await
        .expect("GET /account")
        .json()
        .await
        .expect("account body");
    view.quotas.websockets.used
}

/// Waits until the account holds `count` sockets (a closed socket's lease goes a moment later).
async fn wait_for_sockets_in_use(stack: &TestStack, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sockets_in_use(stack).await != count {
        assert!(
            Instant::now() < deadline,
            "the account never went back to {count} open sockets"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A progress event recorded as the events recorder does it: stored, then NOTIFY on commit.
async fn record(stack: &TestStack, scan_id: Uuid, step: Step, status: StepStatus) {
    let event = StepEvent::new(scan_id, step, status, None, serde_json::json!({}));
    recon_runtime::db::events::record(&stack.db, &event)
        .await
        .expect("record event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_the_websocket_quota_a_socket_gets_429_until_one_closes() {
    let stack = TestStack::start_with(&[Role::Api], &[("RECON_QUOTA_WEBSOCKETS", "2")]).await;
    let scan_id = stack.create_scan("prices").await.scan_id;
    let mut first = open(&stack, &stack.api, scan_id)
        .await
        .expect("first socket");
    let _second = open(&stack, &stack.api, scan_id)
        .await
        .expect("second socket");
    assert_eq!(sockets_in_use(&stack).await, 2);

    let Err(WsError::Http(refused)) = open(&stack, &stack.api, scan_id).await else {
        panic!("a third socket was accepted over a quota of 2");
    };
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .expect("Retry-After");
    // The first socket reaches its lifetime limit (an hour by default) first.
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    let body: QuotaErrorBody =
        serde_json::from_slice(refused.body().as_deref().unwrap_or_default()).expect("json");
    assert_eq!(body.error.quota, Quota::Websockets);
    assert_eq!((body.error.allowed, body.error.used), (2, 2));

    first.send(Message::Close(None)).await.expect("close");
    drop(first);
    wait_for_sockets_in_use(&stack, 1).await;
    let _third = open(&stack, &stack.api, scan_id)
        .await
        .expect("a socket once another closed");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_websockets_on_two_replicas_never_pass_the_socket_quota() {
    let mut stack = TestStack::start_with(&[Role::Api], &[("RECON_QUOTA_WEBSOCKETS", "3")]).await;
    stack.add_roles(&[Role::Api]).await;
    let replicas = stack.api_replicas();
    let scan_id = stack.create_scan("prices").await.scan_id;
    let attempts = (0..12).map(|index| open(&stack, &replicas[index % 2], scan_id));
    let outcomes = futures::future::join_all(attempts).await;
    let opened = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(
            |outcome| matches!(outcome, Err(WsError::Http(response)) if response.status() == 429),
        )
        .count();
    assert_eq!((opened, refused), (3, 9));
    assert_eq!(sockets_in_use(&stack).await, 3);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_websocket_is_closed_with_a_close_frame_saying_why() {
    let stack = TestStack::start_with(&[Role::Api], &[("RECON_WS_IDLE_TIMEOUT_SECS", "1")]).await;
    let scan_id = stack.create_scan("prices").await.scan_id;
    record(
        &stack,
        scan_id,
        Step::named("detection"),
        StepStatus::Started,
    )
    .await;
    let mut socket = open(&stack, &stack.api, scan_id).await.expect("socket");
    let started = Instant::now();
    let (events, close) = read_until_closed(&mut socket, Duration::from_secs(10)).await;
    eprintln!("idle socket closed after {:?}", started.elapsed());
    assert_eq!(events.len(), 1, "the backlog comes first");
    let close = close.expect("a close frame");
    assert_eq!(close.code, CloseCode::Normal);
    assert!(
        close.reason.contains("no new event for 1 s"),
        "{}",
        close.reason
    );
    wait_for_sockets_in_use(&stack, 0).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_websocket_is_closed_at_its_lifetime_limit() {
    let stack = TestStack::start_with(
        &[Role::Api],
        &[
            ("RECON_WS_MAX_LIFETIME_SECS", "2"),
            ("RECON_WS_IDLE_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    let scan_id = stack.create_scan("prices").await.scan_id;
    let mut socket = open(&stack, &stack.api, scan_id).await.expect("socket");
    // An event every 300 ms, never the terminal one: the socket is never idle.
    let mut steps = recon_tests::steps();
    steps.pop();
    let events: Vec<(Step, StepStatus)> = steps
        .into_iter()
        .flat_map(|step| {
            [
                (step.clone(), StepStatus::Started),
                (step, StepStatus::Complete),
            ]
        })
        .collect();
    let publisher = async {
        for (step, status) in events {
            record(&stack, scan_id, step, status).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let reader = read_until_closed(&mut socket, Duration::from_secs(10));
    let ((received, close), ()) = tokio::join!(reader, publisher);
    assert!(
        received.len() >= 3,
        "events kept coming: {}",
        received.len()
    );
    let close = close.expect("a close frame");
    assert_eq!(close.code, CloseCode::Normal);
    assert!(
        close.reason.contains("longest allowed 2 s"),
        "{}",
        close.reason
    );
    stack.stop().await;
}

/// Backends of this world's database that are LISTENing.
async fn listeners(stack: &TestStack) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&stack.db)
    .await
    .expect("pg_stat_activity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_listener_wakes_sockets_that_never_poll_and_a_reconnect_resyncs_them() {
    let stack = TestStack::start_roles(&[Role::Api]).await;
    let mut scans = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let scan_id = stack.create_scan("prices").await.scan_id;
        sockets.push(open(&stack, &stack.api, scan_id).await.expect("socket"));
        scans.push(scan_id);
    }
    let listening = listeners(&stack).await;
    assert_eq!(listening.len(), 1, "one LISTEN for all five sockets");

    // An event stored without its NOTIFY, as if sent while the listener was away: no socket
    // reads on a timer, so nobody sees it…
    sqlx::query(
        "INSERT INTO scan_events (id, scan_id, step, status, metadata, created_at, cursor) \
         VALUES ($1, $2, 'detection', 'started', '{}', now(), 1)",
    )
    .bind(Uuid::new_v4())
    .bind(scans[0])
    .execute(&stack.db)
    .await
    .expect("insert without notify");
    let quiet = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut sockets[0]),
    )
    .await;
    assert!(
        quiet.is_err(),
        "a socket read without a notification: {quiet:?}"
    );

    // …until the listener's connection drops: once it listens again, every socket re-reads.
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(listening[0])
        .execute(&stack.db)
        .await
        .expect("terminate the listener");
    let frame = tokio::time::timeout(
        Duration::from_secs(15),
        futures::StreamExt::next(&mut sockets[0]),
    )
    .await
    .expect("the socket re-read after the listener reconnected");
    assert!(
        matches!(frame, Some(Ok(Message::Text(ref text))) if text.contains("detection")),
        "{frame:?}"
    );
    assert_eq!(listeners(&stack).await.len(), 1);

    // Notifications work again, and wake only the socket of their scan.
    record(
        &stack,
        scans[1],
        Step::named("detection"),
        StepStatus::Started,
    )
    .await;
    let frame = tokio::time::timeout(
        Duration::from_secs(5),
        futures::StreamExt::next(&mut sockets[1]),
    )
    .await
    .expect("a notified event arrives");
    assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
    stack.stop().await;
}
