//! End-to-end and per-stage time for a 2,000-request, 5 MB capture, every role in one
//! in-process server, validation replaying against the lamp shop on loopback. Stage times come
//! from the server's own started/complete events.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use recon_contracts::{RecordedEvent, Step, StepStatus};
use recon_tests::lamp_shop::{self, LampShop};
use recon_tests::TestStack;

use crate::stats::{median, ms};
use crate::table::Row;
use crate::Options;

/// Stages with a time of their own to meet on this capture.
const STAGE_TARGETS: [(&str, Duration); 1] = [("scrub", Duration::from_millis(40))];

struct Run {
    total: Duration,
    upload: Duration,
    stages: Vec<(Step, Duration)>,
}

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let shop = LampShop::start(Duration::ZERO).await;
    let stack = shop.stack().await;
    let capture = lamp_shop::capture_of_size(&shop.base(), 2_000, 5 << 20);
    let bytes = serde_json::to_vec(&capture)?.len();

    // One scan to warm everything up (connections, consumers, lazily compiled rules).
    scan_once(&stack, &capture).await?;
    let mut runs = Vec::new();
    for _ in 0..options.runs(5) {
        runs.push(scan_once(&stack, &capture).await?);
    }
    stack.stop().await;

    let total = median(runs.iter().map(|run| run.total).collect());
    let without_replay = median(
        runs.iter()
            .map(|run| {
                run.total
                    .saturating_sub(stage(run, &Step::named("validation")))
            })
            .collect(),
    );
    let upload = median(runs.iter().map(|run| run.upload).collect());
    let label = format!("2,000 requests, {:.1} MB", bytes as f64 / (1024.0 * 1024.0));
    let mut rows = vec![
        Row::info(
            format!("end to end, {label}"),
            format!(
                "{} median of {} (upload {})",
                ms(total),
                runs.len(),
                ms(upload)
            ),
        ),
        Row::judged(
            format!("end to end without validation's replay, {label}"),
            ms(without_replay),
            "≤ 150 ms",
            without_replay <= Duration::from_millis(150),
        ),
    ];
    for step in recon_tests::steps() {
        let time = median(runs.iter().map(|run| stage(run, &step)).collect());
        let label = if step == Step::named("validation") {
            format!("  stage {step} (replay on loopback)")
        } else {
            format!("  stage {step}")
        };
        rows.push(
            match STAGE_TARGETS
                .iter()
                .find(|(name, _)| step.as_str() == *name)
            {
                Some((_, target)) => Row::judged(
                    label,
                    ms(time),
                    format!("≤ {}", ms(*target)),
                    time <= *target,
                ),
                None => Row::info(label, ms(time)),
            },
        );
    }
    Ok(rows)
}

fn stage(run: &Run, step: &Step) -> Duration {
    run.stages
        .iter()
        .find(|(s, _)| s == step)
        .map(|(_, time)| *time)
        .unwrap_or_default()
}

async fn scan_once(stack: &TestStack, capture: &recon_contracts::Capture) -> Result<Run> {
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    let started = Instant::now();
    stack.upload(scan_id, capture).await;
    let upload = started.elapsed();
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(300))
        .await;
    let total = started.elapsed();
    let last = events.last().context("no events")?;
    ensure!(
        (last.step.clone(), last.status) == (Step::named("render"), StepStatus::Complete),
        "the scan ended with {} {}: {:?}",
        last.step,
        last.status.as_str(),
        last.message
    );
    Ok(Run {
        total,
        upload,
        stages: stage_times(&events),
    })
}

/// Each step's time from its started to its complete event.
fn stage_times(events: &[RecordedEvent]) -> Vec<(Step, Duration)> {
    let at = |step: &Step, status: StepStatus| {
        events
            .iter()
            .find(|event| &event.step == step && event.status == status)
            .map(|event| event.created_at)
    };
    recon_tests::steps()
        .into_iter()
        .filter_map(|step| {
            let elapsed = at(&step, StepStatus::Complete)? - at(&step, StepStatus::Started)?;
            Some((step, elapsed.to_std().unwrap_or_default()))
        })
        .collect()
}
