//! `recon --version` start-up time: the whole process, spawn to exit, of the release build.

use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use crate::stats::{ms, summarize};
use crate::table::Row;
use crate::Options;

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let program = std::env::var("RECON_BENCH_CLI")
        .context("RECON_BENCH_CLI is not set: run the benchmarks with `cargo xtask bench`")?;
    let mut samples = Vec::new();
    for _ in 0..options.runs(50) + 3 {
        let started = Instant::now();
        let output = Command::new(&program).arg("--version").output()?;
        samples.push(started.elapsed());
        ensure!(output.status.success(), "recon --version failed");
    }
    // The first runs page the binary in.
    let summary = summarize(samples.split_off(3));
    Ok(vec![Row::info(
        "recon --version start-up",
        format!(
            "p50 {} · p95 {} (n={})",
            ms(summary.p50),
            ms(summary.p95),
            summary.n
        ),
    )])
}
