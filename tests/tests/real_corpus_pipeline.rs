//! Every capture of the real-traffic corpus (`tests/corpus/real/`) scanned through the whole
//! pipeline on a real stack: uploaded through the API, every step completes, and the report
//! names exactly the vendors the labels name. Replays are switched off
//! (`RECON_VALIDATION_TOP_ENDPOINTS=0`): the captured sites are real hosts and tests reach
//! only loopback; the validation step still runs and completes.

use std::collections::BTreeSet;
use std::time::Duration;

use recon_contracts::StepStatus;
use recon_tests::real_corpus::labelled;
use recon_tests::{successful_scan_sequence, TestStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_real_capture_scans_through_the_whole_pipeline() {
    let all = recon_server::parse_targets("all").expect("all parses");
    let stack = TestStack::start_with(&all, &[("RECON_VALIDATION_TOP_ENDPOINTS", "0")]).await;
    let mut failures = Vec::new();
    let labels = labelled();
    for label in &labels {
        let intent = label
            .intents
            .first()
            .map_or("data", |intent| intent.text.as_str());
        let created = stack.create_scan(intent).await;
        stack.upload(created.scan_id, &label.capture()).await;
        let events = stack
            .wait_for_terminal(created.scan_id, Duration::from_secs(120))
            .await;
        let sequence: Vec<_> = events.iter().map(|e| (e.step.clone(), e.status)).collect();
        if sequence != successful_scan_sequence() {
            let errors: Vec<String> = events
                .iter()
                .filter(|e| e.status == StepStatus::Errored)
                .map(|e| format!("{}: {}", e.step, e.message.as_deref().unwrap_or("")))
                .collect();
            failures.push(format!("{}: {errors:?}", label.name));
            continue;
        }
        let view = stack.scan(created.scan_id).await;
        let report = stack.get_json(&format!("{}.json", view.report_url)).await;
        let found: BTreeSet<&str> = report["detection"]["vendors"]
            .as_array()
            .map(|vendors| vendors.iter().filter_map(|v| v["id"].as_str()).collect())
            .unwrap_or_default();
        let expected: BTreeSet<&str> = label.vendors.iter().map(|v| v.id.as_str()).collect();
        if found != expected {
            failures.push(format!(
                "{}: the report names {found:?}, the labels {expected:?}",
                label.name
            ));
        }
        println!(
            "{:<18} complete: {} endpoints, vendors {found:?}",
            label.name,
            report["endpoints"].as_array().map_or(0, Vec::len)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} real captures scanned", labels.len());
    stack.stop().await;
}
