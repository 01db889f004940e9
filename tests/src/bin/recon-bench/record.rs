//! `--record`: the table of a full run, with what it was measured on (cores, CPU model, memory,
//! date, commit), written as Markdown to the file the README quotes.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};

pub fn write(file: &Path, table: &str) -> Result<()> {
    let text = document(&MachineFacts::here(), table);
    std::fs::write(file, text).with_context(|| format!("cannot write {}", file.display()))
}

struct MachineFacts {
    cores: usize,
    cpu_model: String,
    memory: String,
    os: String,
    date: String,
    commit: String,
}

impl MachineFacts {
    fn here() -> MachineFacts {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        MachineFacts {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".to_owned()),
            memory: field(&meminfo, "MemTotal")
                .and_then(|kib| kib.trim_end_matches(" kB").trim().parse::<u64>().ok())
                .map_or_else(
                    || "unknown".to_owned(),
                    |kib| format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)),
                ),
            os: os_release
                .lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map_or_else(
                    || std::env::consts::OS.to_owned(),
                    |name| name.trim_matches('"').to_owned(),
                ),
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit: std::env::var("RECON_BENCH_COMMIT").unwrap_or_else(|_| "unknown".to_owned()),
        }
    }
}

/// The value of the first `name : value` line (the /proc formats).
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

fn document(facts: &MachineFacts, table: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks: the last recorded run\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench --record` (release build, every section, full \
         repetitions). Rerun it to replace this file; the README quotes it.\n"
    );
    let _ = writeln!(out, "| machine | |");
    let _ = writeln!(out, "|---|---|");
    let _ = writeln!(out, "| date | {} |", facts.date);
    let _ = writeln!(out, "| commit | {} |", facts.commit);
    let _ = writeln!(out, "| cores | {} |", facts.cores);
    let _ = writeln!(out, "| CPU | {} |", facts.cpu_model);
    let _ = writeln!(out, "| memory | {} |", facts.memory);
    let _ = writeln!(out, "| OS | {} |\n", facts.os);
    out.push_str(table);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_fields_and_writes_the_facts_above_the_table() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n";
        assert_eq!(
            field(cpuinfo, "model name").as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(field(cpuinfo, "bogus"), None);
        let facts = MachineFacts {
            cores: 2,
            cpu_model: "AMD EPYC 7B13".to_owned(),
            memory: "23.4 GiB".to_owned(),
            os: "Debian GNU/Linux 12 (bookworm)".to_owned(),
            date: "2026-12-03 15:00 UTC".to_owned(),
            commit: "0123456789ab".to_owned(),
        };
        let text = document(&facts, "| benchmark |\n");
        assert!(text.contains("| cores | 2 |"));
        assert!(text.contains("| commit | 0123456789ab |"));
        assert!(text.ends_with("| benchmark |\n"));
    }
}
