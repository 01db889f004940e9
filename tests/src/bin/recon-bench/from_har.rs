//! `recon scan --from-har FILE --no-wait` of a 5 MB HAR: the CLI process from spawn to exit,
//! which is reading the config, creating the scan, importing the HAR, gzipping the capture and
//! uploading it until the api's 202.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use recon_tests::{lamp_shop, TestStack};

use crate::har::to_har;
use crate::stats::{ms, summarize};
use crate::table::Row;
use crate::Options;

const TARGET: Duration = Duration::from_millis(150);

pub fn rows(stack: &TestStack, options: &Options) -> Result<Vec<Row>> {
    let program = std::env::var("RECON_BENCH_CLI")
        .context("RECON_BENCH_CLI is not set: run the benchmarks with `cargo xtask bench`")?;
    let home = tempfile::tempdir()?;
    let base = "https://www.lampshop.test";
    let har = serde_json::to_vec(&to_har(&lamp_shop::capture_of_size(base, 2_000, 5 << 20)))?;
    let har_path = home.path().join("lampshop.har");
    std::fs::write(&har_path, &har)?;
    let scan = || -> Result<Duration> {
        let started = Instant::now();
        let output = Command::new(&program)
            .args(["scan", base, "--no-wait", "--no-progress", "--from-har"])
            .arg(&har_path)
            .env_clear()
            .env("HOME", home.path())
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
    };
    scan()?; // pages the binary in and warms the api
    let samples = (0..options.runs(20))
        .map(|_| scan())
        .collect::<Result<Vec<_>>>()?;
    let summary = summarize(samples);
    Ok(vec![Row::judged(
        format!(
            "recon scan --from-har, {:.1} MB HAR, to the 202",
            har.len() as f64 / (1024.0 * 1024.0)
        ),
        format!(
            "p50 {} · p95 {} (n={})",
            ms(summary.p50),
            ms(summary.p95),
            summary.n
        ),
        format!("p50 ≤ {}", ms(TARGET)),
        summary.p50 <= TARGET,
    )])
}
