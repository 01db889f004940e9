//! The table `cargo xtask bench` prints: one row per figure, with its target and whether it
//! was met.

use std::fmt::Write;

pub struct Row {
    pub bench: String,
    pub figure: String,
    pub target: String,
    pub met: Option<bool>,
}

impl Row {
    /// A figure with nothing to meet.
    pub fn info(bench: impl Into<String>, figure: impl Into<String>) -> Row {
        Row {
            bench: bench.into(),
            figure: figure.into(),
            target: String::new(),
            met: None,
        }
    }

    pub fn judged(
        bench: impl Into<String>,
        figure: impl Into<String>,
        target: impl Into<String>,
        met: bool,
    ) -> Row {
        Row {
            bench: bench.into(),
            figure: figure.into(),
            target: target.into(),
            met: Some(met),
        }
    }
}

pub fn render(rows: &[Row]) -> String {
    let headers = ["benchmark", "figure", "target", "met"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.bench.clone(),
                row.figure.clone(),
                row.target.clone(),
                match row.met {
                    Some(true) => "yes".to_owned(),
                    Some(false) => "NO".to_owned(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let mut widths = headers.map(|header| header.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: [&str; 4]| {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "| {} |", padded.join(" | "));
    };
    line(&mut out, headers);
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
    for row in &cells {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let text = render(&[
            Row::judged("POST /capture 5 MB", "p99 12.0 ms", "p99 < 50 ms", true),
            Row::info("recon --version", "3.1 ms"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].contains("| yes"));
        let bars = |line: &str| {
            line.match_indices('|')
                .map(|(i, _)| i)
                .take(3)
                .collect::<Vec<_>>()
        };
        assert_eq!(bars(lines[0]), bars(lines[2]));
    }
}
