//! What a `/metrics` answer (OpenMetrics text) offers to queries: the series names each family
//! declares (a counter `x` is queried as `x_total`, a histogram as `x_bucket`, `x_sum`,
//! `x_count`), and the label names and values of the samples present. The monitoring tests
//! check the chart's queries against this, read from a running server.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Exposition {
    /// Every series name a query may use, whether or not it has samples yet.
    pub series: BTreeSet<String>,
    /// Per series name with samples: each label's values.
    pub labels: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Exposition {
    pub fn parse(text: &str) -> Result<Exposition, String> {
        let mut exposition = Exposition::default();
        for line in text.lines() {
            if let Some(declaration) = line.strip_prefix("# TYPE ") {
                let mut parts = declaration.split_whitespace();
                let (Some(family), Some(kind)) = (parts.next(), parts.next()) else {
                    return Err(format!("a TYPE line without a type: {line}"));
                };
                exposition.series.extend(series_of(family, kind));
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let (name, labels) = sample(line)?;
                let known = exposition.labels.entry(name).or_default();
                for (label, value) in labels {
                    known.entry(label).or_default().insert(value);
                }
            }
        }
        if let Some(undeclared) = exposition
            .labels
            .keys()
            .find(|name| !exposition.series.contains(*name))
        {
            return Err(format!(
                "a sample of {undeclared}, which no TYPE line declares"
            ));
        }
        Ok(exposition)
    }

    /// The values `label` has on the samples of `series` (none when it has no samples).
    pub fn values(&self, series: &str, label: &str) -> BTreeSet<String> {
        self.labels
            .get(series)
            .and_then(|labels| labels.get(label))
            .cloned()
            .unwrap_or_default()
    }
}

/// The series names a family of `kind` is queried by.
fn series_of(family: &str, kind: &str) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        "counter" => &["_total", "_created"],
        "histogram" | "gaugehistogram" => &["_bucket", "_sum", "_count", "_created"],
        "summary" => &["", "_sum", "_count", "_created"],
        "info" => &["_info"],
        _ => &[""],
    };
    suffixes
        .iter()
        .map(|suffix| format!("{family}{suffix}"))
        .collect()
}

/// The name and labels of a sample line, `name{a="x",b="y"} 1`.
fn sample(line: &str) -> Result<(String, Vec<(String, String)>), String> {
    let end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("a sample without a value: {line}"))?;
    let name = line[..end].to_owned();
    let mut labels = Vec::new();
    if line[end..].starts_with('{') {
        let mut rest = &line[end + 1..];
        loop {
            rest = rest.trim_start_matches([',', ' ']);
            if let Some(after) = rest.strip_prefix('}') {
                if after.trim().is_empty() {
                    return Err(format!("a sample without a value: {line}"));
                }
                break;
            }
            let (label, after) = rest
                .split_once("=\"")
                .ok_or_else(|| format!("a label without a quoted value: {line}"))?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let close = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, escaped)) => value.push(escaped),
                        None => break None,
                    },
                    Some((at, '"')) => break Some(at),
                    Some((_, c)) => value.push(c),
                    None => break None,
                }
            };
            let close = close.ok_or_else(|| format!("an unterminated label value: {line}"))?;
            labels.push((label.to_owned(), value));
            rest = &after[close + 1..];
        }
    }
    Ok((name, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP recon_stage_messages Pipeline messages.\n\
        # TYPE recon_stage_messages counter\n\
        recon_stage_messages_total{stage=\"detection\",outcome=\"processed\"} 3\n\
        # TYPE recon_http_request_duration_seconds histogram\n\
        recon_http_request_duration_seconds_bucket{method=\"GET\",route=\"/scans/{id}\",status=\"200\",le=\"0.001\"} 0\n\
        recon_http_request_duration_seconds_count{method=\"GET\",route=\"/a \\\"b\\\"\",status=\"200\"} 1\n\
        # TYPE recon_scans gauge\n\
        # TYPE recon_orphans_swept counter\n\
        recon_orphans_swept_total 0\n\
        # EOF\n";

    #[test]
    fn families_declare_their_series_and_samples_their_labels() {
        let exposition = Exposition::parse(TEXT).unwrap();
        for series in [
            "recon_stage_messages_total",
            "recon_http_request_duration_seconds_bucket",
            "recon_http_request_duration_seconds_count",
            "recon_scans",
            "recon_orphans_swept_total",
        ] {
            assert!(exposition.series.contains(series), "{series}");
        }
        assert!(!exposition.series.contains("recon_stage_messages"));
        assert_eq!(
            exposition.values("recon_http_request_duration_seconds_bucket", "route"),
            BTreeSet::from(["/scans/{id}".to_owned()])
        );
        assert_eq!(
            exposition.values("recon_http_request_duration_seconds_count", "route"),
            BTreeSet::from(["/a \"b\"".to_owned()])
        );
        assert!(exposition.values("recon_scans", "status").is_empty());
        assert!(exposition.labels.contains_key("recon_orphans_swept_total"));
    }

    #[test]
    fn malformed_lines_and_undeclared_samples_are_errors() {
        assert!(Exposition::parse("# TYPE x\n").is_err());
        assert!(Exposition::parse("# TYPE x gauge\nx{a=\"b} 1\n").is_err());
        assert!(Exposition::parse("# TYPE x gauge\nx{a=\"b\"}\n").is_err());
        assert!(Exposition::parse("# TYPE x gauge\ny 1\n").is_err());
    }
}
