//! Replays that cannot write: a logging site on loopback counts what arrives. GET and GraphQL
//! documents whose every operation is a query arrive; mutations (however they are spelled),
//! persisted operations, `doc_id` posts, other POSTs and PUT/PATCH/DELETE never do.

use recon_contracts::{Capture, Validation};
use recon_runtime::secrets::ProxySecrets;
use recon_tests::logging_site::{Arrival, LoggingSite};

use crate::support::{inventory_for, replay_on_loopback, settings};

const JSON: &str = "application/json";

/// Captures one request to a fresh logging site, validates it, and returns what arrived.
async fn arrivals_after_replaying(
    method: &str,
    target: &str,
    body: Option<(&str, &str)>,
) -> (Vec<Arrival>, Validation) {
    let site = LoggingSite::start().await;
    let capture = Capture {
        format_version: recon_contracts::CAPTURE_FORMAT_VERSION,
        source: recon_contracts::CaptureSource::Chrome,
        target_url: site.url("/"),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: Vec::new(),
        requests: vec![site.request("call", method, target, body)],
        cookies: Vec::new(),
        streams: Vec::new(),
    };
    let (inventory, ranking) = inventory_for(&capture, &["call"]);
    let validation = replay_on_loopback(
        &capture,
        (&inventory, &ranking),
        &settings(true),
        &ProxySecrets::default(),
    )
    .await;
    (site.arrivals(), validation)
}

async fn assert_never_arrives(method: &str, target: &str, body: Option<(&str, &str)>) {
    let (arrivals, validation) = arrivals_after_replaying(method, target, body).await;
    assert!(
        arrivals.is_empty(),
        "{method} {target} {body:?} was replayed: {arrivals:#?}\n{validation:#?}"
    );
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
}

#[tokio::test]
async fn a_graphql_mutation_never_arrives() {
    let body = r#"{"query":"mutation AddToCart($id: ID!) { addToCart(id: $id) { ok } }","variables":{"id":"p-100"}}"#;
    assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_mutation_spelled_with_json_escapes_never_arrives() {
    let body = r#"{"query":"mu\u0074ation { deleteAccount { ok } }"}"#;
    assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_persisted_mutation_never_arrives() {
    let body = r#"{"operationName":"AddToCart","variables":{"id":"p-100"},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"9f8e1c0d2b7a6e5f4c3b2a19080706050403020100ffeeddccbbaa9988776655"}}}"#;
    assert_never_arrives("POST", "/graphql", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_doc_id_post_never_arrives() {
    let body = r#"{"doc_id":"5120398281382011","variables":{"input":{"text":"hello"}}}"#;
    assert_never_arrives("POST", "/api/graphql/", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_search_like_post_with_side_effects_never_arrives() {
    let body = r#"{"name":"my lamps","filter":{"category":"lamps"}}"#;
    assert_never_arrives("POST", "/api/search/saved", Some((JSON, body))).await;
}

#[tokio::test]
async fn a_document_with_a_query_and_a_mutation_never_arrives() {
    let body =
        r#"{"query":"query Cart { cart { id } } mutation Empty { emptyCart { ok } }","operationName":"Cart"}"#;
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
    assert_never_arrives("DELETE", "/api/cart/1", None).await;
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
    let body = r##"{"query":"# no mutation here\nquery Search { search(text: \"mutation\") { id } }"}"##;
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
