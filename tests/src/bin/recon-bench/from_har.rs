//! `recon scan --from-har FILE --no-wait`: the CLI process from spawn to exit, which is reading
//! the config, creating the scan, importing the HAR, gzipping the capture and uploading it until
//! the api's 202. Timed on a 5 MB HAR (issue 18's target) and on a 50 MB one. The CLI's peak
//! memory is not shown: the kernel's ru_maxrss of a child spawned from this (large) process
//! counts this process's pages from before the child's exec.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use recon_tests::{lamp_shop, TestStack};

use crate::har::to_har;
use crate::stats::{mib, ms, summarize};
use crate::table::Row;
use crate::Options;

const TARGET: Duration = Duration::from_millis(150);
const BASE: &str = "https://www.lampshop.test";

pub fn rows(stack: &TestStack, options: &Options) -> Result<Vec<Row>> {
    let program = std::env::var("RECON_BENCH_CLI")
        .context("RECON_BENCH_CLI is not set: run the benchmarks with `cargo xtask bench`")?;
    let home = tempfile::tempdir()?;
    let har_path = home.path().join("lampshop.har");
    let har_bytes = write_har(&har_path, 2_000, 5 << 20)?;
    let scan = || scan_once(&program, &har_path, stack, home.path());
    scan()?; // pages the binary in and warms the api
    let samples = (0..options.runs(20))
        .map(|_| scan())
        .collect::<Result<Vec<_>>>()?;
    let summary = summarize(samples);
    let mut rows = vec![Row::judged(
        format!(
            "recon scan --from-har, {:.1} MB HAR, to the 202",
            har_bytes as f64 / (1024.0 * 1024.0)
        ),
        format!(
            "p50 {} · p95 {} (n={})",
            ms(summary.p50),
            ms(summary.p95),
            summary.n
        ),
        format!("p50 ≤ {}", ms(TARGET)),
        summary.p50 <= TARGET,
    )];

    let large_path = home.path().join("lampshop-large.har");
    let large_bytes = write_har(&large_path, 20_000, 50 << 20)?;
    let large = (0..options.runs(3))
        .map(|_| scan_once(&program, &large_path, stack, home.path()))
        .collect::<Result<Vec<_>>>()?;
    let large_time = summarize(large);
    rows.push(Row::info(
        format!(
            "recon scan --from-har, {} HAR, to the 202",
            mib(large_bytes)
        ),
        format!("p50 {} (n={})", ms(large_time.p50), large_time.n),
    ));
    Ok(rows)
}

/// A HAR of the generated lamp shop, `requests` requests and about `bytes` of capture JSON.
fn write_har(path: &Path, requests: usize, bytes: usize) -> Result<u64> {
    let har = serde_json::to_vec(&to_har(&lamp_shop::capture_of_size(BASE, requests, bytes)))?;
    std::fs::write(path, &har)?;
    Ok(har.len() as u64)
}

fn scan_once(program: &str, har: &Path, stack: &TestStack, home: &Path) -> Result<Duration> {
    let started = Instant::now();
    let output = Command::new(program)
        .args(["scan", BASE, "--no-wait", "--no-progress", "--from-har"])
        .arg(har)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RECON_SERVER", &stack.api)
        .env("RECON_API_KEY", &stack.key)
        .stdin(Stdio::null())
        .output()?;
    let elapsed = started.elapsed();
    ensure!(
        output.status.success(),
        "recon scan --from-har failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(elapsed)
}
