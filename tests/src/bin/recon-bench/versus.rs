//! Our analysis stage against mitmproxy2swagger (PyPI) on the same HAR, in one run.
//! mitmproxy2swagger works in two passes: the first lists the paths it found as `ignore:`
//! entries, the user un-ignores them, the second writes the schema. Both passes count; so
//! does its interpreter's start, since that is what its users wait for. On our side the stage
//! decodes the stored capture, analyses it and writes the OpenAPI document.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use recon_analysis::{analyze, openapi_document};
use recon_contracts::{CaptureBounds, Detection};
use recon_runtime::codec;
use recon_tests::lamp_shop;

use crate::har::to_har;
use crate::stats::{median, ms};
use crate::table::Row;
use crate::Options;

const BASE: &str = "https://www.lampshop.test";

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let program = std::env::var("RECON_BENCH_MITMPROXY2SWAGGER").context(
        "RECON_BENCH_MITMPROXY2SWAGGER is not set: run the benchmarks with `cargo xtask bench`",
    )?;
    let capture = lamp_shop::capture_of_size(BASE, 2_000, 3 << 20);
    let dir = tempfile::tempdir()?;
    let har_path = dir.path().join("lampshop.har");
    let har = serde_json::to_vec(&to_har(&capture))?;
    std::fs::write(&har_path, &har)?;
    let stored = codec::to_gzip_json(&capture)?;

    let runs = options.runs(5);
    let mut ours = Vec::new();
    let mut ours_endpoints = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let decoded = codec::read_capture(&stored, &CaptureBounds::default())?;
        let inventory = analyze(&decoded, &Detection::default());
        let document = openapi_document(&inventory, &decoded.target_url);
        let elapsed = started.elapsed();
        ours_endpoints = inventory.endpoints.len();
        ensure!(document.get("paths").is_some(), "no paths in our OpenAPI");
        ours.push(elapsed);
    }
    let mut theirs = Vec::new();
    let mut their_paths = 0;
    for run in 0..runs {
        let output = dir.path().join(format!("schema-{run}.yaml"));
        let started = Instant::now();
        their_paths = mitmproxy2swagger(&program, &har_path, &output)?;
        theirs.push(started.elapsed());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let speedup = theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9);
    let label = format!(
        "{} requests, {:.1} MB HAR",
        capture.requests.len(),
        har.len() as f64 / (1024.0 * 1024.0)
    );
    Ok(vec![
        Row::info(
            format!("analysis stage, {label}"),
            format!("{} ({ours_endpoints} endpoints)", ms(ours)),
        ),
        Row::info(
            format!("mitmproxy2swagger 0.14, two passes, {label}"),
            format!("{} ({their_paths} paths)", ms(theirs)),
        ),
        Row::judged(
            "analysis vs mitmproxy2swagger",
            format!("{speedup:.1}× faster"),
            "≥ 20×",
            speedup >= 20.0,
        ),
    ])
}

/// Both passes; the number of paths in the final schema.
fn mitmproxy2swagger(program: &str, har: &Path, output: &Path) -> Result<usize> {
    let pass = || -> Result<()> {
        let result = Command::new(program)
            .args(["-i"])
            .arg(har)
            .arg("-o")
            .arg(output)
            .args(["-p", BASE, "-f", "har"])
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        ensure!(
            result.status.success(),
            "mitmproxy2swagger failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        Ok(())
    };
    pass()?;
    let listed = std::fs::read_to_string(output)?;
    std::fs::write(output, listed.replace("- ignore:", "- "))?;
    pass()?;
    let schema = std::fs::read_to_string(output)?;
    Ok(count_paths(&schema))
}

/// Paths in the schema's `paths:` mapping (two-space-indented keys under it).
fn count_paths(yaml: &str) -> usize {
    yaml.lines()
        .skip_while(|line| *line != "paths:")
        .skip(1)
        .take_while(|line| line.starts_with(' ') || line.is_empty())
        .filter(|line| {
            line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':')
        })
        .count()
}
