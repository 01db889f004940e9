//! The CPU work of the scrub and analysis stages on the bench's capture, in a loop, for a
//! profiler (`perf record -g -- target/release/stage-profile scrub 20`): no servers, no
//! blob store, the same code paths the stages run on their blocking thread. Prints the median
//! wall time of each phase and the thread's CPU time for the whole run, which a busy machine
//! disturbs less. `peak` runs one scrub in a fresh child process and prints its peak RSS above
//! the RSS at rest (the `sizes` bench's figure for the scrub role, without the servers).
//!
//! `digest` prints a hash of each stage's output on the bench capture and on every capture of
//! the real-traffic corpus: equal before and after a change that is only speed.
//!
//! Usage: `stage-profile <scrub|analysis|all|peak|digest> [runs] [requests] [megabytes]`
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
    if which == "peak-child" {
        let path = args
            .get(1)
            .context("peak-child needs the stored capture's path")?;
        return peak_child(path, args.get(2).is_some_and(|how| how == "streaming"));
    }
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
        "peak" => peak(&stored),
        "digest" => digest(&stored, &bounds),
        "all" => {
            scrub(&stored, &bounds, runs)?;
            analysis(&stored, &bounds, runs)
        }
        other => bail!("unknown section {other:?}: scrub, analysis, all, peak or digest"),
    }
}

fn digest(stored: &[u8], bounds: &CaptureBounds) -> Result<()> {
    let mut captures = vec![(
        "bench capture".to_owned(),
        codec::read_capture(stored, bounds)?,
    )];
    for labelled in recon_tests::real_corpus::labelled() {
        captures.push((labelled.file().display().to_string(), labelled.capture()));
    }
    for (name, capture) in captures {
        let detection = recon_detection::detect(&capture);
        let inventory = recon_analysis::analyze(&capture, &detection);
        let openapi = recon_analysis::openapi_document(&inventory, &capture.target_url);
        let analysed = hash(&(
            serde_json::to_vec(&inventory)?,
            serde_json::to_vec(&openapi)?,
        ));
        let scrubbed = recon_scrub::scrub(capture);
        let scrub = hash(&(
            serde_json::to_vec(&scrubbed.capture)?,
            scrubbed.replacements,
            &scrubbed.by_kind,
        ));
        println!("scrub {scrub:016x} analysis {analysed:016x} {name}");
    }
    Ok(())
}

fn hash(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut hasher = std::hash::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Writes the stored capture to a file and scrubs it in a child that holds nothing else: once
/// decoded as the stages decode it (inflated whole, parsed in place), once parsed as it is
/// inflated (the api's way), to show what each costs in memory.
fn peak(stored: &[u8]) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("capture.json.gz");
    std::fs::write(&path, stored)?;
    for how in ["in-place", "streaming"] {
        print!("{how}: ");
        std::io::Write::flush(&mut std::io::stdout())?;
        let status = std::process::Command::new(std::env::current_exe()?)
            .arg("peak-child")
            .arg(&path)
            .arg(how)
            .status()?;
        anyhow::ensure!(status.success(), "the child scrub failed: {status}");
    }
    Ok(())
}

fn peak_child(path: &str, streaming: bool) -> Result<()> {
    let stored = std::fs::read(path)?;
    let cold = status_kib("VmRSS")?;
    // The rules compile on first use, in the server too: apart from the scan that measures.
    recon_scrub::scrub(lamp_shop::capture("https://warm.test", 1, 1));
    let rest = status_kib("VmRSS")?;
    print!(
        "compiled scrub rules: +{:.1} MiB RSS; ",
        rest.saturating_sub(cold) as f64 / 1024.0
    );
    let bounds = CaptureBounds::default();
    let capture = if streaming {
        codec::read_capture_with(&stored, &bounds, |_| {})?
    } else {
        codec::read_capture(&stored, &bounds)?
    };
    let scrubbed = recon_scrub::scrub(capture);
    let bytes = codec::to_gzip_json(&scrubbed.capture)?;
    drop(scrubbed);
    std::hint::black_box(bytes);
    let peak = status_kib("VmHWM")?;
    let json = codec::gunzip(&stored, usize::MAX)?.len();
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "scrub peak RSS +{:.1} MiB above rest ({:.1} MiB; +{:.1} MiB above the process before \
         its first scrub), capture JSON {:.1} MiB: {:.2} x the JSON",
        mib(peak - rest),
        mib(rest),
        mib(peak - cold),
        json as f64 / (1024.0 * 1024.0),
        (peak - rest) as f64 * 1024.0 / json as f64
    );
    Ok(())
}

fn status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}

/// CPU time of this thread so far.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn scrub(stored: &[u8], bounds: &CaptureBounds, runs: usize) -> Result<()> {
    let mut phases = Phases::new(["decode", "scrub", "encode", "total"]);
    let cpu = thread_cpu();
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
    phases.print("scrub stage", thread_cpu() - cpu);
    Ok(())
}

fn analysis(stored: &[u8], bounds: &CaptureBounds, runs: usize) -> Result<()> {
    let mut phases = Phases::new(["decode", "analyze", "serialise", "openapi", "total"]);
    let cpu = thread_cpu();
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
    phases.print("analysis stage", thread_cpu() - cpu);
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

    fn print(&self, title: &str, cpu: Duration) {
        let mut line = format!("{title} (median of {}):", self.times.len());
        for (at, name) in self.names.iter().enumerate() {
            let mut column: Vec<Duration> = self.times.iter().map(|times| times[at]).collect();
            column.sort_unstable();
            let median = column.get(column.len() / 2).copied().unwrap_or_default();
            line.push_str(&format!(" {name} {:.1} ms", median.as_secs_f64() * 1e3));
        }
        let runs = self.times.len().max(1) as f64;
        line.push_str(&format!(
            "; CPU {:.1} ms a run",
            cpu.as_secs_f64() * 1e3 / runs
        ));
        println!("{line}");
    }
}
