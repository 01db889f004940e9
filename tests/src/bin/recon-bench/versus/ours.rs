//! Our side: the analysis stage as the pipeline runs it (decode the stored capture, analyse,
//! serialise the result) plus the OpenAPI document written as JSON.

use std::time::{Duration, Instant};

use anyhow::Result;
use recon_analysis::{analyze, openapi_document};
use recon_contracts::{Capture, CaptureBounds, Detection, Endpoint};
use recon_runtime::codec;

pub struct OurRun {
    pub elapsed: Duration,
    pub endpoints: Vec<Endpoint>,
    pub openapi_bytes: usize,
}

/// One timed run over `stored`, the capture as the api stores it (gzipped JSON).
pub fn run(stored: &[u8]) -> Result<OurRun> {
    let started = Instant::now();
    let capture: Capture = codec::read_capture(stored, &CaptureBounds::default())?;
    let inventory = analyze(&capture, &Detection::default());
    let result = serde_json::to_vec(&inventory)?;
    let openapi = serde_json::to_vec(&openapi_document(&inventory, &capture.target_url))?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        !result.is_empty(),
        "the analysis result serialised to nothing"
    );
    Ok(OurRun {
        elapsed,
        endpoints: inventory.endpoints,
        openapi_bytes: openapi.len(),
    })
}
