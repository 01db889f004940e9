//! `cargo xtask test`: everything CI runs. Installs, the format check, a throwaway Postgres, and
//! `cargo test --workspace` with the services' and the CLI's locations in `RECON_TEST_*`.

use crate::fuzz;
use crate::install;
use crate::paths::Paths;
use crate::postgres::Throwaway;
use crate::process;
use crate::signals;
use crate::tally::{self, Tally};
use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};

pub fn run(paths: &Paths, cargo_test_args: &[&str]) -> Result<i32> {
    let started = Instant::now();
    let mut tally = Tally::default();
    let result = run_inner(paths, cargo_test_args, &mut tally);
    let outcome = match &result {
        Ok(0) => "passed".to_owned(),
        Ok(code) => format!("failed (cargo test exited {code})"),
        Err(_) => "failed".to_owned(),
    };
    println!("xtask test: {outcome} in {}", elapsed(started.elapsed()));
    println!("{}", tally.summary());
    result
}

fn run_inner(paths: &Paths, cargo_test_args: &[&str], tally: &mut Tally) -> Result<i32> {
    let tools = install::ensure(paths)?;
    // A run narrowed to some tests is a work-in-progress check; the full run gates formatting.
    if cargo_test_args.is_empty() {
        check_format(paths)?;
    }

    // The end-to-end tests drive the real `recon` binary, which `cargo test` does not build
    // for another package's tests.
    process::run(process::cargo(paths).args(["build", "-p", "browser-recon", "--bin", "recon"]))
        .context("cannot build the recon CLI for the end-to-end tests")?;
    // The secrets rotation test signals a real server process (SIGHUP).
    process::run(process::cargo(paths).args([
        "build",
        "-p",
        "recon-server",
        "--bin",
        "recon-server",
    ]))
    .context("cannot build recon-server for the end-to-end tests")?;

    let postgres = Throwaway::start(&tools.pg_bin)?;
    let cluster = postgres.cluster();
    println!(
        "xtask test: PostgreSQL on 127.0.0.1:{} (throwaway, log {})",
        cluster.port(),
        cluster.log_file().display()
    );
    let mut cargo = process::cargo(paths);
    cargo.arg("test");
    // `--workspace` would override a `-p` the caller chose.
    if !names_packages(cargo_test_args) {
        cargo.arg("--workspace");
    }
    cargo
        .args(cargo_test_args)
        .env("RECON_TEST_DATABASE_URL", cluster.url("postgres"))
        .env("RECON_TEST_NATS_SERVER", &tools.nats_server)
        .env("RECON_TEST_MOTO_SERVER", &tools.moto_server)
        .env("RECON_TEST_CLI", paths.binary("recon"))
        .env("RECON_TEST_SERVER", paths.binary("recon-server"))
        .env("RECON_TEST_PYTHON", &tools.python)
        .env("RECON_TEST_CHROME", &tools.chromium)
        .env("RECON_TEST_HELM", &tools.helm)
        .env("RECON_TEST_ACTIONLINT", &tools.actionlint)
        .env("RECON_TEST_KUBERNETES_VALIDATE", &tools.kubernetes_validate)
        .env("RECON_TEST_PROMTOOL", &tools.promtool);
    let (status, counted) = tally::run_counting(&mut cargo)?;
    *tally = counted;
    drop(postgres);
    signals::check()?;
    // CI's short form of the fuzzing (issue 10): every target for a few seconds, only in the full
    // run and only when the tests passed, so a narrowed run stays quick.
    if cargo_test_args.is_empty() && status.success() {
        let args = fuzz::FuzzArgs {
            seconds: fuzz::DEFAULT_SECONDS,
            targets: Vec::new(),
        };
        fuzz::run(paths, &args).context("the fuzz targets' short run failed")?;
    }
    Ok(process::exit_code(status))
}

/// True when the arguments (before any `--` meant for the test binaries) pick packages.
fn names_packages(cargo_test_args: &[&str]) -> bool {
    cargo_test_args
        .iter()
        .take_while(|arg| **arg != "--")
        .any(|arg| arg.starts_with("-p") || arg.starts_with("--package"))
}

fn check_format(paths: &Paths) -> Result<()> {
    if !process::succeeds(process::cargo(paths).args(["fmt", "--version"])) {
        bail!("rustfmt is missing: install it with `rustup component add rustfmt`");
    }
    let status = process::status(process::cargo(paths).args(["fmt", "--all", "--", "--check"]))
        .context("cannot run cargo fmt")?;
    signals::check()?;
    if !status.success() {
        bail!(
            "the code is not formatted (diff above): run `cargo fmt --all` and commit the result"
        );
    }
    Ok(())
}

fn elapsed(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chosen_package_replaces_the_workspace() {
        assert!(names_packages(&["-p", "recon-api"]));
        assert!(names_packages(&["-precon-api"]));
        assert!(names_packages(&[
            "--package=recon-api",
            "--",
            "--nocapture"
        ]));
        assert!(!names_packages(&[]));
        assert!(!names_packages(&["--", "-p"]));
        assert!(!names_packages(&["stage_loop", "--", "--nocapture"]));
    }

    #[test]
    fn elapsed_time_reads_naturally() {
        assert_eq!(elapsed(Duration::from_millis(8_250)), "8.2s");
        assert_eq!(elapsed(Duration::from_secs(192)), "3m 12s");
    }
}
