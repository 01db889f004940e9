//! `recon scan --from-har FILE --no-wait`: the CLI process from spawn to exit, which is reading
//! the config, creating the scan, importing the HAR, gzipping the capture and uploading it until
//! the api's 202. Timed on a 5 MB HAR (issue 18's target); its peak memory (the kernel's
//! ru_maxrss) on that and on a 50 MB HAR, where the upload body, encoded while it is sent, adds
//! only a few pieces to the file's text and the capture.

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
    let mut peak = 0;
    let mut scan = || -> Result<Duration> {
        let run = scan_once(&program, &har_path, stack, home.path())?;
        peak = peak.max(run.peak_bytes);
        Ok(run.elapsed)
    };
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
            "p50 {} · p95 {} (n={}); peak RSS {}",
            ms(summary.p50),
            ms(summary.p95),
            summary.n,
            mib(peak)
        ),
        format!("p50 ≤ {}", ms(TARGET)),
        summary.p50 <= TARGET,
    )];

    let large_path = home.path().join("lampshop-large.har");
    let large_bytes = write_har(&large_path, 20_000, 50 << 20)?;
    let large = (0..options.runs(3))
        .map(|_| scan_once(&program, &large_path, stack, home.path()))
        .collect::<Result<Vec<_>>>()?;
    let large_peak = large.iter().map(|run| run.peak_bytes).max().unwrap_or(0);
    let large_time = summarize(large.iter().map(|run| run.elapsed).collect());
    rows.push(Row::info(
        format!("recon scan --from-har, {} HAR, peak RSS", mib(large_bytes)),
        format!(
            "{} ({:.2}× the HAR); p50 {} to the 202 (n={})",
            mib(large_peak),
            large_peak as f64 / large_bytes as f64,
            ms(large_time.p50),
            large_time.n
        ),
    ));
    Ok(rows)
}

/// A HAR of the generated lamp shop, `requests` requests and about `bytes` of capture JSON.
fn write_har(path: &Path, requests: usize, bytes: usize) -> Result<u64> {
    let har = serde_json::to_vec(&to_har(&lamp_shop::capture_of_size(BASE, requests, bytes)))?;
    std::fs::write(path, &har)?;
    Ok(har.len() as u64)
}

struct Run {
    elapsed: Duration,
    peak_bytes: u64,
}

fn scan_once(program: &str, har: &Path, stack: &TestStack, home: &Path) -> Result<Run> {
    let stderr_path = home.join("recon-stderr.txt");
    let started = Instant::now();
    let child = Command::new(program)
        .args(["scan", BASE, "--no-wait", "--no-progress", "--from-har"])
        .arg(har)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RECON_SERVER", &stack.api)
        .env("RECON_API_KEY", &stack.key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()?;
    let (succeeded, peak_bytes) = wait_with_peak(child)?;
    let elapsed = started.elapsed();
    ensure!(
        succeeded,
        "recon scan --from-har failed: {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    Ok(Run {
        elapsed,
        peak_bytes,
    })
}

/// Waits for `child`: whether it exited 0, and its peak resident memory in bytes.
fn wait_with_peak(child: std::process::Child) -> Result<(bool, u64)> {
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status = 0;
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child and not yet waited for; both pointers are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    ensure!(
        waited == pid,
        "cannot wait for recon: {}",
        std::io::Error::last_os_error()
    );
    let succeeded = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // Linux counts ru_maxrss in KiB.
    let peak = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    Ok((succeeded, peak))
}
