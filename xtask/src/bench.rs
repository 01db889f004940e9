//! `cargo xtask bench`: builds the release binaries, starts a throwaway Postgres, and runs
//! `recon-bench` (tests/src/bin/recon-bench), which prints the table of figures and targets.

use crate::install;
use crate::paths::Paths;
use crate::postgres::Throwaway;
use crate::process;
use crate::signals;
use anyhow::{Context, Result};
use std::process::Command;

pub fn run(paths: &Paths, bench_args: &[&str]) -> Result<i32> {
    let tools = install::ensure(paths)?;
    let mitmproxy2swagger = install::ensure_bench_tools(paths)?;
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

    let postgres = Throwaway::start(&tools.pg_bin)?;
    let cluster = postgres.cluster();
    let status = process::status(
        Command::new(paths.release_binary("recon-bench"))
            .args(bench_args)
            .env("RECON_TEST_DATABASE_URL", cluster.url("postgres"))
            .env("RECON_TEST_NATS_SERVER", &tools.nats_server)
            .env("RECON_BENCH_SERVER", paths.release_binary("recon-server"))
            .env("RECON_BENCH_CLI", paths.release_binary("recon"))
            .env("RECON_BENCH_MITMPROXY2SWAGGER", &mitmproxy2swagger)
            .env("RUST_LOG", "warn"),
    )
    .context("cannot run recon-bench")?;
    drop(postgres);
    signals::check()?;
    Ok(process::exit_code(status))
}
