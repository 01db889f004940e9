//! POST /capture latency for 1, 5 and 20 MB captures, `recon scan --from-har` of a 5 MB HAR,
//! and the api's peak memory with ten concurrent 5 MB uploads, against a real
//! `recon-server --target api` process.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use futures::future::try_join_all;
use recon_runtime::codec;
use recon_tests::{lamp_shop, TestStack};

use crate::server_process::ServerProcess;
use crate::stats::{mib, ms, summarize};
use crate::table::Row;
use crate::Options;

const CONCURRENT_UPLOADS: usize = 10;

pub async fn run(options: &Options) -> Result<Vec<Row>> {
    let mut stack = TestStack::start_with(&[], &[]).await;
    let api = ServerProcess::spawn(&stack, "api").await?;
    stack.api = api.url.clone();
    let mut rows = Vec::new();

    let sizes: [(&str, usize, usize, usize); 3] = [
        ("1 MB", 400, 1 << 20, options.runs(60)),
        ("5 MB", 2_000, 5 << 20, options.runs(60)),
        ("20 MB", 8_000, 20 << 20, options.runs(20)),
    ];
    for (label, requests, bytes, runs) in sizes {
        let body = gzipped_capture(requests, bytes)?;
        // The first uploads warm the connection pool and the server's allocator.
        for _ in 0..2 {
            upload(&stack, &body).await?;
        }
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push(upload(&stack, &body).await?);
        }
        let summary = summarize(samples);
        let figure = format!(
            "p50 {} · p99 {} (n={}, gzip {:.0} KiB)",
            ms(summary.p50),
            ms(summary.p99),
            summary.n,
            body.len() as f64 / 1024.0
        );
        let bench = format!("POST /capture, {label} capture");
        rows.push(if label == "5 MB" {
            Row::judged(
                bench,
                figure,
                "p99 ≤ 20 ms",
                summary.p99 <= Duration::from_millis(20),
            )
        } else {
            Row::info(bench, figure)
        });
    }
    rows.extend(crate::from_har::rows(&stack, options)?);
    api.stop().await;

    // Memory: each measurement in a fresh process, so no allocator cache from earlier uploads
    // hides the growth.
    let body = gzipped_capture(2_000, 5 << 20)?;
    let single = peak_growth(&mut stack, &body, 1).await?;
    let concurrent = peak_growth(&mut stack, &body, CONCURRENT_UPLOADS).await?;
    let naive = CONCURRENT_UPLOADS as u64 * single.growth;
    rows.push(Row::info(
        "api peak RSS, one 5 MB upload",
        format!(
            "+{} over {} at rest",
            mib(single.growth),
            mib(single.resting)
        ),
    ));
    rows.push(Row::judged(
        format!("api peak RSS, {CONCURRENT_UPLOADS} concurrent 5 MB uploads"),
        format!(
            "+{} over {} at rest ({:.1}× one upload)",
            mib(concurrent.growth),
            mib(concurrent.resting),
            concurrent.growth as f64 / single.growth.max(1) as f64
        ),
        format!(
            "< half of {CONCURRENT_UPLOADS} × one upload ({})",
            mib(naive / 2)
        ),
        concurrent.growth * 2 < naive,
    ));
    stack.stop().await;
    Ok(rows)
}

/// The capture as the CLI sends it: gzipped JSON.
fn gzipped_capture(requests: usize, bytes: usize) -> Result<Vec<u8>> {
    let capture = lamp_shop::capture_of_size("https://www.lampshop.test", requests, bytes);
    Ok(codec::to_gzip_json(&capture)?)
}

/// Creates a scan and uploads `body` to it; the time of the upload alone.
async fn upload(stack: &TestStack, body: &[u8]) -> Result<Duration> {
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    let request = stack.capture_request(scan_id, body.to_vec());
    let started = Instant::now();
    let response = request.send().await?;
    let elapsed = started.elapsed();
    ensure!(
        response.status() == 202,
        "upload answered {}: {}",
        response.status(),
        response.text().await.unwrap_or_default()
    );
    Ok(elapsed)
}

struct Memory {
    resting: u64,
    growth: u64,
}

/// How far a fresh api process's peak RSS rises above its resting RSS while `uploads` uploads
/// run at once.
async fn peak_growth(stack: &mut TestStack, body: &[u8], uploads: usize) -> Result<Memory> {
    let api = ServerProcess::spawn(stack, "api").await?;
    stack.api = api.url.clone();
    // One small request so the resting figure includes the connection and its buffers.
    stack.create_scan("warm-up").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.reset_peak()?;
    let resting = api.rss()?;
    try_join_all((0..uploads).map(|_| upload(stack, body))).await?;
    let growth = api.peak_rss()?.saturating_sub(resting);
    api.stop().await;
    Ok(Memory { resting, growth })
}
