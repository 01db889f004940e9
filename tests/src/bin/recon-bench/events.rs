//! Event latency from a stage's publish on NATS to the CLI's receipt, over the WebSocket and
//! over polling (GET /events every 1.5 s, as the CLI does when the socket cannot connect).
//! Each step's started and complete events are published as a stage would, through the
//! runtime's bus; the clock is one process's monotonic clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use recon_contracts::{RecordedEvent, StepEvent, StepStatus};
use recon_runtime::stage::Deps;
use recon_server::Role;
use recon_tests::TestStack;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::stats::{ms, summarize, Summary};
use crate::table::Row;
use crate::Options;

/// The CLI's polling interval (cli/src/progress.rs).
const POLL_INTERVAL: Duration = Duration::from_millis(1_500);
const GAP: Duration = Duration::from_millis(25);

pub(crate) type Receipts = Arc<Mutex<HashMap<Uuid, Instant>>>;

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let stack = TestStack::start_roles(&[Role::Api, Role::Events]).await;
    let deps = stack.deps().await;

    let websocket = websocket_latency(&stack, &deps, options.runs(20)).await?;
    let polling = polling_latency(&stack, &deps, options.runs(10)).await?;
    stack.stop().await;

    let figure = |summary: Summary| {
        format!(
            "p50 {} · p95 {} (n={})",
            ms(summary.p50),
            ms(summary.p95),
            summary.n
        )
    };
    Ok(vec![
        Row::judged(
            "event latency, publish → CLI over the WebSocket",
            figure(websocket),
            "p95 < 100 ms",
            websocket.p95 < Duration::from_millis(100),
        ),
        Row::info(
            "event latency, publish → CLI polling every 1.5 s",
            figure(polling),
        ),
    ])
}

/// Every step's started and complete event, in pipeline order (the last one is terminal).
pub(crate) fn scan_events(scan_id: Uuid) -> Vec<StepEvent> {
    recon_tests::steps()
        .into_iter()
        .flat_map(|step| {
            [StepStatus::Started, StepStatus::Complete].map(|status| (step.clone(), status))
        })
        .map(|(step, status)| StepEvent::new(scan_id, step, status, None, serde_json::Value::Null))
        .collect()
}

/// Publishes each event, paced, and returns when each one left.
async fn publish_paced(
    deps: &Deps,
    events: Vec<StepEvent>,
    gap: Duration,
) -> Result<Vec<(Uuid, Instant)>> {
    let mut sent = Vec::with_capacity(events.len());
    for event in events {
        let at = Instant::now();
        deps.bus.publish_event(&event).await?;
        sent.push((event.id, at));
        tokio::time::sleep(gap).await;
    }
    Ok(sent)
}

pub(crate) fn latencies(sent: &[(Uuid, Instant)], receipts: &Receipts) -> Result<Vec<Duration>> {
    let receipts = receipts
        .lock()
        .map_err(|_| anyhow::anyhow!("receipts poisoned"))?;
    sent.iter()
        .map(|(id, at)| {
            receipts
                .get(id)
                .map(|received| received.saturating_duration_since(*at))
                .with_context(|| format!("event {id} never reached the client"))
        })
        .collect()
}

async fn websocket_latency(stack: &TestStack, deps: &Deps, scans: usize) -> Result<Summary> {
    let mut samples = Vec::new();
    for _ in 0..scans {
        let scan_id = stack.create_scan("lamp prices").await.scan_id;
        let receipts = Receipts::default();
        let reader = tokio::spawn(read_websocket(
            stack.api.clone(),
            stack.key.clone(),
            scan_id,
            receipts.clone(),
        ));
        // Let the socket subscribe before the first event, as the CLI's does during capture.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = publish_paced(deps, scan_events(scan_id), GAP).await?;
        tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .context("the WebSocket did not close after the terminal event")???;
        samples.extend(latencies(&sent, &receipts)?);
    }
    Ok(summarize(samples))
}

pub(crate) async fn read_websocket(
    api: String,
    key: String,
    scan_id: Uuid,
    receipts: Receipts,
) -> Result<()> {
    let url = format!(
        "{}/scans/{scan_id}/ws?since=0",
        api.replace("http://", "ws://")
    );
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {key}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    while let Some(frame) = socket.next().await {
        match frame? {
            Message::Text(text) => {
                let event: RecordedEvent = serde_json::from_str(&text)?;
                receipts
                    .lock()
                    .map_err(|_| anyhow::anyhow!("receipts poisoned"))?
                    .insert(event.id, Instant::now());
            }
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

/// Several scans at once, each followed by its own poller; events are published at
/// staggered times so they land all over the polling cycle.
async fn polling_latency(stack: &TestStack, deps: &Deps, scans: usize) -> Result<Summary> {
    let receipts = Receipts::default();
    let mut pollers = Vec::new();
    let mut publishers = Vec::new();
    for index in 0..scans {
        let scan_id = stack.create_scan("lamp prices").await.scan_id;
        pollers.push(tokio::spawn(poll(
            stack.api.clone(),
            stack.key.clone(),
            scan_id,
            receipts.clone(),
        )));
        let deps = deps.clone();
        // Gaps that do not divide the polling interval, so receipt delays spread over it.
        let gap = Duration::from_millis(170 + 37 * index as u64);
        publishers.push(tokio::spawn(async move {
            publish_paced(&deps, scan_events(scan_id), gap).await
        }));
    }
    let mut samples = Vec::new();
    for publisher in publishers {
        let sent = publisher.await??;
        samples.extend(sent);
    }
    for poller in pollers {
        tokio::time::timeout(Duration::from_secs(60), poller)
            .await
            .context("a poller never saw its terminal event")???;
    }
    Ok(summarize(latencies(&samples, &receipts)?))
}

async fn poll(api: String, key: String, scan_id: Uuid, receipts: Receipts) -> Result<()> {
    let client = reqwest::Client::new();
    let mut cursor = 0;
    loop {
        let page: recon_contracts::EventsPage = client
            .get(format!("{api}/scans/{scan_id}/events?since={cursor}"))
            .bearer_auth(&key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let now = Instant::now();
        cursor = page.cursor;
        let mut done = false;
        {
            let mut receipts = receipts
                .lock()
                .map_err(|_| anyhow::anyhow!("receipts poisoned"))?;
            for event in &page.events {
                receipts.insert(event.id, now);
                done |= event.is_terminal();
            }
        }
        if done {
            return Ok(());
        }
        if page.more {
            continue;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
