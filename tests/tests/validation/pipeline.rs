//! The validation stage in the running pipeline, and proxy failures, without the proxy URLs
//! or credentials showing up anywhere.

use std::time::Duration;

use recon_contracts::{
    Inventory, NetworkTier, ReplayChoice, ReplayProfile, Step, Validation, Verdict,
};
use recon_runtime::secrets::ProxySecrets;
use recon_tests::protected_site::{ProtectedSite, ANTIBOT_COOKIE};
use recon_tests::replay_proxies::Asked;

use crate::support::{
    captured_log, inventory_for, matrix, replay_on_loopback, result, settings, World,
};

#[tokio::test]
async fn the_validation_stage_runs_in_the_pipeline_without_leaking_proxy_credentials() {
    let log = captured_log();
    let world = World::start().await;
    let secrets_dir = tempfile::tempdir().unwrap();
    let secrets_path = secrets_dir.path().join("secrets.json");
    std::fs::write(
        &secrets_path,
        serde_json::json!({
            "DATACENTER_PROXY": world.datacenter.url(),
            "RESIDENTIAL_PROXY": world.residential.url(),
            "DATACENTER_PROXY_ROTATION_MODE": "sticky",
            "RESIDENTIAL_PROXY_ROTATION_MODE": "rotating",
        })
        .to_string(),
    )
    .unwrap();
    let secrets_url = format!("file://{}", secrets_path.display());
    let site_port = world.site.address.port().to_string();
    let stack = recon_tests::TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            ("RECON_VALIDATION_ALLOWED_PORTS", &site_port),
            ("RECON_VALIDATION_TOP_ENDPOINTS", "10"),
            ("RECON_SECRETS_URL", &secrets_url),
        ],
    )
    .await;
    let scan_id = stack.run_scan(&world.site.capture()).await;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(180))
        .await;
    let validation_events: Vec<_> = events
        .iter()
        .filter(|event| event.step == Step::named("validation"))
        .collect();
    let started = validation_events.first().map(|event| event.created_at);
    let finished = validation_events.last().map(|event| event.created_at);
    println!(
        "validation step: {:?} ({:?})",
        finished.zip(started).map(|(end, start)| end - start),
        validation_events
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
    );
    let stored = recon_runtime::db::results::load(&stack.db, scan_id, "validation")
        .await
        .unwrap()
        .expect("a stored validation result");
    let validation: Validation = serde_json::from_value(stored.clone()).unwrap();
    println!("{}", matrix(&validation));
    let inventory: Inventory = serde_json::from_value(
        recon_runtime::db::results::load(&stack.db, scan_id, "analysis")
            .await
            .unwrap()
            .expect("a stored inventory"),
    )
    .unwrap();
    let endpoint_of = |request_id: &str| {
        inventory
            .endpoints
            .iter()
            .find(|endpoint| endpoint.request_ids.iter().any(|id| id == request_id))
            .map(|endpoint| endpoint.id.clone())
            .unwrap_or_else(|| panic!("no endpoint holds {request_id}"))
    };
    let products = result(&validation, &endpoint_of("site-2"));
    assert_eq!(
        products.best,
        Some(ReplayChoice {
            profile: ReplayProfile::BrowserSession,
            tier: NetworkTier::Direct
        })
    );
    assert_eq!(
        products.minimal.as_ref().map(|m| m.cookies.clone()),
        Some(vec![ANTIBOT_COOKIE.to_owned()])
    );
    let prices = result(&validation, &endpoint_of("site-3"));
    assert_eq!(prices.best.map(|b| b.tier), Some(NetworkTier::Residential));
    assert!(!world.datacenter.relayed().is_empty());
    for proxy in [&world.datacenter, &world.residential] {
        let asked = proxy.asked();
        assert!(asked.iter().all(Asked::is_tunnel_to_an_ip), "{asked:?}");
    }

    // The proxy credentials appear nowhere: not in the stored result, the events, the report
    // JSON, or anything the server logged.
    let view = stack.scan(scan_id).await;
    assert_eq!(
        view.status,
        recon_contracts::ScanStatus::Complete,
        "{view:?}"
    );
    let report = stack
        .get_json(&format!("{}.json", view.report_url))
        .await
        .to_string();
    let haystacks = [
        ("stored result", stored.to_string()),
        ("events", serde_json::to_string(&events).unwrap()),
        ("report JSON", report),
        (
            "log",
            String::from_utf8_lossy(&log.lock().unwrap()).to_string(),
        ),
    ];
    assert!(
        haystacks[3].1.contains("validation"),
        "the log capture works"
    );
    for (name, text) in &haystacks {
        for secret in world.secret_strings() {
            assert!(!text.contains(&secret), "the {name} leaks {secret}");
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_failing_proxy_is_reported_without_its_url_or_credentials() {
    let site = ProtectedSite::start().await;
    let capture = site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-3"]);
    // Nothing listens there: the client's connection error would quote the proxy.
    let closed = format!(
        "http://leaky-user:leaky-Pa55@127.0.0.1:{}",
        recon_tests::free_port()
    );
    let socks = format!(
        "socks5://leaky-user:leaky-Pa55@127.0.0.1:{}",
        recon_tests::free_port()
    );
    let secrets = ProxySecrets {
        datacenter_proxy: Some(closed.clone()),
        residential_proxy: Some(socks.clone()),
        ..ProxySecrets::default()
    };
    let validation = replay_on_loopback(
        &capture,
        (&inventory, &ranking),
        &settings(true, &[site.address.port()]),
        &secrets,
    )
    .await;
    let prices = result(&validation, "ep-site-3");
    println!("{}", matrix(&validation));
    let proxied: Vec<_> = prices
        .attempts
        .iter()
        .filter(|a| a.tier != NetworkTier::Direct)
        .collect();
    assert_eq!(proxied.len(), 8);
    assert!(proxied
        .iter()
        .all(|a| a.verdict == Verdict::Error && a.status.is_none()));
    let json = serde_json::to_string(&validation).unwrap();
    assert!(
        !json.contains("/api/prices"),
        "reasons quote the target URL: {json}"
    );
    for secret in [closed.as_str(), socks.as_str(), "leaky-user", "leaky-Pa55"] {
        assert!(!json.contains(secret), "leaks {secret}: {json}");
    }
}
