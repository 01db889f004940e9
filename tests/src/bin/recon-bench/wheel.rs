//! The wheel `pipx install browser-recon` downloads, built as the release workflow and the
//! wheel test build it (maturin, `--profile dist`, deflate level 9): its size against issue 18's
//! budget, and the size of the `recon` binary inside, which is what the dist profile and the
//! CLI's dependency features act on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use crate::table::Row;
use crate::Options;

/// Issue 18's target (the seed's own was ~2 MB): decimal megabytes, as PyPI shows sizes.
const BUDGET_BYTES: u64 = 2_000_000;

pub async fn run(_options: &Options) -> Result<Vec<Row>> {
    let maturin = std::env::var("RECON_BENCH_MATURIN")
        .context("RECON_BENCH_MATURIN is not set: run the benchmarks with `cargo xtask bench`")?;
    let cli_dir = recon_tests::crate_dir().join("../cli");
    let out = tempfile::tempdir()?;
    let started = Instant::now();
    let build = Command::new(&maturin)
        .args(["build", "--profile", "dist", "--locked"])
        .args(["--compression-level", "9", "--out"])
        .arg(out.path())
        .current_dir(&cli_dir)
        .output()
        .with_context(|| format!("cannot run {maturin}"))?;
    ensure!(
        build.status.success(),
        "maturin build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let took = started.elapsed();
    let wheel = only_wheel(out.path())?;
    let wheel_bytes = std::fs::metadata(&wheel)?.len();
    let mut rows = vec![Row::judged(
        "wheel (maturin --profile dist --compression-level 9)",
        format!(
            "{} ({wheel_bytes} bytes; built in {:.0} s)",
            megabytes(wheel_bytes),
            took.as_secs_f64()
        ),
        format!("≤ {}", megabytes(BUDGET_BYTES)),
        wheel_bytes <= BUDGET_BYTES,
    )];
    // maturin builds into cargo's target dir, which xtask names.
    if let Some(binary) = std::env::var_os("CARGO_TARGET_DIR")
        .map(|target| PathBuf::from(target).join("dist").join("recon"))
        .filter(|binary| binary.exists())
    {
        let binary_bytes = std::fs::metadata(&binary)?.len();
        rows.push(Row::info(
            "recon binary in the wheel (stripped)",
            format!("{} ({binary_bytes} bytes)", megabytes(binary_bytes)),
        ));
    }
    Ok(rows)
}

fn only_wheel(dir: &Path) -> Result<PathBuf> {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .collect();
    ensure!(wheels.len() == 1, "one wheel expected, found {wheels:?}");
    Ok(wheels[0].clone())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}
