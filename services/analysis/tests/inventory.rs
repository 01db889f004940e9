//! The inventory of a realistic shop session: templating, GraphQL operations (POST, GET
//! persisted, batched), parameters with redacted examples, merged schemas, pagination, auth,
//! provenance, buckets and challenged counts.

use recon_analysis::analyze;
use recon_contracts::{
    AuthKind, Capture, Endpoint, Inventory, MintedBy, PaginationStyle, ParameterLocation,
};
use recon_detection::capture_spec::parse_corpus;
use recon_detection::detect;

fn shop() -> (Capture, Inventory) {
    let cases = parse_corpus(include_str!("fixtures/shop.toml")).unwrap();
    let capture = cases[0].capture().unwrap();
    let detection = detect(&capture);
    let inventory = analyze(&capture, &detection);
    (capture, inventory)
}

fn find<'i>(
    inventory: &'i Inventory,
    method: &str,
    template: &str,
    operation: Option<&str>,
) -> &'i Endpoint {
    inventory
        .endpoints
        .iter()
        .find(|e| {
            e.method == method
                && e.path_template == template
                && e.graphql_operation.as_deref() == operation
        })
        .unwrap_or_else(|| {
            let all: Vec<String> = inventory
                .endpoints
                .iter()
                .map(|e| {
                    format!(
                        "{} {}{} {:?}",
                        e.method, e.host, e.path_template, e.graphql_operation
                    )
                })
                .collect();
            panic!(
                "no {method} {template} {operation:?} in\n{}",
                all.join("\n")
            )
        })
}

#[test]
fn endpoints_are_templated_and_graphql_is_split_per_operation() {
    let (_, inventory) = shop();
    let listing = find(&inventory, "GET", "/v1/products", None);
    assert_eq!(
        (
            listing.sample_count,
            listing.kind.as_str(),
            listing.bucket.as_str()
        ),
        (2, "json-api", "listing")
    );
    let detail = find(&inventory, "GET", "/v1/products/{product_id}", None);
    assert_eq!((detail.sample_count, detail.bucket.as_str()), (3, "detail"));
    assert_eq!(detail.challenged_count, 1, "the 403 Access Denied sample");
    assert_eq!(detail.statuses, vec![200, 403]);
    let reviews = find(&inventory, "GET", "/v1/products/{product_id}/reviews", None);
    assert_eq!(reviews.bucket, "reviews");
    let categories = find(&inventory, "GET", "/c/{c_slug}", None);
    assert_eq!(
        (categories.sample_count, categories.kind.as_str()),
        (3, "html-document")
    );

    let search = find(&inventory, "POST", "/graphql", Some("SearchProducts"));
    assert_eq!(
        (
            search.kind.as_str(),
            search.bucket.as_str(),
            search.sample_count
        ),
        ("graphql", "search", 2)
    );
    let price = find(&inventory, "GET", "/graphql", Some("ProductPrice"));
    assert_eq!(
        price.graphql_persisted_hash.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(price.bucket, "prices");
    let recommendations = find(&inventory, "POST", "/graphql", Some("Recommendations"));
    let cart = find(&inventory, "POST", "/graphql", Some("CartCount"));
    assert_ne!(recommendations.id, cart.id);
    assert_eq!(
        recommendations.request_ids, cart.request_ids,
        "one batched request, two operations"
    );
    // Each batch member gets its own slice of the response.
    let schema = recommendations.response_schema.as_ref().unwrap();
    assert!(schema["properties"]["data"]["properties"]
        .get("recommendations")
        .is_some());
    assert!(schema["properties"]["data"]["properties"]
        .get("cart")
        .is_none());

    let sensor = find(&inventory, "POST", "/3a9f1c7e2b", None);
    assert_eq!(
        (sensor.kind.as_str(), sensor.bucket.as_str()),
        ("anti-bot-sensor", "tracking")
    );
    let analytics = find(&inventory, "POST", "/g/collect", None);
    assert_eq!(analytics.kind, "tracking");
    assert_eq!(
        find(&inventory, "GET", "/static/app.9f8e7d.js", None).kind,
        "static"
    );
    assert_eq!(
        find(&inventory, "OPTIONS", "/v1/products", None).kind,
        "other",
        "a preflight is no JSON API, whatever content type it names"
    );

    // Ids are stable for the same method + host + template + operation.
    let (_, again) = shop();
    let ids: Vec<&str> = inventory.endpoints.iter().map(|e| e.id.as_str()).collect();
    let ids_again: Vec<&str> = again.endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ids_again);
    assert_eq!(
        search.id,
        recon_analysis::endpoint_id("POST", "www.lampshop.test", "/graphql#SearchProducts")
    );
}

#[test]
fn schemas_are_merged_across_every_sample() {
    let (_, inventory) = shop();
    let listing = find(&inventory, "GET", "/v1/products", None);
    let schema = listing.response_schema.as_ref().unwrap();
    let item = &schema["properties"]["items"]["items"];
    assert!(
        item["properties"].get("badge").is_some(),
        "a field only the second page has"
    );
    assert_eq!(item["properties"]["price"]["type"], "number");
    let required: Vec<&str> = item["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"id") && !required.contains(&"badge"));
    assert_eq!(
        schema["properties"]["links"]["properties"]["next"]["type"],
        serde_json::json!(["string", "null"])
    );
    let detail = find(&inventory, "GET", "/v1/products/{product_id}", None);
    let detail_schema = detail.response_schema.as_ref().unwrap();
    assert_eq!(
        detail_schema["properties"]["description"]["type"],
        serde_json::json!(["string", "null"])
    );
    assert_eq!(
        detail_schema["properties"]["updated_at"]["format"],
        "date-time"
    );
    let search = find(&inventory, "POST", "/graphql", Some("SearchProducts"));
    let variables = search.request_schema.as_ref().unwrap();
    assert_eq!(
        variables["properties"]["after"]["type"],
        serde_json::json!(["string", "null"])
    );
}

#[test]
fn parameters_pagination_and_auth() {
    let (_, inventory) = shop();
    let listing = find(&inventory, "GET", "/v1/products", None);
    let param = |name: &str| listing.parameters.iter().find(|p| p.name == name).unwrap();
    assert_eq!(
        (param("page").value_type.as_str(), param("page").required),
        ("integer", true)
    );
    assert_eq!(param("page").examples, vec!["1", "2"]);
    assert_eq!(param("category").examples, vec!["desk"]);
    let pagination = listing.pagination.as_ref().unwrap();
    assert_eq!(pagination.style, PaginationStyle::Page);
    assert_eq!(pagination.parameters, vec!["page"]);
    assert_eq!(pagination.page_size_parameter.as_deref(), Some("per_page"));
    assert_eq!(pagination.next_field.as_deref(), Some("links.next"));
    let kinds: Vec<(AuthKind, &str)> = listing
        .auth
        .iter()
        .map(|a| (a.kind, a.name.as_str()))
        .collect();
    assert!(kinds.contains(&(AuthKind::Bearer, "Authorization")));
    assert!(kinds.contains(&(AuthKind::SessionCookie, "shop_session")));
    assert!(kinds.contains(&(AuthKind::AntiBotCookie, "_abck")));
    assert!(!kinds.iter().any(|(_, name)| *name == "theme"));

    let reviews = find(&inventory, "GET", "/v1/products/{product_id}/reviews", None);
    let cursor = reviews.pagination.as_ref().unwrap();
    assert_eq!(
        (cursor.style, cursor.next_field.as_deref()),
        (PaginationStyle::Cursor, Some("next_cursor"))
    );
    let search = find(&inventory, "POST", "/graphql", Some("SearchProducts"));
    let graphql_cursor = search.pagination.as_ref().unwrap();
    assert_eq!(graphql_cursor.style, PaginationStyle::Cursor);
    assert_eq!(graphql_cursor.parameters, vec!["after"]);
    assert_eq!(
        graphql_cursor.next_field.as_deref(),
        Some("data.search.pageInfo.endCursor")
    );
    assert!(search
        .auth
        .iter()
        .any(|a| a.kind == AuthKind::Csrf && a.name == "x-csrf-token"));
    let login = find(&inventory, "POST", "/api/session/login", None);
    assert_eq!(login.bucket, "auth");
    assert!(login
        .auth
        .iter()
        .any(|a| a.kind == AuthKind::Csrf && a.name == "authenticity_token"));
}

#[test]
fn examples_never_show_secrets() {
    let (_, inventory) = shop();
    let json = serde_json::to_string(&inventory).unwrap();
    for secret in [
        "sess-8f7e6d5c4b3a",
        "0A1B2C3D4E5F6A7B8C9D",
        "hunter2",
        "c2lnbmF0dXJl",
        "csrf-Zx81Lq0pR7",
        "auth-tok-553311",
        "ana@example.test",
    ] {
        assert!(!json.contains(secret), "inventory shows {secret}");
    }
    let listing = find(&inventory, "GET", "/v1/products", None);
    let theme = listing
        .parameters
        .iter()
        .find(|p| p.name == "theme")
        .unwrap();
    assert_eq!(
        (theme.location, theme.examples.clone()),
        (ParameterLocation::Cookie, vec!["dark".to_owned()])
    );
}

#[test]
fn provenance_traces_values_to_the_responses_that_minted_them() {
    let (_, inventory) = shop();
    let source = |endpoint: &Endpoint, name: &str| {
        endpoint
            .provenance
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no provenance for {name} in {:?}", endpoint.provenance))
            .minted_by
            .clone()
    };
    let home = find(&inventory, "GET", "/", None);
    let detail = find(&inventory, "GET", "/v1/products/{product_id}", None);
    let listing = find(&inventory, "GET", "/v1/products", None);
    let id = source(detail, "product_id").unwrap();
    assert_eq!(
        (id.how, id.field.as_deref()),
        (MintedBy::JsonField, Some("items[].id"))
    );
    assert_eq!(id.endpoint_id.as_deref(), Some(listing.id.as_str()));
    let session = source(listing, "shop_session").unwrap();
    assert_eq!(
        (session.how, session.endpoint_id.as_deref()),
        (MintedBy::SetCookie, Some(home.id.as_str()))
    );
    let search = find(&inventory, "POST", "/graphql", Some("SearchProducts"));
    let csrf = source(search, "x-csrf-token").unwrap();
    assert_eq!(
        (csrf.how, csrf.field.as_deref()),
        (MintedBy::HtmlMeta, Some("csrf-token"))
    );
    let cursor = source(search, "after").unwrap();
    assert_eq!(
        (cursor.how, cursor.field.as_deref()),
        (MintedBy::JsonField, Some("data.search.pageInfo.endCursor"))
    );
    let login = find(&inventory, "POST", "/api/session/login", None);
    let token = source(login, "authenticity_token").unwrap();
    assert_eq!(
        (token.how, token.field.as_deref()),
        (MintedBy::HtmlInput, Some("authenticity_token"))
    );
    let reviews = find(&inventory, "GET", "/v1/products/{product_id}/reviews", None);
    assert_eq!(
        source(reviews, "cursor").unwrap().field.as_deref(),
        Some("next_cursor")
    );
}
