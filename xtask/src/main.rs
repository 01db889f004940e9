//! `cargo xtask`: the developer commands of DESIGN.md (demo, test, stack up|down, deps).

mod actionlint;
mod bench;
mod demo;
mod demo_site;
mod fuzz;
mod helm;
mod http;
mod install;
mod nats;
mod npm;
mod paths;
mod postgres;
mod process;
mod signals;
mod stack;
mod tally;
mod test;

use anyhow::{bail, Result};
use paths::Paths;

const USAGE: &str = "\
usage: cargo xtask <command>

  demo              start the local stack, capture the bundled demo shop in headless Chromium, print the report URL
  test [-- ARGS]    everything CI runs: installs, format check, a throwaway Postgres,
                    cargo test --workspace ARGS
  stack up          start Postgres, NATS and recon-server --target all in the background
                    (restarts the server when already up) and write target/recon-dev/env
  stack down        stop them (data under target/recon-dev is kept)
  deps              install what the commands need (Debian packages, the Python venv)
  bench [--quick] [--record] [SECTION...]
                    build release binaries and print the benchmark table (sections: upload,
                    hostile, sizes, events, pipeline, scaling, fairness, versus, startup; all by
                    default); exits 1 when a target is missed; --record (a full run only)
                    writes the table and the machine it ran on to BENCHMARKS.md
  fuzz [--seconds N] [TARGET...]
                    build the cargo-fuzz targets under fuzz/ and run each for N seconds (default 10)
";

fn main() {
    signals::install_handlers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match dispatch(&args) {
        Ok(code) => code,
        Err(err) if err.is::<signals::Interrupted>() => {
            eprintln!("xtask: interrupted");
            130
        }
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            1
        }
    };
    std::process::exit(code);
}

fn dispatch(args: &[String]) -> Result<i32> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["help" | "-h" | "--help"] => {
            print!("{USAGE}");
            Ok(0)
        }
        ["deps"] => {
            install::ensure(&Paths::discover()?)?;
            println!("deps: everything is installed");
            Ok(0)
        }
        ["test", rest @ ..] => test::run(&Paths::discover()?, passthrough(rest)?),
        ["stack", "up"] => stack::up(&Paths::discover()?, &[]).map(|stack| {
            stack.print_summary();
            0
        }),
        ["stack", "down"] => stack::down(&Paths::discover()?).map(|()| 0),
        ["demo"] => demo::run(&Paths::discover()?).map(|()| 0),
        ["bench", rest @ ..] => bench::run(&Paths::discover()?, rest),
        ["fuzz", rest @ ..] => fuzz::run(&Paths::discover()?, &fuzz::parse_args(rest)?),
        _ => {
            eprint!("xtask: unknown command `{}`\n\n{USAGE}", words.join(" "));
            Ok(2)
        }
    }
}

/// `test` takes no options of its own: everything after `--` goes to `cargo test`.
fn passthrough<'a>(rest: &'a [&'a str]) -> Result<&'a [&'a str]> {
    match rest {
        [] => Ok(rest),
        ["--", extra @ ..] => Ok(extra),
        [first, ..] => bail!(
            "`cargo xtask test` has no option `{first}`; pass cargo test arguments after `--`, \
             e.g. `cargo xtask test -- -p recon-api`"
        ),
    }
}
