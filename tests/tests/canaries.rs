//! Canaries: a capture with planted secrets goes through a full scan (every role, real NATS,
//! Postgres and blob store); none of them may come out anywhere: the stored scrubbed blob, the
//! report HTML and JSON, the OpenAPI file, the starter code, the events, a log line, or a NATS
//! message. Also: the raw capture is deleted once the scan has ended and the grace has passed.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use recon_contracts::names;
use recon_tests::{canaries, fixtures, TestStack};

const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a value could show up, and what is there.
type Places = Vec<(String, Vec<u8>)>;

/// Every log line of this test binary, as the server's roles write them.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every file under `dir`, gunzipped when it is gzip.
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut inflated = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut inflated)
                .unwrap();
            inflated
        } else {
            bytes
        };
        out.push((path.display().to_string(), bytes));
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn get_text(stack: &TestStack, url: &str) -> String {
    let response = stack.http.get(url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_planted_secret_comes_out_of_a_full_scan() {
    let logs = logs();
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[("RECON_RAW_CAPTURE_GRACE_SECS", "1")],
    )
    .await;
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut everything = nats.subscribe(">").await.unwrap();
    nats.flush().await.unwrap();
    let messages: Arc<Mutex<Places>> = Arc::default();
    let sink = messages.clone();
    let collector = tokio::spawn(async move {
        while let Some(message) = everything.next().await {
            let mut bytes = message.payload.to_vec();
            if let Some(headers) = &message.headers {
                for (name, values) in headers.iter() {
                    for value in values {
                        bytes.extend_from_slice(format!("\n{name}: {value}").as_bytes());
                    }
                }
            }
            sink.lock()
                .unwrap()
                .push((message.subject.to_string(), bytes));
        }
    });

    let canaries::Canaries { capture, planted } = canaries::canary_capture();
    let raw_json = serde_json::to_string(&capture).unwrap();
    for canary in &planted {
        assert!(
            raw_json.contains(canary.as_str()),
            "canary {canary} is planted"
        );
    }
    let scan_id = stack.run_scan(&capture).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    assert_eq!(
        events.last().map(|e| e.step.clone()),
        Some(recon_contracts::Step::named("render")),
        "{events:?}"
    );

    // The raw capture goes once the scan has ended and the (1 s) grace has passed.
    let mut deleted = false;
    for _ in 0..600 {
        let (at,): (Option<String>,) =
            sqlx::query_as("SELECT raw_capture_deleted_at::text FROM scans WHERE id = $1")
                .bind(scan_id)
                .fetch_one(&stack.db)
                .await
                .unwrap();
        if at.is_some() {
            deleted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        deleted,
        "the raw capture was not deleted after the grace period"
    );
    let blob_dir = stack.data_dir.path().join("blobs");
    assert!(
        !blob_dir.join(names::capture_key(scan_id)).exists(),
        "the raw capture file is gone"
    );
    assert!(blob_dir.join(names::scrubbed_capture_key(scan_id)).exists());

    let view = stack.scan(scan_id).await;
    let report = &view.report_url;
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    files(&blob_dir, &mut places);
    assert!(!places.is_empty());
    for (name, url) in [
        ("report HTML", report.clone()),
        ("report download", format!("{report}?download=1")),
        ("report JSON", format!("{report}.json")),
        ("OpenAPI file", format!("{report}/openapi.json")),
    ] {
        places.push((name.to_owned(), get_text(&stack, &url).await.into_bytes()));
    }
    let json: serde_json::Value =
        serde_json::from_str(&get_text(&stack, &format!("{report}.json")).await).unwrap();
    let code: Vec<u8> = json["synthesis"]["snippets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["code"].as_str().unwrap_or_default().bytes())
        .collect();
    places.push(("starter code".to_owned(), code));
    let page = stack.events_page(scan_id, 0).await;
    places.push((
        "events".to_owned(),
        serde_json::to_vec(&page.events).unwrap(),
    ));
    let stored: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT stage, result FROM stage_results WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_all(&stack.db)
            .await
            .unwrap();
    for (stage, result) in &stored {
        if ["scrub", "synthesis", "render"].contains(&stage.as_str()) {
            places.push((format!("{stage} result"), result.to_string().into_bytes()));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    collector.abort();
    let nats_messages = messages.lock().unwrap().clone();
    assert!(
        nats_messages
            .iter()
            .any(|(subject, _)| subject.starts_with("scan.")),
        "the subscription saw the scan's pipeline messages"
    );
    let nats_count = nats_messages.len();
    for (subject, bytes) in nats_messages {
        places.push((format!("NATS {subject}"), bytes));
    }
    let log_bytes = logs.lock().unwrap().clone();
    assert!(
        contains(&log_bytes, &scan_id.to_string()),
        "the logs were captured"
    );
    let log_size = log_bytes.len();
    places.push(("logs".to_owned(), log_bytes));

    let mut leaks = Vec::new();
    for (place, bytes) in &places {
        for canary in &planted {
            if contains(bytes, canary) {
                leaks.push(format!("{canary} in {place}"));
            }
        }
    }
    // Every stored stage result outlives the raw capture, so none may hold a live secret.
    for (stage, result) in &stored {
        let text = result.to_string();
        for canary in &planted {
            if text.contains(canary.as_str()) {
                leaks.push(format!("{canary} in the stored {stage} result"));
            }
        }
    }
    eprintln!(
        "CANARIES: {} planted values checked in {} places ({} NATS messages, {} bytes of logs); {} leak(s)",
        planted.len(),
        places.len(),
        nats_count,
        log_size,
        leaks.len()
    );
    assert!(leaks.is_empty(), "planted secrets leaked: {leaks:#?}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_capture_is_kept_through_the_grace_period_then_deleted() {
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[("RECON_RAW_CAPTURE_GRACE_SECS", "3600")],
    )
    .await;
    let deps = stack.deps().await;
    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    let grace = Duration::from_secs(3600);
    assert_eq!(
        recon_runtime::retention::sweep_once(&stack.db, deps.blob_store().unwrap(), grace)
            .await
            .unwrap(),
        0,
        "within the grace period nothing is deleted"
    );
    deps.blob_store()
        .unwrap()
        .get(&names::capture_key(scan_id))
        .await
        .unwrap();

    // An errored scan's raw capture goes too.
    let errored = stack.create_scan("anything").await.scan_id;
    deps.blob_store()
        .unwrap()
        .put(
            &names::capture_key(errored),
            bytes::Bytes::from_static(b"raw"),
        )
        .await
        .unwrap();
    sqlx::query("UPDATE scans SET status = 'errored', completed_at = now() WHERE id = $1")
        .bind(errored)
        .execute(&stack.db)
        .await
        .unwrap();
    // A scan still running keeps its capture whatever the grace.
    let running = stack.create_scan("anything").await.scan_id;
    deps.blob_store()
        .unwrap()
        .put(
            &names::capture_key(running),
            bytes::Bytes::from_static(b"raw"),
        )
        .await
        .unwrap();
    sqlx::query("UPDATE scans SET status = 'processing' WHERE id = $1")
        .bind(running)
        .execute(&stack.db)
        .await
        .unwrap();

    let deleted =
        recon_runtime::retention::sweep_once(&stack.db, deps.blob_store().unwrap(), Duration::ZERO)
            .await
            .unwrap();
    assert_eq!(deleted, 2);
    for gone in [scan_id, errored] {
        assert!(
            deps.blob_store()
                .unwrap()
                .get(&names::capture_key(gone))
                .await
                .is_err(),
            "raw capture of {gone} deleted"
        );
    }
    deps.blob_store()
        .unwrap()
        .get(&names::capture_key(running))
        .await
        .unwrap();
    deps.blob_store()
        .unwrap()
        .get(&names::scrubbed_capture_key(scan_id))
        .await
        .expect("the scrubbed copy is kept");
    let (marked,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM scans WHERE raw_capture_deleted_at IS NOT NULL")
            .fetch_one(&stack.db)
            .await
            .unwrap();
    assert_eq!(marked, 2);
    assert_eq!(
        recon_runtime::retention::sweep_once(&stack.db, deps.blob_store().unwrap(), Duration::ZERO)
            .await
            .unwrap(),
        0,
        "a second sweep has nothing left to do"
    );
    stack.stop().await;
}
