//! `recon scan --from-har` of a large HAR (tens of MB, generated here): the CLI parses the file
//! one entry at a time and gzips the capture into the upload as it sends it. What the api stored is
//! exactly the capture the CLI's importer makes of the file, byte for byte once inflated.

use std::io::Read;

use recon_contracts::{names, Capture};
use recon_server::Role;
use recon_tests::cli::run_recon;
use recon_tests::har_file::to_har;
use recon_tests::{lamp_shop, TestStack};
use uuid::Uuid;

const BASE: &str = "https://www.lampshop.test";
/// Big enough that the upload takes many pieces of the stream and the file many reads.
const HAR_BYTES: usize = 32 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_har_reaches_the_server_as_exactly_its_capture() {
    // Only the api: nothing consumes the scan, so its raw capture stays in the blob store.
    let stack =
        TestStack::start_with(&[Role::Api], &[("RECON_RAW_CAPTURE_GRACE_SECS", "3600")]).await;
    let scratch = tempfile::tempdir().unwrap();
    let har_path = scratch.path().join("lampshop.har");
    let har = to_har(&lamp_shop::capture_of_size(BASE, 20_000, HAR_BYTES));
    std::fs::write(&har_path, serde_json::to_vec(&har).unwrap()).unwrap();
    drop(har);
    let har_bytes = std::fs::metadata(&har_path).unwrap().len();
    assert!(har_bytes > 20 << 20, "the HAR is {har_bytes} bytes");

    let env = [
        ("RECON_SERVER", stack.api.as_str()),
        ("RECON_API_KEY", stack.key.as_str()),
    ];
    let har_arg = har_path.to_str().unwrap();
    let args = ["scan", BASE, "--no-wait", "--from-har", har_arg];
    let output = run_recon(scratch.path(), &env, "", &args).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("imported: 20000 requests"),
        "the summary line: {stderr}"
    );
    let scan_id: Uuid = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();

    let stored = std::fs::read(
        stack
            .data_dir
            .path()
            .join("blobs")
            .join(names::capture_key(scan_id)),
    )
    .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(stored.as_slice())
        .read_to_end(&mut json)
        .unwrap();
    let expected = browser_recon::har::import_file(&har_path, Some(&format!("{BASE}/")))
        .unwrap()
        .capture;
    assert_eq!(expected.requests.len(), 20_000);
    let sent: Capture = serde_json::from_slice(&json).unwrap();
    assert_eq!(sent, expected);
    assert!(
        json == serde_json::to_vec(&expected).unwrap(),
        "the stored JSON is the capture's JSON"
    );
    assert!(
        stderr.contains(&format!("as {} gzipped", human_bytes(stored.len() as u64))),
        "the upload line names the size sent ({} bytes): {stderr}",
        stored.len()
    );
    stack.stop().await;
}

/// The CLI's way of writing a size (src/upload/mod.rs).
fn human_bytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
