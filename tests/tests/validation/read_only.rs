//! Replays that cannot write: a logging site on loopback counts what arrives. GET and GraphQL
//! documents whose every operation is a query arrive; mutations (however they are spelled),
//! persisted operations, `doc_id` posts, other POSTs and PUT/PATCH/DELETE never do, and the
//! result says why, endpoint by endpoint, up to the report.

use std::time::Duration;

use recon_contracts::{NotReplayedReason, ScanStatus, Validation};
use recon_runtime::secrets::ProxySecrets;
use recon_tests::logging_site::{Arrival, LoggingSite};
use recon_tests::TestStack;

use crate::support::{inventory_for, replay_on_loopback, settings};

const JSON: &str = "application/json";

/// Captures one request to a fresh logging site, validates it, and returns what arrived.
async fn arrivals_after_replaying(
    method: &str,
    target: &str,
    body: Option<(&str, &str)>,
) -> (Vec<Arrival>, Validation) {
    let site = LoggingSite::start().await;
    let capture = site.capture(vec![site.request("call", method, target, body)]);
    let (inventory, ranking) = inventory_for(&capture, &["call"]);
    let validation = replay_on_loopback(
        &capture,
        (&inventory, &ranking),
        &settings(true, &[site.address.port()]),
        &ProxySecrets::default(),
    )
    .await;
    (site.arrivals(), validation)
}

/// Asserts nothing arrived and the result says why; returns the why.
async fn assert_never_arrives(method: &str, target: &str, body: Option<(&str, &str)>) -> String {
    let (arrivals, validation) = arrivals_after_replaying(method, target, body).await;
    assert!(
        arrivals.is_empty(),
        "{method} {target} {body:?} was replayed: {arrivals:#?}\n{validation:#?}"
    );
    assert_eq!(validation.requests_sent, 0);
    let result = &validation.results[0];
    assert!(result.attempts.is_empty(), "{result:#?}");
    let not_replayed = result
        .not_replayed
        .as_ref()
        .expect("says why it was not replayed");
    assert_eq!(not_replayed.reason, NotReplayedReason::CouldChangeState);
    println!("{method} {target}: {}", not_replayed.sentence());
    not_replayed.detail.clone()
}

async fn assert_arrives(method: &str, target: &str, body: Option<(&str, &str)>) {
    let (arrivals, validation) = arrivals_after_replaying(method, target, body).await;
    assert!(
        !arrivals.is_empty(),
        "{method} {target} {body:?} was not replayed: {validation:#?}"
    );
    assert!(
        arrivals.iter().all(|arrival| arrival.method == method
            && arrival.target == target
            && arrival.body == body.map(|(_, text)| text).unwrap_or_default()),
        "{arrivals:#?}"
    );
    assert_eq!(validation.requests_sent as usize, arrivals.len());
    assert_eq!(validation.results[0].not_replayed, None);
}

#[tokio::test]
async fn a_graphql_mutation_never_arrives() {
    let body = r#"{"query":"mutation AddToCart($id: ID!) { addToCart(id: $id) { ok } }","variables":{"id":"p-100"}}"#;
    let why = assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
    assert_eq!(why, "a GraphQL mutation (AddToCart)");
}

#[tokio::test]
async fn a_mutation_spelled_with_json_escapes_never_arrives() {
    let body = r#"{"query":"mu\u0074ation { deleteAccount { ok } }"}"#;
    assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_persisted_mutation_never_arrives() {
    let body = r#"{"operationName":"AddToCart","variables":{"id":"p-100"},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"9f8e1c0d2b7a6e5f4c3b2a19080706050403020100ffeeddccbbaa9988776655"}}}"#;
    let why = assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
    assert!(why.starts_with("a persisted GraphQL operation"), "{why}");
}

#[tokio::test]
async fn a_doc_id_post_never_arrives() {
    let body = r#"{"doc_id":"5120398281382011","variables":{"input":{"text":"hello"}}}"#;
    let why = assert_never_arrives("POST", "/api/graphql/", Some((JSON, body))).await;
    assert!(why.starts_with("a persisted GraphQL operation"), "{why}");
}

#[tokio::test]
async fn a_search_like_post_with_side_effects_never_arrives() {
    let body = r#"{"name":"my lamps","filter":{"category":"lamps"}}"#;
    let why = assert_never_arrives("POST", "/api/search/saved", Some((JSON, body))).await;
    assert_eq!(why, "a POST that is not a GraphQL query");
}

#[tokio::test]
async fn a_document_with_a_query_and_a_mutation_never_arrives() {
    let body = r#"{"query":"query Cart { cart { id } } mutation Empty { emptyCart { ok } }","operationName":"Cart"}"#;
    assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn put_never_arrives() {
    assert_never_arrives("PUT", "/api/cart/1", Some((JSON, r#"{"quantity":2}"#))).await;
}

#[tokio::test]
async fn patch_never_arrives() {
    assert_never_arrives("PATCH", "/api/profile", Some((JSON, r#"{"name":"x"}"#))).await;
}

#[tokio::test]
async fn delete_never_arrives() {
    let why = assert_never_arrives("DELETE", "/api/cart/1", None).await;
    assert_eq!(why, "a DELETE request");
}

#[tokio::test]
async fn a_get_arrives() {
    assert_arrives("GET", "/api/products?page=1", None).await;
}

#[tokio::test]
async fn a_graphql_query_arrives() {
    let body = r#"{"query":"query Products($first: Int = 10) { products(first: $first) { id name } }","operationName":"Products","variables":{"first":2}}"#;
    assert_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_graphql_query_arrives_whatever_its_url() {
    let body = r#"{"query":"{ products { id } }"}"#;
    assert_arrives("POST", "/api", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_query_that_only_mentions_mutation_arrives() {
    let body =
        r##"{"query":"# no mutation here\nquery Search { search(text: \"mutation\") { id } }"}"##;
    assert_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_batch_of_queries_arrives() {
    let body = r#"[{"query":"query A { a }"},{"query":"{ b }"}]"#;
    assert_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn an_application_graphql_query_arrives() {
    assert_arrives(
        "POST",
        "/graphql",
        Some(("application/graphql", "query { products { id } }")),
    )
    .await;
}

#[tokio::test]
async fn a_form_encoded_query_arrives() {
    assert_arrives(
        "POST",
        "/graphql",
        Some((
            "application/x-www-form-urlencoded",
            "query=%7B+products+%7B+id+%7D+%7D&operationName=",
        )),
    )
    .await;
}

/// The endpoint id of the report's endpoint with `method` whose path contains `path_part`.
fn endpoint_id(report: &serde_json::Value, method: &str, path_part: &str) -> String {
    report["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|endpoint| {
            endpoint["method"] == method
                && endpoint["path_template"]
                    .as_str()
                    .is_some_and(|path| path.contains(path_part))
        })
        .and_then(|endpoint| endpoint["id"].as_str())
        .unwrap_or_else(|| panic!("no {method} *{path_part}* endpoint: {report:#}"))
        .to_owned()
}

#[tokio::test]
async fn the_report_says_which_endpoints_were_not_replayed_and_why() {
    let site = LoggingSite::start().await;
    let port = site.address.port().to_string();
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            ("RECON_VALIDATION_ALLOWED_PORTS", &port),
            ("RECON_VALIDATION_TOP_ENDPOINTS", "10"),
        ],
    )
    .await;
    let add = r#"{"query":"mutation AddProduct($name: String!) { addProduct(name: $name) { id } }","variables":{"name":"lamp"}}"#;
    let capture = site.capture(vec![
        site.request("list", "GET", "/api/products?page=1", None),
        site.request("add", "POST", "/api/products/add", Some((JSON, add))),
        site.request("remove", "DELETE", "/api/products/p-100", None),
    ]);
    let scan_id = stack.run_scan(&capture).await;
    stack
        .wait_for_terminal(scan_id, Duration::from_secs(180))
        .await;
    let view = stack.scan(scan_id).await;
    assert_eq!(view.status, ScanStatus::Complete, "{view:?}");
    let report = stack.get_json(&format!("{}.json", view.report_url)).await;
    let result_of = |id: &str| {
        report["validation"]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|result| result["endpoint_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} was not validated: {:#}", report["validation"]))
    };
    let list = result_of(&endpoint_id(&report, "GET", "products"));
    assert!(list["not_replayed"].is_null(), "{list:#}");
    assert_eq!(list["attempts"][0]["verdict"], "pass", "{list:#}");
    let add = result_of(&endpoint_id(&report, "POST", "products"));
    assert_eq!(
        add["not_replayed"],
        serde_json::json!({"reason": "could-change-state", "detail": "a GraphQL mutation (AddProduct)"})
    );
    let remove = result_of(&endpoint_id(&report, "DELETE", "products"));
    assert_eq!(
        remove["not_replayed"],
        serde_json::json!({"reason": "could-change-state", "detail": "a DELETE request"})
    );
    assert_eq!(report["validation"]["requests_sent"], 1);

    let html = stack.get_text(&view.report_url).await;
    for sentence in [
        "Not replayed: could change state on the site — a GraphQL mutation (AddProduct).",
        "Not replayed: could change state on the site — a DELETE request.",
    ] {
        assert!(html.contains(sentence), "the page lacks {sentence:?}");
    }
    let arrivals = site.arrivals();
    assert_eq!(arrivals.len(), 1, "{arrivals:#?}");
    assert_eq!(arrivals[0].method, "GET");
    stack.stop().await;
}
