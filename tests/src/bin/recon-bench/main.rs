//! `recon-bench`: the benchmark suite behind `cargo xtask bench`. Every figure is measured on
//! loopback against the real parts (NATS, Postgres, recon-server, the CLI binary) and printed
//! as one table; medians and percentiles over repeated runs, nothing asserted on time. A full
//! run that misses a target exits 1; `--record FILE` writes the table with the machine facts.

mod events;
mod fairness;
mod from_har;
mod har;
mod hostile;
mod pipeline;
mod record;
mod recording;
mod scaling;
mod server_process;
mod sizes;
mod soak;
mod startup;
mod stats;
mod table;
mod upload;
mod versus;
mod wheel;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use table::Row;

const SECTIONS: [&str; 12] = [
    "upload",
    "hostile",
    "sizes",
    "events",
    "recording",
    "pipeline",
    "scaling",
    "soak",
    "fairness",
    "versus",
    "startup",
    "wheel",
];

pub struct Options {
    /// Fewer repetitions: a check that every benchmark runs, not a measurement.
    pub quick: bool,
    sections: Vec<String>,
    /// Where to write the table and the machine facts (`--record FILE`).
    record: Option<PathBuf>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options> {
        let mut options = Options {
            quick: false,
            sections: Vec::new(),
            record: None,
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--record" => {
                    let file = args.next().context("--record needs a file to write")?;
                    options.record = Some(PathBuf::from(file));
                }
                name if SECTIONS.contains(&name) => options.sections.push(name.to_owned()),
                other => bail!(
                    "unknown argument `{other}`: expected --quick, --record FILE and/or \
                     sections from {}",
                    SECTIONS.join(", ")
                ),
            }
        }
        if options.record.is_some() && (options.quick || !options.sections.is_empty()) {
            bail!("--record writes the figures of a full run: give no --quick and no sections");
        }
        if options.sections.is_empty() {
            options.sections = SECTIONS.iter().map(|name| (*name).to_owned()).collect();
        }
        Ok(options)
    }

    /// `full` repetitions, or a handful with --quick.
    pub fn runs(&self, full: usize) -> usize {
        if self.quick {
            full.clamp(1, 3)
        } else {
            full
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<ExitCode> {
    let options = Options::parse(std::env::args().skip(1))?;
    let mut rows: Vec<Row> = Vec::new();
    for section in &options.sections {
        eprintln!("recon-bench: {section} …");
        let started = std::time::Instant::now();
        let section_rows = match section.as_str() {
            "upload" => upload::run(&options).await,
            "hostile" => hostile::run(&options).await,
            "sizes" => sizes::run(&options).await,
            "events" => events::run(&options).await,
            "recording" => recording::run(&options).await,
            "pipeline" => pipeline::run(&options).await,
            "scaling" => scaling::run(&options).await,
            "soak" => soak::run(&options).await,
            "fairness" => fairness::run(&options).await,
            "versus" => versus::run(&options).await,
            "startup" => startup::run(&options).await,
            "wheel" => wheel::run(&options).await,
            other => bail!("no section {other}"),
        };
        eprintln!(
            "recon-bench: {section} took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // A section that cannot finish is a missed target, and the others still print.
        let section_rows = section_rows.unwrap_or_else(|err| {
            eprintln!("recon-bench: {section} failed: {err:?}");
            vec![Row::judged(
                format!("section {section}"),
                format!("failed: {}", first_line(&format!("{err:#}"))),
                "runs to the end",
                false,
            )]
        });
        rows.extend(section_rows);
    }
    let table = table::render(&rows);
    print!("{table}");
    if let Some(file) = &options.record {
        record::write(file, &table)?;
        eprintln!("recon-bench: recorded in {}", file.display());
    }
    let missed = rows.iter().filter(|row| row.met == Some(false)).count();
    if missed == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    if options.quick {
        println!("{missed} target(s) missed (a --quick run is not judged)");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{missed} target(s) missed");
    Ok(ExitCode::FAILURE)
}

/// The first line of an error chain, for a table cell.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
