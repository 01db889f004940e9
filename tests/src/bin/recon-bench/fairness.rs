//! Fairness under the default quotas: account B's single scan of the lamp shop, end to end
//! (validation replaying against the shop on loopback), first on an idle stack and then while
//! account A floods the same api from many clients at once, each creating scans, uploading
//! captures of the same size as B's and opening WebSockets as fast as the answers come. B's
//! time under the flood must stay within twice its idle time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use recon_contracts::{Capture, CreateScanRequest, CreateScanResponse, QuotaErrorBody, ScanStatus};
use recon_runtime::config::QuotaSettings;
use recon_tests::lamp_shop::{self, LampShop};
use recon_tests::TestStack;
use tokio_util::sync::CancellationToken;

use crate::stats::{median, ms};
use crate::table::Row;
use crate::Options;

/// Account A's clients, each with its own connections.
const FLOOD_CLIENTS: usize = 16;

/// What account A's clients met: answers by status, refusals by quota.
#[derive(Default)]
struct FloodLog {
    statuses: BTreeMap<u16, usize>,
    refusals: BTreeMap<String, usize>,
    sockets_opened: usize,
}

type SharedLog = Arc<Mutex<FloodLog>>;

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let shop = LampShop::start(Duration::ZERO).await;
    let defaults = QuotaSettings::default();
    let quota_settings = [
        ("RECON_QUOTA_CONCURRENT_SCANS", defaults.concurrent_scans),
        ("RECON_QUOTA_SCANS_PER_HOUR", defaults.scans_per_hour),
        (
            "RECON_QUOTA_CAPTURE_BYTES_PER_DAY",
            defaults.capture_bytes_per_day,
        ),
        (
            "RECON_QUOTA_VALIDATION_REQUESTS_PER_DAY",
            defaults.validation_requests_per_day,
        ),
        ("RECON_QUOTA_WEBSOCKETS", defaults.websockets),
    ]
    .map(|(name, value)| (name, value.to_string()));
    let mut settings: Vec<(&str, &str)> = quota_settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let shop_port = shop.address.port().to_string();
    settings.push(("RECON_VALIDATION_ALLOW_LOOPBACK", "1"));
    settings.push(("RECON_VALIDATION_ALLOWED_PORTS", &shop_port));
    let stack = TestStack::start_with(&recon_server::parse_targets("all")?, &settings).await;
    let capture = lamp_shop::capture(&shop.base(), 400, 8);
    let runs = options.runs(5);

    // Account B is the stack's own account; one scan to warm everything up.
    scan_once(&stack, &capture).await?;
    let mut idle = Vec::new();
    for _ in 0..runs {
        idle.push(scan_once(&stack, &capture).await?);
    }

    let flooder = stack.account_key("account-a-flooding").await;
    let body = recon_runtime::codec::to_gzip_json(&capture)?;
    let stop = CancellationToken::new();
    let log = SharedLog::default();
    let clients: Vec<_> = (0..FLOOD_CLIENTS)
        .map(|_| {
            tokio::spawn(flood(
                stack.api.clone(),
                flooder.clone(),
                body.clone(),
                stop.clone(),
                log.clone(),
            ))
        })
        .collect();
    // Let the flood reach its stride: A's quotas fill and its first scans are in the pipeline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flood_started = Instant::now();
    let mut flooded = Vec::new();
    for _ in 0..runs {
        flooded.push(scan_once(&stack, &capture).await?);
    }
    let flood_span = flood_started.elapsed();
    stop.cancel();
    for client in clients {
        client.await??;
    }
    stack.stop().await;

    let idle_time = median(idle);
    let flooded_time = median(flooded);
    let ratio = flooded_time.as_secs_f64() / idle_time.as_secs_f64().max(f64::EPSILON);
    let log = log
        .lock()
        .map_err(|_| anyhow::anyhow!("flood log poisoned"))?;
    let requests: usize = log.statuses.values().sum();
    let refused = log.statuses.get(&429).copied().unwrap_or(0);
    let label = format!("account B's scan (400 requests), {FLOOD_CLIENTS} clients of A flooding");
    Ok(vec![
        Row::info(
            "account B's scan (400 requests), idle stack",
            format!("{} median of {runs}", ms(idle_time)),
        ),
        Row::judged(
            label,
            format!("{} median of {runs}, {ratio:.2}× idle", ms(flooded_time)),
            "≤ 2× idle",
            ratio <= 2.0,
        ),
        Row::info(
            "  account A's flood meanwhile",
            format!(
                "{:.0} requests/s, {refused} of {requests} refused ({}), {} sockets opened, answers {:?}",
                requests as f64 / flood_span.as_secs_f64().max(f64::EPSILON),
                log.refusals
                    .iter()
                    .map(|(quota, count)| format!("{quota} {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                log.sockets_opened,
                log.statuses
            ),
        ),
    ])
}

/// Account B's scan from creation to its last event.
async fn scan_once(stack: &TestStack, capture: &Capture) -> Result<Duration> {
    let started = Instant::now();
    let scan_id = stack.run_scan(capture).await;
    stack
        .wait_for_terminal(scan_id, Duration::from_secs(300))
        .await;
    let elapsed = started.elapsed();
    let status = stack.scan(scan_id).await.status;
    ensure!(
        status == ScanStatus::Complete,
        "account B's scan ended {status:?}"
    );
    let sent = stack.validation(scan_id).await.requests_sent;
    ensure!(
        sent > 0,
        "account B's validation replayed nothing to the shop: the time would leave it out"
    );
    Ok(elapsed)
}

/// One of account A's clients, again and again until `stop`, ignoring every refusal and every
/// Retry-After: create a scan, upload a capture to the oldest scan still waiting for one, open
/// a WebSocket on the last scan uploaded and keep it.
async fn flood(
    api: String,
    key: String,
    body: Vec<u8>,
    stop: CancellationToken,
    log: SharedLog,
) -> Result<()> {
    let http = reqwest::Client::builder()
        .user_agent(recon_contracts::version::user_agent())
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut sockets = Vec::new();
    // Created scans whose upload was refused: uploaded again on every round.
    let mut waiting = std::collections::VecDeque::new();
    let mut scan = None;
    while !stop.is_cancelled() {
        let created = http
            .post(format!("{api}/scans"))
            .bearer_auth(&key)
            .json(&CreateScanRequest {
                target_url: "https://lampshop.test/".to_owned(),
                intent_text: Some("lamp prices".to_owned()),
                starter_template: None,
            })
            .send()
            .await?;
        if let Some(response) = note(&log, created).await? {
            let created: CreateScanResponse = response.json().await?;
            waiting.push_back(created.scan_id);
        }
        if let Some(next) = waiting.pop_front() {
            let upload = http
                .post(format!("{api}/scans/{next}/capture"))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(body.clone())
                .send()
                .await?;
            match note(&log, upload).await? {
                Some(_) => scan = Some(next),
                None => waiting.push_back(next),
            }
        }
        let Some(scan_id) = scan else { continue };
        match recon_tests::connect_events(&api, &key, scan_id, 0).await {
            Ok(socket) => {
                sockets.push(socket);
                lock(&log)?.sockets_opened += 1;
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let quota = response
                    .body()
                    .as_deref()
                    .and_then(|body| serde_json::from_slice::<QuotaErrorBody>(body).ok())
                    .map_or_else(|| "unnamed".to_owned(), |body| body.error.quota.to_string());
                let mut log = lock(&log)?;
                *log.statuses.entry(response.status().as_u16()).or_default() += 1;
                *log.refusals.entry(quota).or_default() += 1;
            }
            Err(err) => return Err(err).context("WebSocket connect"),
        }
    }
    Ok(())
}

/// Counts an answer; hands back a success for its body, swallows a refusal.
async fn note(log: &SharedLog, response: reqwest::Response) -> Result<Option<reqwest::Response>> {
    let status = response.status().as_u16();
    *lock(log)?.statuses.entry(status).or_default() += 1;
    if response.status().is_success() {
        return Ok(Some(response));
    }
    let quota = response.json::<QuotaErrorBody>().await.map_or_else(
        |_| "unnamed".to_owned(),
        |body| body.error.quota.to_string(),
    );
    *lock(log)?.refusals.entry(quota).or_default() += 1;
    Ok(None)
}

fn lock(log: &SharedLog) -> Result<std::sync::MutexGuard<'_, FloodLog>> {
    log.lock()
        .map_err(|_| anyhow::anyhow!("flood log poisoned"))
}
