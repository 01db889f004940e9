//! The generated lamp shop the benchmarks run on: its captures have the size asked for, analysis
//! templates its ids instead of listing them, and a whole scan of it, validation replaying
//! against the live loopback shop, completes with the data endpoints passing.

use std::time::Duration;

use recon_analysis::analyze;
use recon_contracts::{Detection, Step, StepStatus, Verdict};
use recon_tests::lamp_shop::{self, LampShop};

#[test]
fn captures_come_in_the_size_asked_for() {
    for (requests, bytes) in [(2_000, 5 << 20), (400, 1 << 20), (8_000, 20 << 20)] {
        let capture = lamp_shop::capture_of_size("http://127.0.0.1:9", requests, bytes);
        let actual = serde_json::to_vec(&capture).unwrap().len();
        eprintln!("{requests} requests, asked {bytes} bytes, got {actual}");
        assert_eq!(capture.requests.len(), requests);
        let ratio = actual as f64 / bytes as f64;
        assert!(
            (0.85..1.15).contains(&ratio),
            "{actual} bytes for {bytes} asked"
        );
    }
}

#[test]
fn analysis_templates_ten_thousand_requests_into_a_few_endpoints() {
    let capture = lamp_shop::capture("https://www.lampshop.test", 10_000, 12);
    let inventory = analyze(&capture, &Detection::default());
    let templates: Vec<String> = inventory
        .endpoints
        .iter()
        .map(|endpoint| {
            let operation = endpoint
                .graphql_operation
                .as_deref()
                .map(|operation| format!("#{operation}"))
                .unwrap_or_default();
            format!("{} {}{operation}", endpoint.method, endpoint.path_template)
        })
        .collect();
    for expected in [
        "GET /v1/products",
        "GET /v1/products/{product_id}",
        "GET /v1/products/{product_id}/reviews",
        "POST /graphql#SearchProducts",
        "GET /c/{c_slug}",
        "GET /img/products/{product_id}.jpg",
    ] {
        assert!(
            templates.iter().any(|template| template == expected),
            "{expected} missing from {templates:#?}"
        );
    }
    assert!(
        inventory.endpoints.len() < 100,
        "templating collapsed no ids: {} endpoints",
        inventory.endpoints.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_capture_scans_end_to_end_with_validation_against_the_live_shop() {
    let shop = LampShop::start(Duration::ZERO).await;
    let stack = shop.stack().await;
    let capture = lamp_shop::capture_of_size(&shop.base(), 500, 1 << 20);
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    stack.upload(scan_id, &capture).await;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(120))
        .await;
    let last = events.last().expect("events");
    assert_eq!(
        (last.step.clone(), last.status),
        (Step::named("render"), StepStatus::Complete)
    );

    let validation = stack.validation(scan_id).await;
    let passed: Vec<&str> = validation
        .results
        .iter()
        .filter(|result| {
            result
                .attempts
                .iter()
                .any(|attempt| attempt.verdict == Verdict::Pass)
        })
        .map(|result| result.endpoint_id.as_str())
        .collect();
    eprintln!(
        "validated {} endpoints, passed: {passed:?}",
        validation.results.len()
    );
    assert!(
        passed.len() >= 2,
        "the live shop answers like the capture: {validation:#?}"
    );
    stack.stop().await;
}
