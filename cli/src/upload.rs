//! Turns a capture into the upload body (JSON, gzip-compressed) and says in one line what it
//! holds, whichever way it was recorded (Chrome or a HAR import).

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use recon_contracts::{Capture, ResourceType};

/// What the user is told before the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    pub requests: usize,
    /// XHR and fetch requests: the candidates for the data the user wants.
    pub api_calls: usize,
    /// Responses whose body was recorded.
    pub bodies: usize,
    /// Size of the capture as JSON, before compression.
    pub json_bytes: usize,
}

impl CaptureSummary {
    pub fn of(capture: &Capture, json_bytes: usize) -> CaptureSummary {
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
            json_bytes,
        }
    }
}

impl std::fmt::Display for CaptureSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}, {} API {} (xhr/fetch), {} response {}, {}",
            self.requests,
            plural(self.requests, "request", "requests"),
            self.api_calls,
            plural(self.api_calls, "call", "calls"),
            self.bodies,
            plural(self.bodies, "body", "bodies"),
            human_bytes(self.json_bytes as u64)
        )
    }
}

/// The capture ready to send.
pub struct PreparedUpload {
    pub gzipped: Vec<u8>,
    pub summary: CaptureSummary,
}

/// The server's default limits (`RECON_MAX_CAPTURE_BYTES`, `RECON_MAX_CAPTURE_DECODED_BYTES`):
/// a capture over them is refused here, with advice, instead of after a long upload.
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;
pub const MAX_CAPTURE_JSON_BYTES: usize = 256 << 20;

pub fn check_size(prepared: &PreparedUpload) -> Result<(), String> {
    let advice = "record a shorter session (fewer pages, or a smaller --duration)";
    if prepared.summary.json_bytes > MAX_CAPTURE_JSON_BYTES {
        return Err(format!(
            "the capture is {}, over the server's limit of {}; {advice}",
            human_bytes(prepared.summary.json_bytes as u64),
            human_bytes(MAX_CAPTURE_JSON_BYTES as u64)
        ));
    }
    if prepared.gzipped.len() > MAX_UPLOAD_BYTES {
        return Err(format!(
            "the capture is {} gzipped, over the server's upload limit of {}; {advice}",
            human_bytes(prepared.gzipped.len() as u64),
            human_bytes(MAX_UPLOAD_BYTES as u64)
        ));
    }
    Ok(())
}

pub fn prepare(capture: &Capture) -> std::io::Result<PreparedUpload> {
    let json = serde_json::to_vec(capture)?;
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
    encoder.write_all(&json)?;
    let gzipped = encoder.finish()?;
    Ok(PreparedUpload {
        gzipped,
        summary: CaptureSummary::of(capture, json.len()),
    })
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
    use std::io::Read;
    use std::path::Path;

    #[test]
    fn a_capture_over_the_limit_is_refused_with_advice() {
        let prepared = PreparedUpload {
            gzipped: vec![0; 10],
            summary: CaptureSummary {
                requests: 1,
                api_calls: 0,
                bodies: 0,
                json_bytes: MAX_CAPTURE_JSON_BYTES + 1,
            },
        };
        let message = check_size(&prepared).unwrap_err();
        assert!(
            message.contains("over the server's limit of 256.0 MiB"),
            "{message}"
        );
        assert!(message.contains("shorter session"), "{message}");
    }

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
    }

    #[test]
    fn the_upload_is_the_capture_gzipped() {
        // The fixture's bytes are compiled in: no path that a shared target dir could make stale.
        let bytes = include_bytes!("../../tests/fixtures/demo.har");
        let capture = crate::har::import_bytes(
            bytes,
            Path::new("demo.har"),
            "https://demo-shop.recon.test/",
        )
        .unwrap()
        .capture;
        let prepared = prepare(&capture).unwrap();
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(prepared.gzipped.as_slice())
            .read_to_end(&mut json)
            .unwrap();
        assert_eq!(json.len(), prepared.summary.json_bytes);
        let back: Capture = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, capture);
        assert!(prepared.gzipped.len() < json.len());

        let summary = &prepared.summary;
        assert_eq!(summary.requests, 32);
        assert_eq!(summary.api_calls, 12);
        let line = summary.to_string();
        assert!(
            line.starts_with("32 requests, 12 API calls (xhr/fetch), "),
            "{line}"
        );
    }
}
