//! Captures of any size (issue 17): the generated lamp shop at 10,000 and 100,000 requests (with
//! --quick 1,000 and 10,000), the same bytes per request, through one `recon-server` process per
//! role, after a 20-request scan has warmed each up. For each role: its time (a stage from its own
//! started/complete events, the api the upload's answer) and its peak RSS above rest (VmHWM), and
//! how both grow for ten times the requests. Linear means time about ×10 (target ×10 ± 30%; a role
//! whose work does not depend on the request count, such as intent ranking over a fixed set of
//! endpoints, grows less) and a peak RSS within three times the decoded capture.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use recon_contracts::{RecordedEvent, ScanStatus, Step, StepStatus};
use recon_runtime::codec;
use recon_tests::{lamp_shop, TestStack};

use crate::server_process::ServerProcess;
use crate::stats::{mib, ms};
use crate::table::Row;
use crate::Options;

/// Products per listing response: about 1.4 KB of capture JSON per request.
const PER_PAGE: usize = 2;
/// The larger capture has this many times the requests of the smaller.
const GROWTH: usize = 10;
/// The top of ×10 ± 30%: more is worse than linear.
const MAX_TIME_RATIO: f64 = 13.0;
/// Below this a role's time is mostly fixed cost (a few queries and publishes): its ratio says
/// nothing about how it grows.
const MEASURABLE: Duration = Duration::from_millis(50);
/// The events recorder: its work is per event, not per request, so only its memory is a figure.
const RECORDER: &str = "events";
/// The scan each process runs before the measured one.
const WARM_UP_REQUESTS: usize = 20;
/// Only there so a broken run fails instead of hanging.
const SCAN_TIMEOUT: Duration = Duration::from_secs(1800);

/// Bounds wide enough for the largest capture here; the defaults stop at 100,000 requests.
const BOUNDS: [(&str, &str); 5] = [
    ("RECON_MAX_CAPTURE_BYTES", "1073741824"),
    ("RECON_MAX_CAPTURE_DECODED_BYTES", "2147483648"),
    ("RECON_CAPTURE_MAX_REQUESTS", "1000000"),
    ("RECON_CAPTURE_MAX_STRINGS", "100000000"),
    ("RECON_CAPTURE_MAX_SAMPLES", "1000000"),
];

/// One role's figures for one capture.
struct RoleRun {
    role: String,
    time: Duration,
    peak: u64,
}

struct SizeRun {
    requests: usize,
    json_bytes: u64,
    roles: Vec<RoleRun>,
}

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let small = if options.quick { 1_000 } else { 10_000 };
    let mut stack = TestStack::start_with(&[], &[]).await;
    let mut runs = Vec::new();
    for requests in [small, small * GROWTH] {
        runs.push(one_size(&mut stack, requests).await?);
    }
    stack.stop().await;
    Ok(rows(&runs[0], &runs[1]))
}

fn rows(small: &SizeRun, large: &SizeRun) -> Vec<Row> {
    let mut rows = Vec::new();
    for run in [small, large] {
        rows.push(Row::info(
            format!("capture of {} requests", thousands(run.requests)),
            format!("{} of JSON", mib(run.json_bytes)),
        ));
        for role in &run.roles {
            let target = run.json_bytes * 3;
            let figure = if role.role == RECORDER {
                format!("peak RSS +{}", mib(role.peak))
            } else {
                format!("{}, peak RSS +{}", ms(role.time), mib(role.peak))
            };
            rows.push(Row::judged(
                format!("  {} at {}", role.role, thousands(run.requests)),
                figure,
                format!("peak ≤ 3 × the capture ({})", mib(target)),
                role.peak <= target,
            ));
        }
    }
    for (before, after) in small.roles.iter().zip(&large.roles) {
        if before.role == RECORDER {
            continue;
        }
        let time_ratio = after.time.as_secs_f64() / before.time.as_secs_f64().max(1e-6);
        let memory_ratio = after.peak as f64 / (before.peak.max(1)) as f64;
        let bench = format!("  {} growth, ×{GROWTH} requests", before.role);
        let figure = format!("time ×{time_ratio:.1}, peak RSS ×{memory_ratio:.1}");
        if after.time < MEASURABLE {
            rows.push(Row::info(
                bench,
                format!("{figure} (under {}: fixed cost)", ms(MEASURABLE)),
            ));
        } else {
            rows.push(Row::judged(
                bench,
                figure,
                "time ×10 ± 30% (or less)",
                time_ratio <= MAX_TIME_RATIO,
            ));
        }
    }
    rows
}

fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// One capture of `requests` requests through a process per role.
async fn one_size(stack: &mut TestStack, requests: usize) -> Result<SizeRun> {
    // Validation replays against a closed loopback port that it may not use: refused at once,
    // so its time is its own work on the capture.
    let capture = lamp_shop::capture("http://127.0.0.1:9", requests, PER_PAGE);
    let json_bytes = serde_json::to_vec(&capture)?.len() as u64;
    let gzip = codec::to_gzip_json(&capture)?;
    drop(capture);
    let mut env: Vec<(&str, String)> = BOUNDS
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    env.push(("RECON_VALIDATION_ALLOW_LOOPBACK", "1".to_owned()));
    env.push(("RECON_ACK_WAIT_SECS", "60".to_owned()));

    let mut roles = vec!["api".to_owned(), RECORDER.to_owned()];
    let steps = recon_tests::steps();
    roles.extend(steps.iter().map(|step| step.as_str().to_owned()));
    let mut processes = Vec::new();
    for role in &roles {
        processes.push(ServerProcess::spawn_with(stack, role, &env).await?);
    }
    stack.api = processes[0].url.clone();
    // A small scan first: what every process loads on its first scan (rule tables, code pages,
    // connection pools) is a fixed cost, not memory the capture's size makes.
    let warm_up = lamp_shop::capture("http://127.0.0.1:9", WARM_UP_REQUESTS, PER_PAGE);
    wait_complete(stack, stack.run_scan(&warm_up).await, WARM_UP_REQUESTS).await?;
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut resting = Vec::new();
    for process in &processes {
        process.reset_peak()?;
        resting.push(process.rss()?);
    }
    let started = Instant::now();
    let response = stack.capture_request(scan_id, gzip).send().await?;
    let upload = started.elapsed();
    ensure!(
        response.status() == 202,
        "upload of {requests} requests answered {}: {}",
        response.status(),
        response.text().await.unwrap_or_default()
    );
    wait_complete(stack, scan_id, requests).await?;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(60))
        .await;
    let mut runs = Vec::new();
    for ((role, process), rest) in roles.iter().zip(&processes).zip(resting) {
        let time = match steps.iter().find(|step| step.as_str() == role) {
            Some(step) => stage_time(&events, step)?,
            // The api's share is the upload.
            None if role == "api" => upload,
            None => Duration::ZERO,
        };
        runs.push(RoleRun {
            role: role.clone(),
            time,
            peak: process.peak_rss()?.saturating_sub(rest),
        });
    }
    for process in processes {
        process.stop().await;
    }
    Ok(SizeRun {
        requests,
        json_bytes,
        roles: runs,
    })
}

/// A step's time from its started to its complete event.
fn stage_time(events: &[RecordedEvent], step: &Step) -> Result<Duration> {
    let at = |status: StepStatus| {
        events
            .iter()
            .find(|event| &event.step == step && event.status == status)
            .map(|event| event.created_at)
    };
    match (at(StepStatus::Started), at(StepStatus::Complete)) {
        (Some(started), Some(complete)) => Ok((complete - started).to_std().unwrap_or_default()),
        _ => bail!("no started and complete events for {step}"),
    }
}

/// Waits for the scan of `requests` requests to complete; an error or the timeout fails the run.
async fn wait_complete(stack: &TestStack, scan_id: uuid::Uuid, requests: usize) -> Result<()> {
    let deadline = Instant::now() + SCAN_TIMEOUT;
    loop {
        let view = stack.scan(scan_id).await;
        match view.status {
            ScanStatus::Complete => return Ok(()),
            ScanStatus::Errored => {
                bail!("the scan of {requests} requests errored: {:?}", view.error)
            }
            _ if Instant::now() > deadline => {
                bail!("the scan of {requests} requests did not finish in {SCAN_TIMEOUT:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
