//! The capture on its way to the server, whichever way it was recorded (Chrome or a HAR
//! import): what it holds in one line for the user ([`CaptureSummary`]), and the upload body,
//! gzip-compressed JSON encoded while it is sent ([`encode`], [`stream`]).

pub mod encode;
pub mod stream;

use recon_contracts::{Capture, ResourceType};

/// What the user is told before the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    pub requests: usize,
    /// XHR and fetch requests: the candidates for the data the user wants.
    pub api_calls: usize,
    /// Responses whose body was recorded.
    pub bodies: usize,
}

impl CaptureSummary {
    pub fn of(capture: &Capture) -> CaptureSummary {
        CaptureSummary {
            requests: capture.requests.len(),
            api_calls: capture
                .requests
                .iter()
                .filter(|request| {
                    matches!(
                        request.resource_type,
                        ResourceType::Xhr | ResourceType::Fetch
                    )
                })
                .count(),
            bodies: capture
                .requests
                .iter()
                .filter_map(|request| request.response.as_ref()?.body.as_ref())
                .filter(|body| !body.data.is_empty())
                .count(),
        }
    }
}

impl std::fmt::Display for CaptureSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}, {} API {} (xhr/fetch), {} response {}",
            self.requests,
            plural(self.requests, "request", "requests"),
            self.api_calls,
            plural(self.api_calls, "call", "calls"),
            self.bodies,
            plural(self.bodies, "body", "bodies"),
        )
    }
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 {
        one
    } else {
        many
    }
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
    }

    #[test]
    fn the_summary_counts_requests_api_calls_and_bodies() {
        // The fixture's bytes are compiled in: no path that a shared target dir could make stale.
        let bytes = include_bytes!("../../../tests/fixtures/demo.har");
        let capture = crate::har::import_bytes(
            bytes,
            Path::new("demo.har"),
            "https://demo-shop.recon.test/",
        )
        .unwrap()
        .capture;
        let summary = CaptureSummary::of(&capture);
        assert_eq!(summary.requests, 32);
        assert_eq!(summary.api_calls, 12);
        let line = summary.to_string();
        assert!(
            line.starts_with("32 requests, 12 API calls (xhr/fetch), "),
            "{line}"
        );
        assert!(line.ends_with(" response bodies"), "{line}");
    }
}
