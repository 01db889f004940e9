//! Adds up the `test result:` lines of every test binary, so the run ends with one total
//! (`tests: N passed, N failed, N skipped`) instead of the last binary's count.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Tally {
    /// Counts a libtest summary line such as
    /// `test result: ok. 36 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …`.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(['.', ';']) {
            let mut words = part.split_whitespace();
            let (Some(count), Some(label)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "tests: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.ignored
        )
    }
}

/// Runs `command`, echoing its stdout while counting the results.
pub fn run_counting(command: &mut Command) -> Result<(ExitStatus, Tally)> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let mut tally = Tally::default();
    if let Some(stdout) = child.stdout.take() {
        let mut echo = std::io::stdout();
        for line in BufReader::new(stdout).lines() {
            let line = line.context("reading cargo test output")?;
            tally.add_line(&line);
            let _ = writeln!(echo, "{line}");
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    Ok((status, tally))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_result_lines() {
        let mut tally = Tally::default();
        tally.add_line("test result: ok. 36 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.08s");
        tally.add_line("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 5.72s");
        tally.add_line("running 3 tests");
        tally.add_line("test a ... ok");
        assert_eq!(
            tally,
            Tally {
                passed: 38,
                failed: 1,
                ignored: 1
            }
        );
        assert_eq!(tally.summary(), "tests: 38 passed, 1 failed, 1 skipped");
    }
}
