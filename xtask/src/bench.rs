//! `cargo xtask bench`: builds the release binaries, starts a throwaway Postgres, and runs
//! `recon-bench` (tests/src/bin/recon-bench), which prints the table of figures and targets and
//! exits non-zero when a target is missed. `--record` also writes the table, with the machine
//! and commit it was measured on, to BENCHMARKS.md, the file the README quotes.

use crate::install;
use crate::paths::Paths;
use crate::postgres::Throwaway;
use crate::process;
use crate::signals;
use anyhow::{Context, Result};
use std::process::Command;

/// The committed record of the last full run.
const RECORD_FILE: &str = "BENCHMARKS.md";

pub fn run(paths: &Paths, bench_args: &[&str]) -> Result<i32> {
    let tools = install::ensure(paths)?;
    let peers = install::ensure_bench_tools(paths)?;
    process::run(process::cargo(paths).args([
        "build",
        "--release",
        "-p",
        "recon-server",
        "--bin",
        "recon-server",
        "-p",
        "browser-recon",
        "--bin",
        "recon",
        "-p",
        "recon-tests",
        "--bin",
        "recon-bench",
    ]))
    .context("cannot build the release binaries for the benchmarks")?;

    let mut args: Vec<String> = Vec::new();
    for arg in bench_args {
        args.push((*arg).to_owned());
        if *arg == "--record" {
            args.push(paths.repo.join(RECORD_FILE).display().to_string());
        }
    }
    let postgres = Throwaway::start(&tools.pg_bin)?;
    let cluster = postgres.cluster();
    let status = process::status(
        Command::new(paths.release_binary("recon-bench"))
            .args(&args)
            .env("RECON_TEST_DATABASE_URL", cluster.url("postgres"))
            .env("RECON_TEST_NATS_SERVER", &tools.nats_server)
            .env("RECON_BENCH_SERVER", paths.release_binary("recon-server"))
            .env("RECON_BENCH_CLI", paths.release_binary("recon"))
            // The wheel section builds the wheel with maturin, into the same target dir.
            .env("RECON_BENCH_MATURIN", paths.venv_bin("maturin"))
            .env("CARGO_TARGET_DIR", &paths.target)
            .env("RECON_BENCH_MITMPROXY2SWAGGER", &peers.mitmproxy2swagger)
            .env("RECON_BENCH_PYTHON", &peers.bench_python)
            .env("RECON_BENCH_HAR_TO_OPENAPI", &peers.har_to_openapi)
            .env("RECON_BENCH_COMMIT", commit(paths))
            .env("RUST_LOG", "warn"),
    )
    .context("cannot run recon-bench")?;
    drop(postgres);
    signals::check()?;
    Ok(process::exit_code(status))
}

/// The commit measured, `-dirty` when the work tree has changes; `unknown` outside git.
fn commit(paths: &Paths) -> String {
    let git = |args: &[&str]| {
        process::output(Command::new("git").args(args).current_dir(&paths.repo)).ok()
    };
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".to_owned();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.trim().is_empty());
    format!("{}{}", head.trim(), if dirty { "-dirty" } else { "" })
}
