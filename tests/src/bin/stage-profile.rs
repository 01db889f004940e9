//! The CPU work of the scrub and analysis stages on the bench's capture, in a loop, for a
//! profiler (`perf record -g -- target/release/stage-profile scrub 20`): no servers, no
//! blob store, the same code paths the stages run on their blocking thread. Prints the median
//! time of each phase.
//!
//! Usage: `stage-profile <scrub|analysis|all> [runs] [requests] [megabytes]`
//! (defaults: all, 10 runs, the pipeline bench's 2,000 requests and 5 MB).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use recon_contracts::{CaptureBounds, Detection};
use recon_runtime::codec;
use recon_tests::lamp_shop;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("all", String::as_str);
    let number = |at: usize, default: usize| -> Result<usize> {
        args.get(at)
            .map_or(Ok(default), |text| text.parse())
            .with_context(|| format!("argument {at} is not a number"))
    };
    let runs = number(1, 10)?;
    let requests = number(2, 2_000)?;
    let megabytes = number(3, 5)?;
    let capture =
        lamp_shop::capture_of_size("https://www.lampshop.test", requests, megabytes << 20);
    let stored = codec::to_gzip_json(&capture)?;
    drop(capture);
    let bounds = CaptureBounds::default();
    match which {
        "scrub" => scrub(&stored, &bounds, runs),
        "analysis" => analysis(&stored, &bounds, runs),
        "all" => {
            scrub(&stored, &bounds, runs)?;
            analysis(&stored, &bounds, runs)
        }
        other => bail!("unknown section {other:?}: scrub, analysis or all"),
    }
}

fn scrub(stored: &[u8], bounds: &CaptureBounds, runs: usize) -> Result<()> {
    let mut phases = Phases::new(["decode", "scrub", "encode", "total"]);
    for _ in 0..runs {
        let started = Instant::now();
        let capture = codec::read_capture(stored, bounds)?;
        let decoded = started.elapsed();
        let scrubbed = recon_scrub::scrub(capture);
        let scrubbed_at = started.elapsed();
        let bytes = codec::to_gzip_json(&scrubbed.capture)?;
        let total = started.elapsed();
        std::hint::black_box(bytes);
        phases.add([decoded, scrubbed_at - decoded, total - scrubbed_at, total]);
    }
    phases.print("scrub stage");
    Ok(())
}

fn analysis(stored: &[u8], bounds: &CaptureBounds, runs: usize) -> Result<()> {
    let mut phases = Phases::new(["decode", "analyze", "serialise", "openapi", "total"]);
    for _ in 0..runs {
        let started = Instant::now();
        let capture = codec::read_capture(stored, bounds)?;
        let decoded = started.elapsed();
        let inventory = recon_analysis::analyze(&capture, &Detection::default());
        let analysed = started.elapsed();
        let result = serde_json::to_vec(&inventory)?;
        let serialised = started.elapsed();
        let openapi = serde_json::to_vec(&recon_analysis::openapi_document(
            &inventory,
            &capture.target_url,
        ))?;
        let total = started.elapsed();
        std::hint::black_box((result, openapi));
        phases.add([
            decoded,
            analysed - decoded,
            serialised - analysed,
            total - serialised,
            total,
        ]);
    }
    phases.print("analysis stage");
    Ok(())
}

struct Phases<const N: usize> {
    names: [&'static str; N],
    times: Vec<[Duration; N]>,
}

impl<const N: usize> Phases<N> {
    fn new(names: [&'static str; N]) -> Self {
        Self {
            names,
            times: Vec::new(),
        }
    }

    fn add(&mut self, times: [Duration; N]) {
        self.times.push(times);
    }

    fn print(&self, title: &str) {
        let mut line = format!("{title} (median of {}):", self.times.len());
        for (at, name) in self.names.iter().enumerate() {
            let mut column: Vec<Duration> = self.times.iter().map(|times| times[at]).collect();
            column.sort_unstable();
            let median = column.get(column.len() / 2).copied().unwrap_or_default();
            line.push_str(&format!(" {name} {:.1} ms", median.as_secs_f64() * 1e3));
        }
        println!("{line}");
    }
}
