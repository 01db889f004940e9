//! Our analysis against two peers on the same HAR, with equal work on each side and the
//! outputs compared, not only the clocks.
//!
//! - Ours: the analysis stage as the pipeline runs it, the OpenAPI document serialised.
//! - har-to-openapi 3.0.1 (npm): warm in one node process, like ours; its fresh-process time
//!   and module import are shown beside it.
//! - mitmproxy2swagger 0.14 (PyPI): the second pass, with its interpreter-and-import start-up
//!   measured apart.
//!
//! Then what each found: templated paths on the generated 2,000-request HAR, and on the demo
//! HAR (two GraphQL operations on one URL) whether GraphQL operations are kept apart.

mod compare;
mod har_to_openapi;
mod mitmproxy2swagger;
mod ours;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use recon_runtime::codec;
use recon_tests::lamp_shop;

use crate::har::to_har;
use crate::stats::{median, ms};
use crate::table::Row;
use crate::Options;
use compare::{examples, our_graphql_operations, Paths};

const LAMP_BASE: &str = "https://www.lampshop.test";
const LAMP_HOST: &str = "www.lampshop.test";
const DEMO_TARGET: &str = "https://demo-shop.recon.test/";
const DEMO_HOST: &str = "demo-shop.recon.test";

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let env = |name: &str| {
        std::env::var(name).with_context(|| {
            format!("{name} is not set: run the benchmarks with `cargo xtask bench`")
        })
    };
    let m2s_program = env("RECON_BENCH_MITMPROXY2SWAGGER")?;
    let m2s_python = env("RECON_BENCH_PYTHON")?;
    let h2o_package = env("RECON_BENCH_HAR_TO_OPENAPI")?;
    let dir = tempfile::tempdir()?;
    let h2o = har_to_openapi::Peer {
        package: Path::new(&h2o_package),
        scratch: dir.path(),
    };
    let m2s = mitmproxy2swagger::Peer {
        program: &m2s_program,
        python: &m2s_python,
        scratch: dir.path(),
    };

    let capture = lamp_shop::capture_of_size(LAMP_BASE, 2_000, 3 << 20);
    let har_path = dir.path().join("lampshop.har");
    let har = serde_json::to_vec(&to_har(&capture))?;
    std::fs::write(&har_path, &har)?;
    let stored = codec::to_gzip_json(&capture)?;
    let label = format!(
        "{} requests, {:.1} MB HAR",
        capture.requests.len(),
        har.len() as f64 / (1024.0 * 1024.0)
    );

    let runs = options.runs(5);
    ours::run(&stored)?; // warm-up, as the peer gets
    let mut our_times = Vec::new();
    let mut our_last = None;
    for _ in 0..runs {
        let run = ours::run(&stored)?;
        our_times.push(run.elapsed);
        our_last = Some(run);
    }
    let ours = our_last.context("no run of ours")?;
    let h2o_warm = h2o.warm(&har_path, runs, 2)?;
    let h2o_fresh = median(
        (0..options.runs(3))
            .map(|_| h2o.fresh(&har_path))
            .collect::<Result<_>>()?,
    );
    let prepared = m2s.prepare(&har_path, LAMP_BASE, "lampshop")?;
    let mut m2s_times = Vec::new();
    let mut m2s_paths = Vec::new();
    for _ in 0..runs {
        let (elapsed, paths) = m2s.second_pass(&prepared)?;
        m2s_times.push(elapsed);
        m2s_paths = paths;
    }
    let m2s_start = median((0..runs).map(|_| m2s.start_up()).collect::<Result<_>>()?);

    let our_time = median(our_times);
    let h2o_time = median(h2o_warm.runs());
    let m2s_time = median(m2s_times);
    let ratio = |theirs: Duration| theirs.as_secs_f64() / our_time.as_secs_f64().max(1e-9);
    let versus_h2o = ratio(h2o_time);
    let versus_m2s = ratio(m2s_time);
    let versus_m2s_work = ratio(m2s_time.saturating_sub(m2s_start));

    let our_paths = Paths::of_ours(&ours.endpoints, LAMP_HOST);
    let h2o_paths: Paths = h2o_warm
        .paths(LAMP_HOST)
        .iter()
        .map(|(path, _)| path.as_str())
        .collect();
    let m2s_paths: Paths = m2s_paths.iter().map(String::as_str).collect();

    let mut rows = vec![
        Row::info(
            format!("analysis stage + OpenAPI serialised, {label}"),
            format!(
                "{} ({} endpoints, OpenAPI {} KB)",
                ms(our_time),
                ours.endpoints.len(),
                ours.openapi_bytes / 1024
            ),
        ),
        Row::info(
            format!("har-to-openapi 3.0.1 warm in node, {label}"),
            format!(
                "{} ({} paths); fresh process {}, of it module import {}",
                ms(h2o_time),
                h2o_paths.len(),
                ms(h2o_fresh),
                ms(Duration::from_secs_f64(h2o_warm.import_ms / 1000.0)),
            ),
        ),
        Row::info(
            format!("mitmproxy2swagger 0.14 second pass, {label}"),
            format!(
                "{} ({} paths), of it interpreter and import start-up {}",
                ms(m2s_time),
                m2s_paths.len(),
                ms(m2s_start)
            ),
        ),
        Row::judged(
            "analysis vs har-to-openapi warm",
            format!("{versus_h2o:.1}× faster"),
            "≥ 10×",
            versus_h2o >= 10.0,
        ),
        Row::judged(
            "analysis vs mitmproxy2swagger one pass",
            format!("{versus_m2s:.1}× faster ({versus_m2s_work:.1}× with its start-up left out)"),
            "≥ 20×",
            versus_m2s >= 20.0,
        ),
        Row::info(
            format!("templated paths, {label}"),
            format!(
                "ours {} of {}; har-to-openapi {} of {}; mitmproxy2swagger {} of {}",
                our_paths.templated(),
                our_paths.len(),
                h2o_paths.templated(),
                h2o_paths.len(),
                m2s_paths.templated(),
                m2s_paths.len()
            ),
        ),
        Row::info(
            "paths found by all three / only by a peer",
            format!(
                "{} in all; not ours: har-to-openapi {} ({}), mitmproxy2swagger {} ({})",
                our_paths.in_all(&[&h2o_paths, &m2s_paths]),
                h2o_paths.missing_from(&our_paths).len(),
                examples(&h2o_paths.missing_from(&our_paths), 2),
                m2s_paths.missing_from(&our_paths).len(),
                examples(&m2s_paths.missing_from(&our_paths), 2),
            ),
        ),
    ];
    rows.extend(graphql_rows(&h2o, &m2s, dir.path())?);
    Ok(rows)
}

/// The demo HAR through all three: GraphQL operations kept apart or merged into one path.
fn graphql_rows(
    h2o: &har_to_openapi::Peer,
    m2s: &mitmproxy2swagger::Peer,
    scratch: &Path,
) -> Result<Vec<Row>> {
    // Compiled in: the bench binary runs from anywhere.
    let har_path = scratch.join("demo.har");
    std::fs::write(&har_path, include_bytes!("../../../../fixtures/demo.har"))?;
    let import = browser_recon::har::import_file(&har_path, Some(DEMO_TARGET))?;
    let stored = codec::to_gzip_json(&import.capture)?;
    let ours = ours::run(&stored)?;
    let operations = our_graphql_operations(&ours.endpoints, DEMO_HOST);
    let h2o_paths: Paths = h2o
        .warm(&har_path, 1, 0)?
        .paths(DEMO_HOST)
        .iter()
        .map(|(path, _)| path.as_str())
        .collect();
    // mitmproxy2swagger 0.14 fails on some HARs (form-encoded bodies); that is a finding too.
    let m2s_paths = m2s
        .prepare(&har_path, DEMO_TARGET.trim_end_matches('/'), "demo")
        .and_then(|prepared| m2s.second_pass(&prepared))
        .map(|(_, paths)| paths.iter().map(String::as_str).collect::<Paths>());
    Ok(operations
        .iter()
        .map(|(path, count)| {
            let kept = |paths: &Paths| {
                if paths.contains(path) {
                    "1 path for all".to_owned()
                } else {
                    "not found".to_owned()
                }
            };
            let m2s_kept = match &m2s_paths {
                Ok(paths) => kept(paths),
                Err(err) => format!("failed ({})", last_line(&format!("{err:#}"))),
            };
            Row::info(
                format!("GraphQL operations on POST {path}, demo HAR"),
                format!(
                    "ours {count} endpoints, one per operation; har-to-openapi {}; \
                     mitmproxy2swagger {}",
                    kept(&h2o_paths),
                    m2s_kept
                ),
            )
        })
        .collect())
}

/// The last non-empty line of a tool's error output (a Python traceback ends with the error).
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map_or(text, str::trim)
}
