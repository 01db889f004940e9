//! `cargo xtask fuzz [--seconds N] [TARGET...]`: builds the cargo-fuzz targets under `fuzz/` and
//! runs each for a bounded time with memory, input-size and per-input time limits. Any crash,
//! out-of-memory or slow input fails the run with the target's name and the reproducer's path.
//! `cargo xtask test` runs the short form after the tests.

use crate::install;
use crate::paths::Paths;
use crate::process;
use crate::signals;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Seconds per target when none are given, and in CI's short form.
pub const DEFAULT_SECONDS: u64 = 10;
/// libFuzzer's limits: a run is a failure when its RSS passes this, or one input takes longer.
const RSS_LIMIT_MB: u64 = 1024;
const INPUT_TIMEOUT_SECONDS: u64 = 20;
/// The triple cargo-fuzz builds for: an explicit one, so the instrumented build lives in its own
/// directory of the shared target dir and never replaces the host build's artifacts.
const TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// Options of `cargo xtask fuzz`.
#[derive(Debug, PartialEq, Eq)]
pub struct FuzzArgs {
    pub seconds: u64,
    pub targets: Vec<String>,
}

pub fn parse_args(words: &[&str]) -> Result<FuzzArgs> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        match *word {
            "--seconds" => {
                let value = words.next().context("--seconds needs a number")?;
                seconds =
                    value.parse().ok().filter(|n| *n > 0).with_context(|| {
                        format!("--seconds takes a positive number, not `{value}`")
                    })?;
            }
            other if other.starts_with('-') => {
                bail!("`cargo xtask fuzz` has no option `{other}` (usage: fuzz [--seconds N] [TARGET...])")
            }
            target => targets.push(target.to_owned()),
        }
    }
    Ok(FuzzArgs { seconds, targets })
}

/// What one target's run measured.
#[derive(Debug, Default, PartialEq)]
struct Stats {
    executions: u64,
    per_second: u64,
    peak_rss_mb: u64,
}

pub fn run(paths: &Paths, args: &FuzzArgs) -> Result<i32> {
    let cargo_fuzz = install::ensure_cargo_fuzz(paths)?;
    let fuzz_dir = paths.repo.join("fuzz");
    let available = list_targets(&fuzz_dir)?;
    let targets = if args.targets.is_empty() {
        available.clone()
    } else {
        for target in &args.targets {
            if !available.contains(target) {
                bail!(
                    "there is no fuzz target `{target}`; the targets are: {}",
                    available.join(", ")
                );
            }
        }
        args.targets.clone()
    };

    let started = Instant::now();
    let mut build = fuzz_command(paths, &cargo_fuzz);
    // No sanitizer: coverage instrumentation alone works on the stable toolchain, and Rust code
    // needs no ASan to catch out-of-bounds access. Bins only (fuzz targets are bins).
    build.args(["fuzz", "build", "--sanitizer", "none", "--target", TRIPLE]);
    // cargo-fuzz defaults to one codegen unit per crate, which makes the cold build of the
    // server's dependency tree several minutes longer on two cores.
    build.args(["--codegen-units", "16"]);
    // `cargo fuzz build` takes one target or none (all of them).
    if let [only] = targets.as_slice() {
        build.arg(only);
    }
    process::run(&mut build).context("cannot build the fuzz targets")?;
    println!(
        "xtask fuzz: built {} target(s) in {:.0}s",
        targets.len(),
        started.elapsed().as_secs_f64()
    );

    let work = paths.target.join("fuzz");
    let mut failures = Vec::new();
    println!(
        "xtask fuzz: {:<16} {:>10} {:>8} {:>8}  result",
        "target", "runs", "exec/s", "rss MB"
    );
    for target in &targets {
        signals::check()?;
        match run_target(paths, &work, target, args.seconds)? {
            Ok(stats) => println!(
                "xtask fuzz: {target:<16} {:>10} {:>8} {:>8}  ok",
                stats.executions, stats.per_second, stats.peak_rss_mb
            ),
            Err(failure) => {
                println!(
                    "xtask fuzz: {target:<16} {:>10} {:>8} {:>8}  FAILED",
                    "-", "-", "-"
                );
                failures.push(failure);
            }
        }
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("xtask fuzz: {failure}");
        }
        bail!(
            "{} of {} fuzz target(s) failed",
            failures.len(),
            targets.len()
        );
    }
    println!(
        "xtask fuzz: {} target(s), {}s each, no crash ({:.0}s in all)",
        targets.len(),
        args.seconds,
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

/// `cargo fuzz …` in `fuzz/`, on the shared target dir.
fn fuzz_command(paths: &Paths, cargo_fuzz: &Path) -> Command {
    let mut cmd = process::cargo(paths);
    cmd.current_dir(paths.repo.join("fuzz"));
    // `cargo fuzz` finds the subcommand binary on PATH.
    let dir = cargo_fuzz
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![dir];
    dirs.extend(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(dirs) {
        cmd.env("PATH", joined);
    }
    cmd
}

/// The `[[bin]]` names of fuzz/Cargo.toml, in file order.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let targets = bin_names(&text);
    if targets.is_empty() {
        bail!("{} declares no [[bin]] fuzz targets", manifest.display());
    }
    Ok(targets)
}

fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(value) = line.strip_prefix("name").map(str::trim_start) {
                if let Some(value) = value.strip_prefix('=') {
                    names.push(value.trim().trim_matches('"').to_owned());
                }
            }
        }
    }
    names
}

/// Runs one built target for `seconds` on its corpus; `Err(message)` when libFuzzer found
/// something.
fn run_target(
    paths: &Paths,
    work: &Path,
    target: &str,
    seconds: u64,
) -> Result<std::result::Result<Stats, String>> {
    let binary = paths.target.join(TRIPLE).join("release").join(target);
    // The growing corpus lives outside the clone; the checked-in seeds are read only.
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let seeds = paths.repo.join("fuzz/seeds").join(target);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log = work.join(format!("{target}.log"));
    let mut cmd = Command::new(&binary);
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-malloc_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!("-max_len={}", max_len(target)))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg(&corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    let file =
        fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    cmd.stdout(file.try_clone()?).stderr(file);
    let status = process::status(&mut cmd)?;
    signals::check()?;
    let output = fs::read_to_string(&log).unwrap_or_default();
    if status.success() {
        return Ok(Ok(parse_stats(&output)));
    }
    let artifact = reproducer(&output).unwrap_or_else(|| format!("none (see {})", log.display()));
    Ok(Err(format!(
        "fuzz target `{target}` failed ({status}): {}; reproducer: {artifact}; log: {}; replay with \
         `{} {artifact}`",
        kind_of_failure(&output),
        log.display(),
        binary.display(),
    )))
}

/// Whole files and captures need room; the recipe targets build large inputs from few bytes.
fn max_len(target: &str) -> usize {
    match target {
        "har_import" | "capture_decode" => 256 << 10,
        _ => 32 << 10,
    }
}

fn parse_stats(output: &str) -> Stats {
    let value = |key: &str| {
        output
            .lines()
            .find_map(|line| line.trim().strip_prefix(key))
            .and_then(|rest| rest.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Stats {
        executions: value("stat::number_of_executed_units:"),
        per_second: value("stat::average_exec_per_sec:"),
        peak_rss_mb: value("stat::peak_rss_mb:"),
    }
}

fn reproducer(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        line.split_once("Test unit written to ")
            .map(|(_, path)| path.trim().to_owned())
    })
}

fn kind_of_failure(output: &str) -> &'static str {
    if output.contains("ERROR: libFuzzer: out-of-memory") {
        "out of memory"
    } else if output.contains("ERROR: libFuzzer: timeout") {
        "an input took too long"
    } else if output.contains("panicked at") {
        "a panic"
    } else if output.contains("ERROR: libFuzzer: deadly signal") {
        "a crash"
    } else if output.contains("ERROR: libFuzzer: leak") {
        "a leak"
    } else {
        "an error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_pick_time_and_targets() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            FuzzArgs {
                seconds: DEFAULT_SECONDS,
                targets: vec![]
            }
        );
        assert_eq!(
            parse_args(&["--seconds", "3", "har_import", "scrub"]).unwrap(),
            FuzzArgs {
                seconds: 3,
                targets: vec!["har_import".into(), "scrub".into()]
            }
        );
        assert!(parse_args(&["--seconds"]).is_err());
        assert!(parse_args(&["--seconds", "0"]).is_err());
        assert!(parse_args(&["--minutes", "3"]).is_err());
    }

    #[test]
    fn targets_are_the_manifest_bins() {
        let manifest = "[package]\nname = \"recon-fuzz\"\n\n[[bin]]\nname = \"har_import\"\npath = \"x.rs\"\n\n[profile.release]\nopt-level = 1\n\n[[bin]]\nname=\"scrub\"\n";
        assert_eq!(bin_names(manifest), vec!["har_import", "scrub"]);
    }

    #[test]
    fn libfuzzer_output_is_read() {
        let output = "#1024 DONE cov: 10\nstat::number_of_executed_units: 51234\nstat::average_exec_per_sec:     5123\nstat::new_units_added:          12\nstat::peak_rss_mb:              87\n";
        assert_eq!(
            parse_stats(output),
            Stats {
                executions: 51234,
                per_second: 5123,
                peak_rss_mb: 87
            }
        );
        let crash = "thread '<unnamed>' panicked at src/lib.rs:3:5:\n==1== ERROR: libFuzzer: deadly signal\nartifact_prefix='/t/'; Test unit written to /t/crash-abc\n";
        assert_eq!(reproducer(crash).as_deref(), Some("/t/crash-abc"));
        assert_eq!(kind_of_failure(crash), "a panic");
        assert_eq!(
            kind_of_failure("==1== ERROR: libFuzzer: out-of-memory (malloc(2147483648))"),
            "out of memory"
        );
    }
}
