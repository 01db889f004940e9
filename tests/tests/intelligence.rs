//! Recon intelligence end to end: the OpenAPI export of real inventories validates against
//! the OpenAPI 3.1 schema (openapi-spec-validator in RECON_TEST_PYTHON), and a scan through
//! the whole pipeline reports the vendors, the templated endpoints and an intent ranking.

use std::time::Duration;

use recon_contracts::{Capture, StepStatus};
use recon_detection::capture_spec::parse_corpus;
use recon_tests::{fixtures, harness_env, TestStack};

const SHOP: &str = include_str!("../../services/analysis/tests/fixtures/shop.toml");
const SITES: &str = include_str!("../../services/intent/tests/fixtures/sites.toml");
const CORPUS: &str = include_str!("../../services/detection/corpus/regression.toml");

fn captures() -> Vec<(String, Capture)> {
    let mut out = vec![("pipeline shop fixture".to_owned(), fixtures::shop_capture())];
    for text in [SHOP, SITES, CORPUS] {
        for case in parse_corpus(text).unwrap() {
            out.push((case.name.clone(), case.capture().unwrap()));
        }
    }
    out
}

fn validate(python: &str, document: &serde_json::Value, dir: &std::path::Path, name: &str) {
    let path = dir.join(format!(
        "{}.json",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(document).unwrap()).unwrap();
    let output = std::process::Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .expect("run openapi_spec_validator");
    assert!(
        output.status.success(),
        "{name}: the OpenAPI document does not validate:\n{}\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        serde_json::to_string_pretty(document).unwrap()
    );
}

#[test]
fn openapi_exports_validate_against_the_openapi_3_1_schema() {
    let python = harness_env("RECON_TEST_PYTHON");
    let dir = tempfile::tempdir().unwrap();
    let mut validated = 0;
    for (name, capture) in captures() {
        let detection = recon_detection::detect(&capture);
        let inventory = recon_analysis::analyze(&capture, &detection);
        let document = recon_analysis::openapi_document(&inventory, &capture.target_url);
        validate(&python, &document, dir.path(), &name);
        validated += 1;
    }
    println!("{validated} OpenAPI documents validated");

    let shop = parse_corpus(SHOP).unwrap()[0].capture().unwrap();
    let inventory = recon_analysis::analyze(&shop, &recon_detection::detect(&shop));
    let document = recon_analysis::openapi_document(&inventory, &shop.target_url);
    assert_eq!(document["openapi"], "3.1.0");
    let detail = &document["paths"]["/v1/products/{product_id}"]["get"];
    assert_eq!(detail["servers"][0]["url"], "https://api.lampshop.test");
    assert_eq!(detail["parameters"][0]["name"], "product_id");
    assert_eq!(detail["parameters"][0]["in"], "path");
    assert_eq!(detail["parameters"][0]["schema"]["type"], "integer");
    assert!(
        detail["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
            ["variants"]
            .is_object()
    );
    let search = &document["paths"]["/graphql#SearchProducts"]["post"];
    assert_eq!(search["x-graphql-operation"], "SearchProducts");
    assert_eq!(
        search["requestBody"]["content"]["application/json"]["example"]["operationName"],
        "SearchProducts"
    );
    assert!(
        document["paths"]["/graphql#ProductPrice"]["get"]["x-graphql-persisted-hash"].is_string()
    );
    assert!(document["components"]["securitySchemes"]["bearerAuth"].is_object());
    assert!(
        document["paths"].get("/static/app.9f8e7d.js").is_none(),
        "assets stay out"
    );
    let text = document.to_string();
    for secret in [
        "sess-8f7e6d5c4b3a",
        "0A1B2C3D4E5F6A7B8C9D",
        "hunter2",
        "c2lnbmF0dXJl",
        "csrf-Zx81Lq0pR7",
    ] {
        assert!(
            !text.contains(secret),
            "the OpenAPI document shows {secret}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scan_reports_vendors_templated_endpoints_and_a_ranking() {
    let stack = TestStack::start().await;
    let capture = parse_corpus(SHOP).unwrap()[0].capture().unwrap();
    let scan_id = stack.run_scan(&capture).await;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(90))
        .await;
    for step in ["detection", "analysis", "intent_filter"] {
        let complete = events
            .iter()
            .find(|e| e.step.as_str() == step && e.status == StepStatus::Complete)
            .unwrap_or_else(|| panic!("{step} did not complete: {events:?}"));
        println!("{step}: {}", complete.message.as_deref().unwrap_or(""));
    }
    let view = stack.scan(scan_id).await;
    let report = stack.get_json(&format!("{}.json", view.report_url)).await;
    let vendors: Vec<&str> = report["detection"]["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(vendors, vec!["akamai"]);
    let endpoints = report["endpoints"].as_array().unwrap();
    assert!(endpoints
        .iter()
        .any(|e| e["path_template"] == "/v1/products/{product_id}"));
    assert!(endpoints
        .iter()
        .any(|e| e["graphql_operation"] == "SearchProducts"));
    let top = report["intent"]["ranked"][0]["endpoint_id"]
        .as_str()
        .unwrap();
    let top = endpoints.iter().find(|e| e["id"] == top).unwrap();
    assert!(
        matches!(top["kind"].as_str(), Some("json-api" | "graphql")),
        "{top}"
    );
    println!(
        "top endpoint for \"product prices\": {} {}",
        top["method"], top["path_template"]
    );
    let text = report.to_string();
    for secret in ["sess-8f7e6d5c4b3a", "hunter2", "csrf-Zx81Lq0pR7"] {
        assert!(!text.contains(secret), "the report shows {secret}");
    }
    stack.stop().await;
}
