//! `recon capture URL --out FILE` (hidden): records like `recon scan` but writes the capture to
//! a file instead of uploading it, with the recorder's counters on stderr. For debugging a
//! capture and for the capture tests; it talks to no server.

use std::path::Path;

use crate::exit::{Exit, Failure};
use crate::record::{record_site, RecordArgs};
use crate::upload::encode::{encode, Limits};
use crate::upload::{human_bytes, CaptureSummary};

pub async fn run(url: &str, out: &Path, args: RecordArgs) -> Result<Exit, Failure> {
    let target_url = crate::scan::parse_target(url)?;
    let Some(recording) = record_site(&target_url, &args).await? else {
        return Err(Failure::new(Exit::Interrupted, "nothing was written"));
    };
    // The same encoding and limits as the upload, so a capture too large to scan says so here.
    let encoded = encode(&recording.capture, Limits::SERVER_DEFAULTS, std::io::sink())
        .map_err(|error| Failure::usage(error.to_string()))?;
    let json = serde_json::to_vec_pretty(&recording.capture)
        .map_err(|error| Failure::usage(format!("cannot encode the capture: {error}")))?;
    std::fs::write(out, json)
        .map_err(|error| Failure::usage(format!("cannot write {}: {error}", out.display())))?;
    let stats = &recording.stats;
    eprintln!(
        "captured: {}, {} of JSON, {} gzipped",
        CaptureSummary::of(&recording.capture),
        human_bytes(encoded.json_bytes),
        human_bytes(encoded.gzip_bytes)
    );
    eprintln!(
        "recorder: targets={} service_worker_requests={} request_extra_info={} \
         response_extra_info={} bodies_fetched={} bodies_failed={} bodies_skipped_total_cap={} \
         elapsed_ms={}",
        stats.targets,
        stats.service_worker_requests,
        stats.request_extra_info,
        stats.response_extra_info,
        stats.bodies_fetched,
        stats.bodies_failed,
        stats.bodies_skipped_total_cap,
        recording.elapsed.as_millis()
    );
    println!("{}", out.display());
    Ok(Exit::Complete)
}
