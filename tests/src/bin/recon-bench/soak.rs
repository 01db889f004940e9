//! Soak: scans submitted at a steady rate for ten minutes (a few seconds with --quick), every
//! role its own `recon-server` process, validation replaying against the lamp shop. Memory is
//! read from every process once the warm-up is over and again when the last scan has ended; a
//! process whose resident memory keeps growing under steady work leaks, and misses the target.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use recon_contracts::{Step, StepStatus};
use recon_server::{Pipeline, Role};
use recon_tests::lamp_shop::{self, LampShop};
use recon_tests::TestStack;
use uuid::Uuid;

use crate::server_process::ServerProcess;
use crate::stats::mib;
use crate::table::Row;
use crate::Options;

/// One scan every this often: well under what two cores finish, so no queue builds up and
/// memory has no honest reason to grow.
const INTERVAL: Duration = Duration::from_millis(500);
/// Requests per scan (about a quarter of a megabyte of capture).
const REQUESTS: usize = 100;

/// Growth allowed from the end of the warm-up to the end: a tenth, or 8 MiB for small processes.
fn allowed_growth(start: u64) -> u64 {
    (start / 10).max(8 << 20)
}

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let (warm_up, steady) = if options.quick {
        (Duration::from_secs(5), Duration::from_secs(20))
    } else {
        (Duration::from_secs(60), Duration::from_secs(600))
    };
    let shop = LampShop::start(Duration::ZERO).await;
    let mut stack = TestStack::start_with(&[], &[]).await;
    let env = shop.replay_settings();
    let mut processes = Vec::new();
    for role in Role::all_of(&Pipeline::standard()) {
        let process = ServerProcess::spawn_with(&stack, role.name(), &env).await?;
        if role == Role::Api {
            stack.api = process.url.clone();
        }
        processes.push((role.name(), process));
    }
    let capture = lamp_shop::capture(&shop.base(), REQUESTS, 4);

    let mut ids = submit_for(&stack, &capture, warm_up).await?;
    wait_for_all(&stack, &ids).await?;
    let start: Vec<u64> = processes
        .iter()
        .map(|(_, process)| process.rss())
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let steady_ids = submit_for(&stack, &capture, steady).await?;
    wait_for_all(&stack, &steady_ids).await?;
    let elapsed = started.elapsed();
    let end: Vec<u64> = processes
        .iter()
        .map(|(_, process)| process.rss())
        .collect::<Result<_>>()?;
    ids.extend(&steady_ids);

    let mut rows = vec![Row::info(
        format!(
            "soak, one scan of {REQUESTS} requests every {} ms",
            INTERVAL.as_millis()
        ),
        format!(
            "{} scans completed in {:.0} s after a {} s warm-up, every role its own process",
            steady_ids.len(),
            elapsed.as_secs_f64(),
            warm_up.as_secs()
        ),
    )];
    let mut worst: Option<(&str, f64)> = None;
    let mut flat = true;
    for ((name, _), (start, end)) in processes.iter().zip(start.iter().zip(&end)) {
        let growth = end.saturating_sub(*start);
        flat &= growth <= allowed_growth(*start);
        let ratio = *end as f64 / *start as f64;
        if worst.is_none_or(|(_, worst)| ratio > worst) {
            worst = Some((name, ratio));
        }
        rows.push(Row::info(
            format!("  soak RSS, {name}"),
            format!("{} → {}", mib(*start), mib(*end)),
        ));
    }
    let (name, ratio) = worst.unwrap_or(("none", 1.0));
    rows.push(Row::judged(
        "soak, resident memory of every process",
        format!("largest change ×{ratio:.2} ({name})"),
        "each ≤ +10% (or +8 MiB)",
        flat,
    ));
    for (_, process) in processes {
        process.stop().await;
    }
    stack.stop().await;
    Ok(rows)
}

/// Creates and uploads one scan every [`INTERVAL`] for `span`, without waiting for any to end.
async fn submit_for(
    stack: &TestStack,
    capture: &recon_contracts::Capture,
    span: Duration,
) -> Result<Vec<Uuid>> {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ids = Vec::new();
    while started.elapsed() < span {
        ticks.tick().await;
        let scan_id = stack.create_scan("lamp prices").await.scan_id;
        stack.upload(scan_id, capture).await;
        ids.push(scan_id);
    }
    Ok(ids)
}

/// Waits for every scan's terminal event; any scan that errored fails the soak.
async fn wait_for_all(stack: &TestStack, ids: &[Uuid]) -> Result<()> {
    for id in ids {
        let events = stack.wait_for_terminal(*id, Duration::from_secs(120)).await;
        match events.last() {
            Some(last)
                if last.step == Step::named("render") && last.status == StepStatus::Complete => {}
            Some(last) => bail!(
                "scan {id} ended with {} {}: {:?}",
                last.step,
                last.status.as_str(),
                last.message
            ),
            None => bail!("scan {id} has no events"),
        }
    }
    Ok(())
}
