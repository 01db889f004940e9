//! Intent cases on analysed captures: the endpoint a user would want ranks first or in the
//! top 3, every ranked endpoint says why, and trackers, sensors and assets never outrank a
//! data endpoint.

use recon_analysis::analyze;
use recon_contracts::{Detection, IntentRanking, Inventory};
use recon_detection::capture_spec::parse_corpus;
use recon_detection::detect;
use recon_intent::rank;

fn inventory(fixture: &str, name: &str) -> Inventory {
    let cases = parse_corpus(fixture).unwrap();
    let case = cases.iter().find(|c| c.name == name).unwrap();
    let capture = case.capture().unwrap();
    analyze(&capture, &detect(&capture))
}

fn shop() -> Inventory {
    inventory(
        include_str!("../../analysis/tests/fixtures/shop.toml"),
        "shop",
    )
}

fn sites(name: &str) -> Inventory {
    inventory(include_str!("fixtures/sites.toml"), name)
}

/// `METHOD template[#operation]` of the ranked endpoints, best first.
fn labels(inventory: &Inventory, ranking: &IntentRanking) -> Vec<String> {
    ranking
        .ranked
        .iter()
        .map(|r| {
            let e = inventory
                .endpoints
                .iter()
                .find(|e| e.id == r.endpoint_id)
                .unwrap();
            match &e.graphql_operation {
                Some(op) => format!("{} {}#{op}", e.method, e.path_template),
                None => format!("{} {}", e.method, e.path_template),
            }
        })
        .collect()
}

fn position(inventory: &Inventory, intent: &str, template: &str, wanted: &str) -> usize {
    let ranking = rank(inventory, intent, template);
    let labels = labels(inventory, &ranking);
    println!("{intent:?} / {template:?}:");
    for (label, ranked) in labels.iter().zip(&ranking.ranked).take(5) {
        println!(
            "  {:>6.2} {label}  ({})",
            ranked.score,
            ranked.reasons.join("; ")
        );
    }
    assert!(
        ranking.ranked.iter().all(|r| !r.reasons.is_empty()),
        "every ranked endpoint has reasons"
    );
    assert_non_data_last(inventory, &ranking);
    labels
        .iter()
        .position(|l| l == wanted)
        .unwrap_or_else(|| panic!("{wanted} not ranked: {labels:?}"))
}

fn assert_non_data_last(inventory: &Inventory, ranking: &IntentRanking) {
    let kinds: Vec<&str> = ranking
        .ranked
        .iter()
        .map(|r| {
            inventory
                .endpoints
                .iter()
                .find(|e| e.id == r.endpoint_id)
                .unwrap()
                .kind
                .as_str()
        })
        .collect();
    let non_data = |k: &str| matches!(k, "static" | "tracking" | "anti-bot-sensor");
    if let Some(first) = kinds.iter().position(|k| non_data(k)) {
        assert!(
            kinds[first..].iter().all(|k| non_data(k)),
            "a tracker, sensor or asset outranks data: {kinds:?}"
        );
    }
}

#[test]
fn product_prices_on_a_shop() {
    let shop = shop();
    assert!(position(&shop, "product prices", "products", "GET /v1/products") < 3);
    assert!(
        position(
            &shop,
            "price of a product",
            "prices",
            "GET /graphql#ProductPrice"
        ) < 3
    );
}

#[test]
fn reviews_and_search_on_a_shop() {
    let shop = shop();
    assert_eq!(
        position(
            &shop,
            "customer reviews and ratings",
            "reviews",
            "GET /v1/products/{product_id}/reviews"
        ),
        0
    );
    assert_eq!(
        position(
            &shop,
            "search results for lamps",
            "search",
            "POST /graphql#SearchProducts"
        ),
        0
    );
    // The template alone is enough.
    assert_eq!(
        position(
            &shop,
            "",
            "reviews",
            "GET /v1/products/{product_id}/reviews"
        ),
        0
    );
}

#[test]
fn jobs_board() {
    let jobs = sites("jobs");
    assert_eq!(
        position(
            &jobs,
            "software engineer vacancies in Berlin with salary",
            "jobs",
            "GET /api/v3/search"
        ),
        0
    );
    assert!(
        position(
            &jobs,
            "job descriptions",
            "jobs",
            "GET /api/v3/postings/{posting_id}"
        ) < 3
    );
}

#[test]
fn rentals_listing() {
    let rentals = sites("rentals");
    assert_eq!(
        position(
            &rentals,
            "apartment rent prices",
            "listings",
            "GET /v2/properties"
        ),
        0
    );
}

#[test]
fn travel_graphql_operations() {
    let travel = sites("travel graphql");
    assert_eq!(
        position(
            &travel,
            "flight fares",
            "travel",
            "POST /api/graphql#SearchFlightOffers"
        ),
        0
    );
}

#[test]
fn relay_doc_id_posts_are_ranked_by_their_operation_words() {
    let social = sites("relay social app");
    let operations = social
        .endpoints
        .iter()
        .filter(|e| e.graphql_operation.is_some())
        .count();
    assert_eq!(operations, 12, "one endpoint per persisted operation");
    // The typeahead operation is about search too; the others only end in "Query".
    assert!(
        position(
            &social,
            "search by keyword",
            "",
            "POST /api/graphql/#SearchCometResultsPaginatedResultsQuery"
        ) < 2
    );
    let ranking = rank(&social, "search by keyword", "");
    let ranked = labels(&social, &ranking);
    for unrelated in ["CometMarketplaceRootQuery", "StoriesTrayRectangularQuery"] {
        assert!(
            !ranked.iter().any(|label| label.ends_with(unrelated)),
            "{unrelated} matched \"search by keyword\": {ranked:?}"
        );
    }
    assert!(
        position(
            &social,
            "news feed posts",
            "",
            "POST /api/graphql/#CometNewsFeedPaginationQuery"
        ) < 3
    );
}

#[test]
fn a_typed_verb_picks_the_method_and_a_preflight_ranks_below_data() {
    let cart = sites("cart api");
    assert_eq!(
        position(
            &cart,
            "update the shopping cart",
            "",
            "PATCH /buy/carts/v2/US"
        ),
        0
    );
    assert_eq!(
        position(
            &cart,
            "remove from the shopping cart",
            "",
            "DELETE /buy/carts/v2/US/items/{item_id}"
        ),
        0
    );
    // No verb: the read and the change tie, and the preflight is below both.
    let preflight = position(&cart, "shopping cart", "", "OPTIONS /buy/carts/v2/US");
    assert!(position(&cart, "shopping cart", "", "GET /buy/carts/v2/US") < preflight);
    assert!(position(&cart, "shopping cart", "", "PATCH /buy/carts/v2/US") < preflight);
}

#[test]
fn trackers_that_mention_the_intent_stay_below_data() {
    let travel = sites("travel graphql");
    let ranking = rank(&travel, "flight price", "");
    let labels = labels(&travel, &ranking);
    let tracker = labels.iter().position(|l| l == "POST /tr/v1/batch");
    let data = labels
        .iter()
        .position(|l| l == "POST /api/graphql#SiteConfig");
    if let (Some(tracker), Some(data)) = (tracker, data) {
        assert!(data < tracker);
    }
    assert_non_data_last(&travel, &ranking);
    let empty = rank(&Inventory::default(), "anything", "products");
    assert!(empty.ranked.is_empty());
    let _ = Detection::default();
}
