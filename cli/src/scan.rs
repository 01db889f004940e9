//! `recon scan [URL]`: create the scan (which checks the key before anyone spends time
//! browsing), record the site in Chrome or import a HAR file, upload the capture, follow the
//! pipeline to its end.
//!
//! After the capture the CLI sends only the upload and the event requests (WebSocket or
//! polling): the scan was created and the version checked before recording began, and the
//! report URL comes with the upload's answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use recon_contracts::{Capture, CaptureAccepted, CreateScanRequest, ScanStatus};
use url::Url;
use uuid::Uuid;

use crate::client::ApiClient;
use crate::display::Display;
use crate::exit::{Exit, Failure};
use crate::har;
use crate::outcome::{print_json, Outcome};
use crate::progress::Follower;
use crate::record::{record_site, RecordArgs};
use crate::upload::encode::{EncodeError, Encoded, Limits};
use crate::upload::{self, human_bytes, CaptureSummary};

/// Warnings of an import shown in full; the rest are counted.
const SHOWN_WARNINGS: usize = 5;
const UPLOAD_ATTEMPTS: u64 = 3;

#[derive(Debug, Clone)]
pub struct ScanArgs {
    /// `--allow-http`: plain http to a server that is not this machine.
    pub allow_http: bool,
    /// The site; with `--from-har` it defaults to the HAR's first page.
    pub url: Option<String>,
    pub intent: Option<String>,
    pub template: Option<String>,
    pub from_har: Option<PathBuf>,
    pub headless: bool,
    pub duration: Option<Duration>,
    pub profile: Option<PathBuf>,
    pub no_progress: bool,
    pub no_wait: bool,
    pub json: bool,
}

pub async fn run(args: ScanArgs) -> Result<Exit, Failure> {
    // A bad HAR file is the user's to fix before anything reaches the server.
    let (target_url, imported) =
        match (&args.url, &args.from_har) {
            (Some(url), None) => (parse_target(url)?, None),
            (Some(url), Some(path)) => {
                let target_url = parse_target(url)?;
                let capture = import_har(path, Some(&target_url))?;
                (target_url, Some(capture))
            }
            (None, Some(path)) => {
                let capture = import_har(path, None)?;
                let target_url = capture.target_url.clone();
                eprintln!(
                    "scanning {target_url} (the first page of {})",
                    path.display()
                );
                (target_url, Some(capture))
            }
            (None, None) => return Err(Failure::usage(
                "give the site to scan (recon scan URL) or a HAR file (recon scan --from-har FILE)",
            )),
        };

    let (client, update) = crate::connect(args.allow_http)?;
    let created = client
        .create_scan(&CreateScanRequest {
            target_url: target_url.clone(),
            intent_text: args.intent.clone().filter(|text| !text.trim().is_empty()),
            starter_template: args.template.clone().filter(|name| !name.trim().is_empty()),
        })
        .await?;
    let scan_id = created.scan_id;

    let capture = match imported {
        Some(capture) => capture,
        None => {
            let record = RecordArgs {
                headless: args.headless,
                duration: args.duration,
                profile: args.profile.clone(),
            };
            match record_site(&target_url, &record).await? {
                Some(recording) => recording.capture,
                None => {
                    return Err(Failure::new(
                        Exit::Interrupted,
                        format!("nothing was uploaded; scan {scan_id} stays unstarted"),
                    ))
                }
            }
        }
    };
    let verb = if args.from_har.is_some() {
        "imported"
    } else {
        "captured"
    };
    eprintln!("{verb}: {}", CaptureSummary::of(&capture));
    eprintln!("scan {scan_id}: uploading the capture");
    let (accepted, encoded) = upload_with_retry(&client, scan_id, Arc::new(capture)).await?;
    if let Some(encoded) = encoded {
        eprintln!(
            "scan {scan_id}: uploaded {} of JSON as {} gzipped",
            human_bytes(encoded.json_bytes),
            human_bytes(encoded.gzip_bytes)
        );
    }

    if args.no_wait {
        if args.json {
            print_json(
                scan_id,
                ScanStatus::Processing.as_str(),
                &accepted.report_url,
            );
        } else {
            println!("{scan_id}");
        }
        eprintln!(
            "the pipeline is running; follow it with `recon watch {scan_id}`; the report will be at {}",
            accepted.report_url
        );
        update.print_if_ready();
        return Ok(Exit::Complete);
    }

    eprintln!("capture uploaded; following the pipeline (Ctrl-C stops watching, not the scan)");
    let mut display = Display::for_flags(args.no_progress, &accepted.steps);
    let follower = Follower::new(&client, scan_id);
    let end = tokio::select! {
        end = follower.follow(&mut display, false) => end,
        _ = tokio::signal::ctrl_c() => {
            display.finish();
            return Err(interrupted(scan_id));
        }
    };
    display.finish();
    let outcome = Outcome::from_follow(scan_id, end?, &accepted.report_url)
        .with_headlines(display.take_headlines());
    update.print_if_ready();
    outcome.finish(args.json)
}

fn import_har(path: &std::path::Path, target_url: Option<&str>) -> Result<Capture, Failure> {
    let import = har::import_file(path, target_url)?;
    for warning in import.warnings.iter().take(SHOWN_WARNINGS) {
        eprintln!("recon: warning: {warning}");
    }
    if import.warnings.len() > SHOWN_WARNINGS {
        eprintln!(
            "recon: warning: … and {} more like these",
            import.warnings.len() - SHOWN_WARNINGS
        );
    }
    if import.skipped > 0 {
        eprintln!(
            "{}: {} non-network entries skipped",
            path.display(),
            import.skipped
        );
    }
    Ok(import.capture)
}

/// Sends the capture, encoding it as it goes ([`upload::stream`]), and says how large it was
/// when the whole of it was sent. The server answers a repeated identical upload like the first
/// one, so an upload cut off by the network or a failing server is safe to encode and send
/// again. A capture over the server's limits is refused here, where the encoder passes the
/// limit, and never retried.
async fn upload_with_retry(
    client: &ApiClient,
    scan_id: Uuid,
    capture: Arc<Capture>,
) -> Result<(CaptureAccepted, Option<Encoded>), Failure> {
    let mut attempt = 1;
    loop {
        let streamed = upload::stream::start(capture.clone(), Limits::SERVER_DEFAULTS);
        let (sent, encoding) = tokio::join!(
            client.upload_capture(scan_id, streamed.body),
            streamed.encoding
        );
        let encoded = match encoding {
            Ok(Ok(encoded)) => Some(encoded),
            // The upload stopped reading the body: the server's answer says why (or, from a
            // server that answered without reading it all, that it took the scan anyway).
            Ok(Err(EncodeError::Write(_))) => None,
            Ok(Err(refused)) => return Err(Failure::usage(refused.to_string())),
            Err(error) => {
                return Err(Failure::usage(format!(
                    "cannot encode the capture for upload: {error}"
                )))
            }
        };
        match sent {
            Ok(accepted) => return Ok((accepted, encoded)),
            Err(error) if error.is_transient() && attempt < UPLOAD_ATTEMPTS => {
                eprintln!("upload failed ({error}); trying again");
                tokio::time::sleep(Duration::from_secs(attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

pub fn interrupted(scan_id: Uuid) -> Failure {
    Failure::new(
        Exit::Interrupted,
        format!("stopped watching; the scan goes on: follow it with `recon watch {scan_id}`"),
    )
}

/// The URL to scan: http(s), with `https://` assumed when no scheme is given.
pub fn parse_target(text: &str) -> Result<String, Failure> {
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let bad = |reason: &str| Failure::usage(format!("{text:?} is not a URL to scan: {reason}"));
    let url = Url::parse(&with_scheme).map_err(|error| bad(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_get_a_scheme_and_are_checked() {
        assert_eq!(
            parse_target("demo-shop.recon.test").unwrap(),
            "https://demo-shop.recon.test/"
        );
        assert_eq!(
            parse_target("http://demo-shop.recon.test/en/?q=1").unwrap(),
            "http://demo-shop.recon.test/en/?q=1"
        );
        let failure = parse_target("ftp://demo-shop.recon.test").unwrap_err();
        assert_eq!(failure.exit, Exit::Usage);
        assert!(failure.message().contains("http or https"));
        assert!(parse_target("https://").is_err());
    }
}
