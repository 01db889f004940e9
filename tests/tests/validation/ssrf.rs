//! The SSRF guard end to end: refused targets never reach a transport, a redirect into private
//! space stops after the first hop, and no output names a refused address.

use std::sync::Arc;

use recon_contracts::{Capture, Validation, Verdict};
use recon_runtime::secrets::ProxySecrets;
use recon_tests::protected_site::ProtectedSite;
use recon_validation::{StaticResolver, SystemResolver};

use crate::support::{
    captured_log, inventory_for, json_request, matrix, replay, result, settings, LoopbackOnly,
    NeverConnect,
};

/// Captured hosts that are, or resolve to, addresses validation must not reach.
const TARGETS: [(&str, &str); 11] = [
    ("loopback-without-opt-in", "http://127.0.0.1:9/api"),
    ("metadata", "http://169.254.169.254/latest/meta-data/"),
    ("ten", "http://10.0.0.1/admin"),
    ("home-router", "http://192.168.1.1/"),
    ("ipv6-loopback", "http://[::1]:8080/"),
    ("mapped", "http://[::ffff:10.0.0.1]/"),
    ("cgnat", "http://100.64.0.1/"),
    ("private-name", "https://intranet.shop.example/api"),
    ("rebinding-name", "https://rebind.shop.example/api"),
    ("metadata-name", "http://metadata.shop.example/"),
    ("ipv6-metadata-name", "http://ec2meta.shop.example/"),
];

/// The addresses behind [`TARGETS`], as a message naming them would spell them (loopback is
/// left out: every test on this machine logs it).
const REFUSED_ADDRESSES: [&str; 8] = [
    "169.254.169.254",
    "10.0.0.1",
    "192.168.1.1",
    "::ffff:10.0.0.1",
    "100.64.0.1",
    "10.20.30.40",
    "192.168.0.7",
    "fd00:ec2::254",
];

/// Validates every [`TARGETS`] endpoint on direct and proxied tiers; any send fails the test.
async fn validate_refused_targets() -> Validation {
    let capture = Capture {
        format_version: recon_contracts::CAPTURE_FORMAT_VERSION,
        source: recon_contracts::CaptureSource::Har,
        target_url: "https://shop.example/".to_owned(),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: Vec::new(),
        requests: TARGETS
            .iter()
            .map(|(id, url)| json_request(id, url))
            .collect(),
        cookies: Vec::new(),
        streams: Vec::new(),
    };
    let ids: Vec<&str> = TARGETS.iter().map(|(id, _)| *id).collect();
    let (inventory, ranking) = inventory_for(&capture, &ids);
    let resolver = StaticResolver::new([
        ("intranet.shop.example", vec!["10.20.30.40"]),
        ("rebind.shop.example", vec!["93.184.216.34", "192.168.0.7"]),
        ("metadata.shop.example", vec!["169.254.169.254"]),
        ("ec2meta.shop.example", vec!["fd00:ec2::254"]),
    ]);
    // Every port the targets use is allowed: the addresses alone are refused.
    let mut settings = settings(false, &[80, 443, 9, 8080]);
    settings.top_endpoints = ids.len();
    // Proxied tiers too: the target is vetted before it is handed to a proxy.
    let secrets = ProxySecrets {
        datacenter_proxy: Some("http://u:never-used@127.0.0.1:1".to_owned()),
        residential_proxy: Some("socks5://u:never-used@127.0.0.1:1".to_owned()),
        ..ProxySecrets::default()
    };
    replay(
        &capture,
        (&inventory, &ranking),
        &settings,
        &secrets,
        Arc::new(resolver),
        &NeverConnect,
    )
    .await
}

#[tokio::test]
async fn ssrf_targets_are_refused_before_any_connection() {
    let validation = validate_refused_targets().await;
    assert_eq!(validation.requests_sent, 0);
    for (id, url) in TARGETS {
        let result = result(&validation, &format!("ep-{id}"));
        assert_eq!(result.attempts.len(), 1, "{id}");
        let attempt = &result.attempts[0];
        assert_eq!(attempt.verdict, Verdict::Error);
        assert_eq!(attempt.status, None);
        let reason = attempt.reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("refused:"), "{url}: {reason}");
        assert!(result.best.is_none());
        assert_eq!(result.requests_sent, 0);
        println!("{url}: {reason}");
    }
}

#[tokio::test]
async fn hosts_not_in_the_capture_and_redirects_into_private_space_are_refused() {
    let site = ProtectedSite::start().await;
    let mut capture = site.capture();
    capture
        .requests
        .push(json_request("redirect", &site.url("/go/internal")));
    let (inventory, ranking) = inventory_for(&capture, &["redirect"]);
    let transport = LoopbackOnly::default();
    let settings = settings(true, &[site.address.port()]);
    let validation = replay(
        &capture,
        (&inventory, &ranking),
        &settings,
        &ProxySecrets::default(),
        Arc::new(SystemResolver),
        &transport,
    )
    .await;
    let redirect = result(&validation, "ep-redirect");
    assert_eq!(redirect.attempts.len(), 1, "{}", matrix(&validation));
    let reason = redirect.attempts[0].reason.as_deref().unwrap_or_default();
    assert_eq!(reason, "refused: not a public address");
    // One hop reached the site; the second was never sent.
    assert_eq!(transport.hops.lock().unwrap().len(), 1);
    assert_eq!(site.served().len(), 1);
}

#[tokio::test]
async fn refused_addresses_are_named_nowhere() {
    let log = captured_log();
    let validation = validate_refused_targets().await;
    let json = serde_json::to_string(&validation).unwrap();
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).to_string();
    let info_and_up: String = logged
        .lines()
        .filter(|line| !line.contains(" DEBUG ") && !line.contains(" TRACE "))
        .collect::<Vec<_>>()
        .join("\n");
    for address in REFUSED_ADDRESSES {
        assert!(
            !json.contains(address),
            "the result names {address}: {json}"
        );
        assert!(
            !info_and_up.contains(address),
            "the log names {address}: {info_and_up}"
        );
    }
    for result in &validation.results {
        let reason = result.attempts[0].reason.as_deref().unwrap_or_default();
        assert!(
            reason == "refused: not a public address" || reason.starts_with("refused: port "),
            "{}: {reason}",
            result.endpoint_id
        );
    }
}
