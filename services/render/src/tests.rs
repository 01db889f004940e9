//! The page on empty and rich inputs: escaping, sections, the matrix, no external references.

use recon_contracts::{
    Change, ChangeKind, Endpoint, EndpointValidation, Evidence, NetworkTier, NotReplayed,
    NotReplayedReason, RankedEndpoint, ReplayAttempt, ReplayChoice, ReplayProfile, Severity,
    Snippet, VendorFinding, Verdict,
};

use super::*;

fn inputs() -> ReportInputs {
    ReportInputs {
        scan_id: Uuid::nil(),
        report_slug: "AbC123".into(),
        target_url: "https://shop.example/?q=<script>alert(1)</script>".into(),
        intent_text: "prices".into(),
        starter_template: String::new(),
        detection: Detection::default(),
        inventory: Inventory::default(),
        ranking: IntentRanking::default(),
        validation: Validation::default(),
        synthesis: Synthesis {
            snippets: vec![],
            notes: vec!["a & b".into()],
            drivers: vec![],
        },
        scrub: None,
        drift: Some(Drift::default()),
    }
}

fn rich() -> ReportInputs {
    let mut inputs = inputs();
    inputs.detection.vendors = vec![VendorFinding {
        id: "akamai".into(),
        product: "Bot Manager".into(),
        category: "bot-management".into(),
        confidence: 0.92,
        evidence: vec![Evidence {
            rule: "akamai.cookie.abck".into(),
            detail: "cookie _abck on www.shop.example".into(),
            request_id: None,
        }],
    }];
    inputs.inventory.endpoints = (0..3)
        .map(|i| Endpoint {
            id: format!("ep{i}"),
            method: "GET".into(),
            host: "api.shop.example".into(),
            path_template: format!("/v1/items{i}/{{id}}"),
            kind: if i == 2 { "static" } else { "json-api" }.into(),
            bucket: "listing".into(),
            sample_count: 2,
            statuses: vec![200],
            ..Default::default()
        })
        .collect();
    inputs.ranking.ranked = vec![RankedEndpoint {
        endpoint_id: "ep0".into(),
        score: 0.9,
        reasons: vec!["path mentions \"items\"".into()],
    }];
    inputs.validation.results = vec![EndpointValidation {
        endpoint_id: "ep0".into(),
        attempts: vec![
            ReplayAttempt {
                profile: ReplayProfile::Plain,
                tier: NetworkTier::Direct,
                status: Some(403),
                verdict: Verdict::Blocked,
                reason: Some("akamai block page".into()),
                latency_ms: None,
                bytes: None,
                content_type: None,
                similarity: None,
            },
            ReplayAttempt {
                profile: ReplayProfile::Impersonate,
                tier: NetworkTier::Residential,
                status: Some(200),
                verdict: Verdict::Pass,
                reason: None,
                latency_ms: None,
                bytes: None,
                content_type: None,
                similarity: Some(0.97),
            },
        ],
        best: Some(ReplayChoice {
            profile: ReplayProfile::Impersonate,
            tier: NetworkTier::Residential,
        }),
        recommendation: Some("impersonate × residential".into()),
        ..Default::default()
    }];
    inputs.synthesis.snippets = vec![Snippet {
        endpoint_id: "ep0".into(),
        language: "python".into(),
        code: "print('</code></pre><script>x</script>')".into(),
        library: Some("curl_cffi".into()),
    }];
    inputs.drift = Some(Drift {
        previous_scan_id: Some(Uuid::from_u128(41)),
        previous_completed_at: "2026-12-01T09:30:00Z".parse().ok(),
        changes: vec![
            Change {
                kind: ChangeKind::VendorAdded,
                endpoint_id: None,
                endpoint: None,
                vendor: Some("datadome".into()),
                field: None,
                before: None,
                after: Some("0.9".into()),
                severity: Severity::High,
            },
            Change {
                kind: ChangeKind::ResponseFieldRemoved,
                endpoint_id: Some("ep0".into()),
                endpoint: Some("GET /v1/items0/{id}".into()),
                vendor: None,
                field: Some("items[].<b>price</b>".into()),
                before: Some("number".into()),
                after: None,
                severity: Severity::Medium,
            },
        ],
        omitted_changes: 4,
    });
    inputs
}

#[test]
fn report_page_escapes_captured_text() {
    let rendered = render(inputs());
    assert!(!rendered.html.contains("<script>alert"));
    assert!(rendered.html.contains("&lt;script&gt;"));
    assert!(rendered.html.contains("a &amp; b"));
    assert_eq!(rendered.report.scan.status, ScanStatus::Complete);
    assert!(rendered
        .html
        .contains("Validation did not replay any endpoint."));
    assert!(rendered.html.contains("No anti-bot vendor was detected"));
    assert!(rendered.openapi.is_some());
}

#[test]
fn rich_report_has_every_section_and_loads_nothing() {
    let rendered = render(rich());
    let html = &rendered.html;
    for needle in [
        "id=\"summary\"",
        "id=\"changes\"",
        "id=\"recommendation\"",
        "id=\"vendors\"",
        "id=\"intent\"",
        "id=\"validation\"",
        "id=\"code\"",
        "id=\"endpoints\"",
        "Bot Manager",
        "<td class=\"v-blocked\" title=\"akamai block page\">blocked 403</td>",
        "<td class=\"v-pass best\">pass 200 ★ cheapest</td>",
        "data-copy=\"snippet-1\"",
        "id=\"endpoint-filter\"",
        "<option value=\"static\">static</option>",
        "href=\"./AbC123.json\"",
        "href=\"./AbC123/openapi.json\"",
        "<main id=\"main\">",
        "<nav class=\"toc\" aria-label=\"Sections\">",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(
        !html.contains("<script>x</script>"),
        "snippet code is escaped"
    );
    assert_eq!(html.matches("<script>").count(), 1, "one inline script");
    assert_eq!(
        html.matches("<link").count(),
        1,
        "only the empty data: icon"
    );
    assert!(html.contains("<link rel=\"icon\" href=\"data:,\">"));
    for external in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "<img",
        "src=\"//",
    ] {
        assert!(!html.contains(external), "external reference {external}");
    }
    // Headings go h1 → h2 → h3 → h4 without skipping a level.
    let mut last = 1;
    for (at, _) in html.match_indices("<h") {
        if let Some(level) = html[at + 2..].chars().next().and_then(|c| c.to_digit(10)) {
            assert!(level <= last + 1, "heading h{level} after h{last}");
            last = level;
        }
    }
}

#[test]
fn shaped_secrets_in_stage_results_are_scrubbed() {
    let mut inputs = rich();
    inputs.detection.vendors[0].evidence[0].detail =
        "cookie with eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX3ZhbHVl".into();
    inputs.target_url = "https://shop.example/?api_key=k-123456".into();
    inputs.inventory.endpoints[0].path_template = "/legacy;jsessionid=SeSsIoN-99/list".into();
    let rendered = render(inputs);
    assert!(!rendered.html.contains("SeSsIoN-99"));
    let openapi = rendered.openapi.as_ref().unwrap().to_string();
    assert!(!openapi.contains("SeSsIoN-99"), "{openapi}");
    assert_eq!(
        rendered.report.endpoints[0].path_template,
        "/legacy;jsessionid=<session>/list"
    );
    assert!(!rendered.html.contains("eyJzdWIiOiIxIn0"));
    assert!(!rendered.html.contains("k-123456"));
    assert_eq!(
        rendered.report.scan.target_url,
        "https://shop.example/?api_key=<api-key>"
    );
}

#[test]
fn an_endpoint_not_replayed_says_why_instead_of_showing_a_matrix() {
    let mut inputs = rich();
    inputs.validation.results.push(EndpointValidation {
        endpoint_id: "ep1".into(),
        not_replayed: Some(NotReplayed {
            reason: NotReplayedReason::CouldChangeState,
            detail: "a GraphQL mutation (<AddToCart>)".into(),
        }),
        ..Default::default()
    });
    inputs.validation.requests_sent = 7;
    let rendered = render(inputs);
    let html = &rendered.html;
    assert!(html.contains("7 replay request(s) sent."));
    let section = &html[html.find("id=\"validation\"").unwrap()..];
    let ep1 = &section[section
        .find("<code>GET api.shop.example/v1/items1/{id}</code>")
        .expect("ep1's heading")..];
    assert!(
        ep1.contains("<p class=\"not-replayed\">Not replayed: could change state on the site — a GraphQL mutation (&lt;AddToCart&gt;).</p>"),
        "{ep1}"
    );
    assert_eq!(
        section.matches("<table class=\"matrix\">").count(),
        1,
        "only the replayed endpoint has a matrix"
    );
    let json = serde_json::to_value(&rendered.report).unwrap();
    assert_eq!(
        json["validation"]["results"][1]["not_replayed"]["reason"],
        "could-change-state"
    );
}

#[test]
fn the_changes_section_lists_drift_most_severe_first_and_escaped() {
    let rendered = render(rich());
    let html = &rendered.html;
    assert!(html.contains("<h2 id=\"changes\">Changes since 1 Dec 2026</h2>"));
    let vendor = html.find("vendor added").expect("the vendor row");
    let field = html.find("response field removed").expect("the field row");
    assert!(vendor < field, "high before medium");
    assert!(html.contains("field <code>items[].&lt;b&gt;price&lt;/b&gt;</code>"));
    assert!(!html.contains("<b>price</b>"));
    assert!(html.contains("6 change(s) since the previous scan"));
    assert!(html.contains("4 more response field change(s)"));
    let json = serde_json::to_value(&rendered.report).unwrap();
    assert_eq!(json["drift"]["changes"][0]["kind"], "vendor_added");
    assert_eq!(json["drift"]["changes"][1]["endpoint_id"], "ep0");
    assert_eq!(
        json["drift"]["previous_scan_id"],
        Uuid::from_u128(41).to_string()
    );
}

#[test]
fn a_first_scan_and_an_unchanged_site_say_so() {
    let first = render(inputs());
    assert!(first.html.contains("<h2 id=\"changes\">Changes</h2>"));
    assert!(first.html.contains("This is the first scan of this site"));
    let json = serde_json::to_value(&first.report).unwrap();
    assert!(json["drift"]["previous_scan_id"].is_null());

    let mut unchanged = inputs();
    unchanged.drift = Some(Drift {
        previous_scan_id: Some(Uuid::from_u128(41)),
        previous_completed_at: "2026-11-30T23:00:00Z".parse().ok(),
        ..Drift::default()
    });
    let html = render(unchanged).html;
    assert!(html.contains("Changes since 30 Nov 2026"));
    assert!(html.contains("Nothing changed since the previous scan."));
}

#[test]
fn drift_auth_words_survive_the_secret_guard() {
    let mut inputs = inputs();
    inputs.drift = Some(Drift {
        previous_scan_id: Some(Uuid::from_u128(41)),
        changes: vec![Change {
            kind: ChangeKind::AuthChanged,
            endpoint_id: Some("ep0".into()),
            endpoint: Some("GET /v1/items/{id}".into()),
            vendor: None,
            field: None,
            before: Some("sid (session-cookie)".into()),
            after: Some("authorization (bearer), sid (session-cookie)".into()),
            severity: Severity::High,
        }],
        ..Drift::default()
    });
    let rendered = render(inputs);
    let drift = rendered.report.drift.expect("drift");
    assert_eq!(
        drift.changes[0].after.as_deref(),
        Some("authorization (bearer), sid (session-cookie)")
    );
    assert!(rendered
        .html
        .contains("<code>authorization (bearer), sid (session-cookie)</code>"));
}
