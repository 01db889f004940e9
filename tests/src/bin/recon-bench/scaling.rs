//! Validation throughput with 1, 2 and 4 replicas against a lamp shop that takes 200 ms per
//! request, each replica a separate `recon-server --target validation` process, as replicas run
//! in a cluster. The scans are queued at validation first (every other role running in-process,
//! validation not), then the replica processes start together; the span runs from the first
//! validation start to the last validation completion, as the server's events record them.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use recon_contracts::{RecordedEvent, Step, StepStatus};
use recon_server::Role;
use recon_tests::lamp_shop::{self, LampShop};
use recon_tests::TestStack;
use uuid::Uuid;

use crate::server_process::ServerProcess;
use crate::stats::ms;
use crate::table::Row;
use crate::Options;

const SITE_DELAY: Duration = Duration::from_millis(200);
const REPLICAS: [usize; 3] = [1, 2, 4];

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let shop = LampShop::start(SITE_DELAY).await;
    let scans = if options.quick { 8 } else { 16 };
    let mut rows = Vec::new();
    let mut throughputs = Vec::new();
    for replicas in REPLICAS {
        let span = validation_span(&shop, scans, replicas).await?;
        let throughput = scans as f64 / span.as_secs_f64();
        rows.push(Row::info(
            format!("validation, {replicas} replica(s), {scans} scans, 200 ms/request"),
            format!("{} → {throughput:.2} scans/s", ms(span)),
        ));
        throughputs.push(throughput);
    }
    let speedup = throughputs[2] / throughputs[0];
    rows.push(Row::judged(
        "validation scaling, 1 → 4 replicas",
        format!("{speedup:.2}×"),
        "≥ 3.2×",
        speedup >= 3.2,
    ));
    Ok(rows)
}

async fn validation_span(shop: &LampShop, scans: usize, replicas: usize) -> Result<Duration> {
    let roles: Vec<Role> = recon_server::parse_targets("all")?
        .into_iter()
        .filter(|role| *role != Role::Stage("validation"))
        .collect();
    let shop_port = shop.address.port().to_string();
    let settings = [
        ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
        ("RECON_VALIDATION_ALLOWED_PORTS", shop_port.as_str()),
    ];
    let stack = TestStack::start_with(&roles, &settings).await;
    let capture = lamp_shop::capture(&shop.base(), 100, 4);
    let mut ids = Vec::with_capacity(scans);
    for _ in 0..scans {
        let scan_id = stack.create_scan("lamp prices").await.scan_id;
        stack.upload(scan_id, &capture).await;
        ids.push(scan_id);
    }
    wait_for_all(&stack, &ids, Step::named("intent_filter")).await?;
    let env: Vec<(&str, String)> = settings
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    let processes = futures::future::try_join_all(
        (0..replicas).map(|_| ServerProcess::spawn_with(&stack, "validation", &env)),
    )
    .await?;
    let events = wait_for_all(&stack, &ids, Step::named("validation")).await?;
    for process in processes {
        process.stop().await;
    }
    stack.stop().await;

    let times = |status: StepStatus| -> Vec<DateTime<Utc>> {
        events
            .iter()
            .filter(|event| event.step == Step::named("validation") && event.status == status)
            .map(|event| event.created_at)
            .collect()
    };
    let (first, last) = match (
        times(StepStatus::Started).into_iter().min(),
        times(StepStatus::Complete).into_iter().max(),
    ) {
        (Some(first), Some(last)) => (first, last),
        _ => bail!("validation left no events"),
    };
    Ok((last - first).to_std().unwrap_or_default())
}

/// Waits until `step` has completed for every scan; returns all their events.
async fn wait_for_all(stack: &TestStack, ids: &[Uuid], step: Step) -> Result<Vec<RecordedEvent>> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut events = Vec::new();
        let mut done = 0;
        for id in ids {
            let page = stack.events_page(*id, 0).await;
            if page
                .events
                .iter()
                .any(|event| event.step == step && event.status == StepStatus::Complete)
            {
                done += 1;
            }
            if let Some(failed) = page
                .events
                .iter()
                .find(|event| event.status == StepStatus::Errored)
            {
                bail!("scan {id} failed at {}: {:?}", failed.step, failed.message);
            }
            events.extend(page.events);
        }
        if done == ids.len() {
            return Ok(events);
        }
        if Instant::now() > deadline {
            bail!("{done} of {} scans passed {step} within 300 s", ids.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
