//! Hostile captures (issue 15): uploads a few hundred KiB on the wire that would parse to
//! gigabytes without the capture bounds. Each goes to a fresh `recon-server --target api`
//! process, whose peak RSS above rest is compared with what an honest capture at the size limit
//! costs it; then that honest capture runs through a pipeline of one process per role, each
//! role's peak RSS measured (no role may hold much more than two copies of the capture).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use recon_contracts::{CaptureBounds, ErrorBody, Limit, ScanStatus};
use recon_runtime::codec;
use recon_tests::{lamp_shop, TestStack};

use crate::server_process::ServerProcess;
use crate::stats::{mib, ms};
use crate::table::Row;
use crate::Options;

/// The bounds the servers run with: the defaults, or with --quick an eighth of the three that
/// set the sizes here.
struct Scale {
    decoded_bytes: u64,
    strings: u64,
    requests: u64,
}

impl Scale {
    fn new(options: &Options) -> Scale {
        let divisor = if options.quick { 8 } else { 1 };
        Scale {
            decoded_bytes: CaptureBounds::default_max(Limit::DecodedBytes) / divisor,
            strings: CaptureBounds::default_max(Limit::Strings) / divisor,
            requests: CaptureBounds::default_max(Limit::Requests) / divisor,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "RECON_MAX_CAPTURE_DECODED_BYTES",
                self.decoded_bytes.to_string(),
            ),
            ("RECON_CAPTURE_MAX_STRINGS", self.strings.to_string()),
            ("RECON_CAPTURE_MAX_REQUESTS", self.requests.to_string()),
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1".to_owned()),
        ]
    }
}

/// One hostile upload and the refusal it must get.
struct Hostile {
    name: &'static str,
    body: Vec<u8>,
    status: u16,
    limit: Limit,
}

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let scale = Scale::new(options);
    let mut stack = TestStack::start_with(&[], &[]).await;
    let honest = honest_capture(&scale)?;
    let limit_label = mib(scale.decoded_bytes);
    let mut rows = Vec::new();

    let baseline = api_peak(&mut stack, &scale, &honest.gzip, 202, None).await?;
    let honest_target = honest.json_bytes * 3;
    rows.push(Row::judged(
        format!(
            "api peak RSS, an honest capture at the size limit ({} JSON)",
            mib(honest.json_bytes)
        ),
        format!(
            "+{} over {} at rest, {}",
            mib(baseline.growth),
            mib(baseline.resting),
            ms(baseline.elapsed)
        ),
        format!("≤ 3 × its JSON ({})", mib(honest_target)),
        baseline.growth <= honest_target,
    ));
    for hostile in hostile_uploads(&scale)? {
        let peak = api_peak(
            &mut stack,
            &scale,
            &hostile.body,
            hostile.status,
            Some(hostile.limit),
        )
        .await?;
        rows.push(Row::judged(
            format!("api peak RSS, hostile: {}", hostile.name),
            format!(
                "+{} ({:.0} KiB gzip → {} {} in {})",
                mib(peak.growth),
                hostile.body.len() as f64 / 1024.0,
                hostile.status,
                hostile.limit,
                ms(peak.elapsed)
            ),
            format!("≤ the honest capture's {}", mib(baseline.growth)),
            peak.growth <= baseline.growth,
        ));
    }

    for (role, growth) in pipeline_peaks(&mut stack, &scale, &honest.gzip).await? {
        let target = honest.json_bytes * 3;
        rows.push(Row::judged(
            format!("{role} peak RSS, the honest capture at the limit"),
            format!("+{}", mib(growth)),
            format!("≤ 3 × its JSON ({})", mib(target)),
            growth <= target,
        ));
    }
    rows.push(Row::info(
        "  (decoded-bytes limit of these runs)",
        limit_label,
    ));
    stack.stop().await;
    Ok(rows)
}

struct Honest {
    gzip: Vec<u8>,
    json_bytes: u64,
}

/// A lamp-shop session as large as the decoded-bytes limit allows (with a margin, since its
/// size is solved approximately).
fn honest_capture(scale: &Scale) -> Result<Honest> {
    let wanted = usize::try_from(scale.decoded_bytes * 9 / 10)?;
    let requests = (wanted / 6_000).max(100);
    // The validation stage replays against a closed loopback port: refused at once.
    let capture = lamp_shop::capture_of_size("http://127.0.0.1:9", requests, wanted);
    let json_bytes = serde_json::to_vec(&capture)?.len() as u64;
    ensure!(
        json_bytes <= scale.decoded_bytes,
        "the honest capture came out at {json_bytes} bytes, over the limit"
    );
    Ok(Honest {
        gzip: codec::to_gzip_json(&capture)?,
        json_bytes,
    })
}

const CAPTURE_HEAD: &str = r#"{"format_version":1,"source":"chrome","target_url":"https://a.test/","started_at_ms":0,"ended_at_ms":0,"#;

/// Each hostile capture fills the decoded-bytes limit, the most an attacker may send.
fn hostile_uploads(scale: &Scale) -> Result<Vec<Hostile>> {
    let fill = scale.decoded_bytes - 1_000;
    let headers = CaptureBounds::default_max(Limit::HeadersPerRequest);
    let header_list = vec![r#"{"name":"a","value":"b"}"#; usize::try_from(headers)?].join(",");
    let busy_request = format!(
        r#"{{"id":"r","method":"GET","url":"https://a.test/","resource_type":"fetch","timing":{{"started_at_ms":0}},"request_headers":[{header_list}]}}"#
    );
    let small_request = r#"{"id":"r","method":"GET","url":"https://a.test/","resource_type":"fetch","request_headers":[],"timing":{"started_at_ms":0}}"#;
    let list = |head: &str, item: &str, tail: &str| -> Result<Vec<u8>> {
        let count = fill / (item.len() as u64 + 1);
        gzip_of(&[
            (CAPTURE_HEAD, 1),
            (head, 1),
            (&format!("{item},"), count - 1),
            (item, 1),
            (tail, 1),
        ])
    };
    Ok(vec![
        Hostile {
            name: "one stream of empty samples",
            body: list(
                r#""requests":[],"streams":[{"kind":"web_socket","url":"wss://a.test/","samples":["#,
                r#""""#,
                "]}]}",
            )?,
            status: 413,
            limit: Limit::SamplesPerStream,
        },
        Hostile {
            name: "empty strings in an unknown field",
            body: list(r#""requests":[],"extension":["#, r#""""#, "]}")?,
            status: 413,
            limit: Limit::Strings,
        },
        Hostile {
            name: "requests of 1,000 one-byte headers",
            body: list(r#""requests":["#, &busy_request, "]}")?,
            status: 413,
            limit: Limit::Strings,
        },
        Hostile {
            name: "minimal requests",
            body: list(r#""requests":["#, small_request, "]}")?,
            status: 413,
            limit: Limit::Requests,
        },
        Hostile {
            name: "nested arrays",
            body: gzip_of(&[
                (CAPTURE_HEAD, 1),
                (r#""requests":[],"extension":"#, 1),
                ("[", fill / 2),
                ("]", fill / 2),
                ("}", 1),
            ])?,
            status: 400,
            limit: Limit::Nesting,
        },
        Hostile {
            name: "one long URL",
            body: gzip_of(&[
                (CAPTURE_HEAD, 1),
                (
                    r#""requests":[{"id":"r","method":"GET","url":"https://a.test/?q="#,
                    1,
                ),
                ("a", fill),
                (
                    r#"","resource_type":"fetch","request_headers":[],"timing":{"started_at_ms":0}}]}"#,
                    1,
                ),
            ])?,
            status: 413,
            limit: Limit::StringBytes,
        },
        Hostile {
            name: "whitespace past the decoded-bytes limit",
            body: gzip_of(&[(" ", scale.decoded_bytes * 2), (CAPTURE_HEAD, 1)])?,
            status: 413,
            limit: Limit::DecodedBytes,
        },
    ])
}

/// Gzip of each piece repeated its count of times, compressed as it is written: the hostile
/// bodies are never held uncompressed.
fn gzip_of(pieces: &[(&str, u64)]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for (piece, count) in pieces {
        // In batches of about 64 KiB: a one-byte piece written a byte at a time takes minutes.
        let per_batch = (65_536 / piece.len().max(1)).max(1);
        let batch = piece.repeat(per_batch);
        let mut left = *count;
        while left >= per_batch as u64 {
            encoder.write_all(batch.as_bytes())?;
            left -= per_batch as u64;
        }
        encoder.write_all(piece.repeat(usize::try_from(left)?).as_bytes())?;
    }
    Ok(encoder.finish()?)
}

struct Peak {
    resting: u64,
    growth: u64,
    elapsed: Duration,
}

/// A fresh api process's peak RSS above rest while it answers one upload of `body`; the answer
/// must be `status` and, for a refusal, name `limit`.
async fn api_peak(
    stack: &mut TestStack,
    scale: &Scale,
    body: &[u8],
    status: u16,
    limit: Option<Limit>,
) -> Result<Peak> {
    let api = ServerProcess::spawn_with(stack, "api", &scale.env()).await?;
    stack.api = api.url.clone();
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.reset_peak()?;
    let resting = api.rss()?;
    let started = Instant::now();
    let response = stack.capture_request(scan_id, body.to_vec()).send().await?;
    let elapsed = started.elapsed();
    let answered = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    ensure!(
        answered == status,
        "expected {status}, got {answered}: {text}"
    );
    if let Some(limit) = limit {
        let error: ErrorBody = serde_json::from_str(&text).context("the refusal's body")?;
        ensure!(
            error.error.limit.as_deref() == Some(limit.as_str()),
            "expected the {limit} limit named: {text}"
        );
    }
    let growth = api.peak_rss()?.saturating_sub(resting);
    api.stop().await;
    Ok(Peak {
        resting,
        growth,
        elapsed,
    })
}

/// Runs the upload through the api and every stage, each its own process, and returns each
/// role's peak RSS above its rest.
async fn pipeline_peaks(
    stack: &mut TestStack,
    scale: &Scale,
    body: &[u8],
) -> Result<Vec<(String, u64)>> {
    let env = scale.env();
    let mut processes = vec![(
        "api".to_owned(),
        ServerProcess::spawn_with(stack, "api", &env).await?,
    )];
    for step in recon_tests::steps() {
        processes.push((
            step.to_string(),
            ServerProcess::spawn_with(stack, step.as_str(), &env).await?,
        ));
    }
    stack.api = processes[0].1.url.clone();
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut resting = Vec::new();
    for (_, process) in &processes {
        process.reset_peak()?;
        resting.push(process.rss()?);
    }
    let response = stack.capture_request(scan_id, body.to_vec()).send().await?;
    ensure!(
        response.status() == 202,
        "upload answered {}",
        response.status()
    );
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let view = stack.scan(scan_id).await;
        match view.status {
            ScanStatus::Complete => break,
            ScanStatus::Errored => bail!("the scan errored: {:?}", view.error),
            _ if Instant::now() > deadline => bail!("the scan did not finish in 15 minutes"),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    let mut peaks = Vec::new();
    for ((role, process), rest) in processes.into_iter().zip(resting) {
        peaks.push((role, process.peak_rss()?.saturating_sub(rest)));
        process.stop().await;
    }
    Ok(peaks)
}
