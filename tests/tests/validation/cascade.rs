//! The cascade on the protected site: the cheapest pass per endpoint, the diagnosis, rate
//! limits, the full matrix, budgets, and ten endpoints at once.

use std::collections::BTreeMap;
use std::time::Instant;

use recon_contracts::{NetworkTier, ReplayChoice, ReplayProfile, RequestRecord, Verdict};
use recon_tests::protected_site::ANTIBOT_COOKIE;
use recon_tests::replay_proxies::{DATACENTER_EGRESS, RESIDENTIAL_EGRESS};

use crate::support::{inventory_for, matrix, replay_on_loopback, result, World};

#[tokio::test]
async fn the_cascade_finds_the_cheapest_pass_names_the_cookie_and_reports_the_rate_limit() {
    let world = World::start().await;
    let capture = world.site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-1", "site-2", "site-3", "site-4"]);
    let settings = world.settings();
    let secrets = world.secrets();
    let started = Instant::now();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    println!(
        "validation of 4 endpoints took {:?}\n{}",
        started.elapsed(),
        matrix(&validation)
    );

    // /api/config is open: plain × direct, first try.
    let config = result(&validation, "ep-site-1");
    assert_eq!(
        config.best,
        Some(ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Direct
        })
    );
    assert_eq!(config.attempts.len(), 1);
    assert_eq!(config.minimal, None);
    assert_eq!(config.attempts[0].similarity, Some(1.0));

    // /api/products needs browser headers and the script-minted anti-bot cookie.
    let products = result(&validation, "ep-site-2");
    assert_eq!(
        products.best,
        Some(ReplayChoice {
            profile: ReplayProfile::BrowserSession,
            tier: NetworkTier::Direct
        }),
        "{}",
        matrix(&validation)
    );
    let verdicts: Vec<_> = products
        .attempts
        .iter()
        .map(|a| (a.profile, a.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            (ReplayProfile::Plain, Verdict::Blocked),
            (ReplayProfile::BrowserHeaders, Verdict::Blocked),
            (ReplayProfile::BrowserSession, Verdict::Pass),
        ]
    );
    let minimal = products.minimal.as_ref().expect("a minimal set");
    assert_eq!(minimal.cookies, [ANTIBOT_COOKIE]);
    let mut headers = minimal.headers.clone();
    headers.sort();
    assert_eq!(headers, ["accept-language", "user-agent"]);
    let notes = products.notes.join("\n");
    assert!(
        notes.contains("Cookie datadome is DataDome") && notes.contains("412/403"),
        "{notes}"
    );
    assert!(products
        .recommendation
        .as_deref()
        .unwrap()
        .contains("browser-session × direct"));

    // /api/prices blocks datacenter egress: only the residential tier passes.
    let prices = result(&validation, "ep-site-3");
    assert_eq!(
        prices.best,
        Some(ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Residential
        })
    );
    for attempt in &prices.attempts {
        let expected = if attempt.tier == NetworkTier::Residential {
            Verdict::Pass
        } else {
            Verdict::Blocked
        };
        assert_eq!(attempt.verdict, expected, "{attempt:?}");
    }
    assert!(prices
        .attempts
        .iter()
        .any(|a| a.tier == NetworkTier::Datacenter && a.profile == ReplayProfile::Impersonate));
    assert!(prices.notes.join("\n").contains("direct and datacenter"));
    let served = world.site.served();
    let peers_for = |path: &str| -> Vec<std::net::IpAddr> {
        let mut peers: Vec<_> = served
            .iter()
            .filter(|s| s.path == path)
            .map(|s| s.peer.ip())
            .collect();
        peers.dedup();
        peers
    };
    assert_eq!(
        peers_for("/api/prices"),
        [
            std::net::IpAddr::from([127, 0, 0, 1]),
            DATACENTER_EGRESS.into(),
            RESIDENTIAL_EGRESS.into()
        ]
    );

    // /api/reviews answers every other request with 429: reported, backed off, then passed.
    let reviews = result(&validation, "ep-site-4");
    let limit = reviews.rate_limit.as_ref().expect("rate limit reported");
    assert_eq!(limit.status, 429);
    assert_eq!(limit.retry_after_secs, Some(1));
    assert!(limit
        .headers
        .contains(&"x-ratelimit-remaining: 0".to_owned()));
    assert_eq!(reviews.attempts.len(), 2);
    assert_eq!(reviews.attempts[0].status, Some(429));
    assert_eq!(reviews.attempts[1].verdict, Verdict::Pass);
    assert!(reviews.notes.join("\n").contains("Retry-After 1 s"));

    // Sticky datacenter: one session id in the username for the endpoint; rotating residential:
    // the username as configured.
    let dc_users: std::collections::BTreeSet<String> = world
        .datacenter
        .relayed()
        .into_iter()
        .map(|r| r.username)
        .collect();
    assert_eq!(dc_users.len(), 1, "{dc_users:?}");
    assert!(dc_users
        .iter()
        .all(|u| u.starts_with("dc-user-session-") && u.len() > 20));
    assert!(world
        .residential
        .relayed()
        .iter()
        .all(|r| r.username == "res-user"));
    assert!(!world.residential.relayed().is_empty());

    let overall = validation.recommendation.as_deref().unwrap();
    assert!(
        overall.contains("plain × residential") || overall.contains("× residential"),
        "{overall}"
    );
    let per_endpoint: u32 = validation.results.iter().map(|r| r.requests_sent).sum();
    assert_eq!(validation.requests_sent, per_endpoint);
    assert_eq!(validation.requests_sent as usize, served.len());

    let json = serde_json::to_string(&validation).unwrap();
    for secret in world.secret_strings() {
        assert!(!json.contains(&secret), "the result leaks {secret}");
    }
}

#[tokio::test]
async fn the_full_matrix_runs_every_profile_on_every_tier() {
    let world = World::start().await;
    let capture = world.site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-1"]);
    let mut settings = world.settings();
    settings.full_matrix = true;
    let secrets = world.secrets();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    let config = result(&validation, "ep-site-1");
    assert_eq!(config.attempts.len(), 12, "{}", matrix(&validation));
    assert!(config.attempts.iter().all(|a| a.verdict == Verdict::Pass));
    assert_eq!(
        config.best,
        Some(ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Direct
        })
    );
}

#[tokio::test]
async fn budgets_stop_the_cascade_and_say_so() {
    let world = World::start().await;
    let capture = world.site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-3"]);
    let mut settings = world.settings();
    settings.max_requests_per_host = 3;
    let secrets = world.secrets();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    let prices = result(&validation, "ep-site-3");
    assert_eq!(validation.requests_sent, 3);
    assert_eq!(prices.best, None);
    assert!(
        prices
            .notes
            .join("\n")
            .contains("budget for host 127.0.0.1"),
        "{:?}",
        prices.notes
    );
    assert_eq!(world.site.served().len(), 3);
}

#[tokio::test]
async fn ten_endpoints_on_loopback() {
    let world = World::start().await;
    let mut capture = world.site.capture();
    // Ten endpoints: the site's four APIs and page, each twice (query variants).
    let originals: Vec<RequestRecord> = capture.requests.clone();
    for (index, request) in originals.iter().enumerate() {
        let mut copy = request.clone();
        copy.id = format!("copy-{index}");
        copy.url = if copy.url.contains('?') {
            format!("{}&variant=2", copy.url)
        } else {
            format!("{}?variant=2", copy.url)
        };
        capture.requests.push(copy);
    }
    let ids: Vec<String> = capture.requests.iter().map(|r| r.id.clone()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (inventory, ranking) = inventory_for(&capture, &ids);
    assert_eq!(ranking.ranked.len(), 10);
    let settings = world.settings();
    let secrets = world.secrets();
    let started = Instant::now();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    let elapsed = started.elapsed();
    let passed = validation
        .results
        .iter()
        .filter(|r| r.best.is_some())
        .count();
    let per_endpoint: BTreeMap<&str, u32> = validation
        .results
        .iter()
        .map(|r| (r.endpoint_id.as_str(), r.requests_sent))
        .collect();
    println!(
        "10 endpoints: {elapsed:?}, {} requests, {passed} passed; per endpoint {per_endpoint:?}",
        validation.requests_sent
    );
    assert_eq!(passed, 10, "{}", matrix(&validation));
}
