//! Egress we control: replays leave only for the address the guard checked and only on the
//! allowed ports. A proxy is asked for a tunnel to that IP (HTTP CONNECT ip:port, SOCKS5 with an
//! IPv4/IPv6 address), never given a name to resolve, while the site still sees its name in the
//! Host header and TLS still presents it as the server name.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use recon_contracts::{NetworkTier, NotReplayed, NotReplayedReason, ReplayProfile, Validation};
use recon_runtime::config::ValidationSettings;
use recon_runtime::secrets::{ProxySecrets, RotationMode};
use recon_tests::logging_site::LoggingSite;
use recon_tests::replay_proxies::{Asked, TestProxy, DATACENTER_EGRESS, RESIDENTIAL_EGRESS};
use recon_validation::proxy::ProxyTier;
use recon_validation::StaticResolver;

use crate::hello::client_hello_of;
use crate::support::{inventory_for, matrix, replay, result, settings, LoopbackOnly, World};

/// The name the captures use for the protected site; only the test's resolver knows it.
const SITE_NAME: &str = "shop.test";

/// Validates the prices endpoint of the site browsed as [`SITE_NAME`], through `secrets`.
async fn replay_named_prices(world: &World, secrets: &ProxySecrets) -> Validation {
    let capture = world.site.capture_named(SITE_NAME);
    let (inventory, ranking) = inventory_for(&capture, &["site-3"]);
    let resolver = StaticResolver::new([(SITE_NAME, vec!["127.0.0.1"])]);
    replay(
        &capture,
        (&inventory, &ranking),
        &world.settings(),
        secrets,
        Arc::new(resolver),
        &LoopbackOnly::default(),
    )
    .await
}

fn only_an_ip_tunnel(asked: &[Asked], site: SocketAddr) {
    assert!(!asked.is_empty(), "the proxy was never used");
    for request in asked {
        assert!(
            request.is_tunnel_to_an_ip(),
            "the proxy was asked {request:?}"
        );
        let target = match request {
            Asked::Connect(authority) => authority.parse::<SocketAddr>().ok(),
            Asked::SocksAddress(address) => Some(*address),
            _ => None,
        };
        assert_eq!(target, Some(site), "{request:?}");
    }
}

/// The Host headers the site saw from `egress`.
fn hosts_seen_from(world: &World, egress: IpAddr) -> Vec<Option<String>> {
    world
        .site
        .served()
        .into_iter()
        .filter(|served| served.peer.ip() == egress)
        .map(|served| served.host)
        .collect()
}

#[tokio::test]
async fn an_http_proxy_is_asked_for_a_tunnel_to_the_checked_ip_not_the_name() {
    let world = World::start().await;
    let secrets = ProxySecrets {
        datacenter_proxy: Some(world.datacenter.url()),
        ..ProxySecrets::default()
    };
    let validation = replay_named_prices(&world, &secrets).await;
    println!("{}", matrix(&validation));
    only_an_ip_tunnel(&world.datacenter.asked(), world.site.address);
    let hosts = hosts_seen_from(&world, DATACENTER_EGRESS.into());
    let expected = Some(format!("{SITE_NAME}:{}", world.site.address.port()));
    assert!(!hosts.is_empty(), "{}", matrix(&validation));
    assert!(hosts.iter().all(|host| *host == expected), "{hosts:?}");
}

#[tokio::test]
async fn a_socks5_proxy_is_given_the_checked_ip_never_a_name() {
    let world = World::start().await;
    let secrets = ProxySecrets {
        residential_proxy: Some(world.residential.url()),
        residential_rotation: RotationMode::Rotating,
        ..ProxySecrets::default()
    };
    let validation = replay_named_prices(&world, &secrets).await;
    println!("{}", matrix(&validation));
    only_an_ip_tunnel(&world.residential.asked(), world.site.address);
    let prices = result(&validation, "ep-site-3");
    assert_eq!(
        prices.best.map(|best| (best.profile, best.tier)),
        Some((ReplayProfile::Plain, NetworkTier::Residential)),
        "the tunnel carries the replay end to end"
    );
    let hosts = hosts_seen_from(&world, RESIDENTIAL_EGRESS.into());
    let expected = Some(format!("{SITE_NAME}:{}", world.site.address.port()));
    assert!(!hosts.is_empty());
    assert!(hosts.iter().all(|host| *host == expected), "{hosts:?}");
}

/// TLS through `proxy`, configured as the secret configures `tier`: both clients present the
/// name and the proxy only sees an IP tunnel.
async fn tls_through(proxy: &TestProxy, tier: NetworkTier) {
    let secrets = match tier {
        NetworkTier::Datacenter => ProxySecrets {
            datacenter_proxy: Some(proxy.url()),
            ..ProxySecrets::default()
        },
        _ => ProxySecrets {
            residential_proxy: Some(proxy.url()),
            ..ProxySecrets::default()
        },
    };
    let tiers = ProxyTier::from_secrets(&secrets);
    let route = tiers[0].route("session1");
    for profile in [ReplayProfile::Plain, ReplayProfile::Impersonate] {
        let hello = client_hello_of(profile, SITE_NAME, &route).await;
        assert_eq!(hello.server_name.as_deref(), Some(SITE_NAME), "{profile:?}");
    }
    let asked = proxy.asked();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.iter().all(Asked::is_tunnel_to_an_ip), "{asked:?}");
}

#[tokio::test]
async fn tls_through_an_http_proxy_presents_the_name_over_a_tunnel_to_the_ip() {
    let proxy = TestProxy::http("dc-user", "dc-Pa55word").await;
    tls_through(&proxy, NetworkTier::Datacenter).await;
}

#[tokio::test]
async fn tls_through_a_socks5_proxy_presents_the_name_over_a_tunnel_to_the_ip() {
    let proxy = TestProxy::socks5("res-user", "res-Pa55word").await;
    tls_through(&proxy, NetworkTier::Residential).await;
}

/// Validates a GET to a fresh logging site (on a random port) with the settings made for its
/// port.
async fn replay_logging_site(
    settings_for: impl FnOnce(u16) -> ValidationSettings,
) -> (LoggingSite, Validation) {
    let site = LoggingSite::start().await;
    let capture = site.capture(vec![site.request("call", "GET", "/api/products", None)]);
    let (inventory, ranking) = inventory_for(&capture, &["call"]);
    let validation = replay(
        &capture,
        (&inventory, &ranking),
        &settings_for(site.address.port()),
        &ProxySecrets::default(),
        Arc::new(StaticResolver::default()),
        &LoopbackOnly::default(),
    )
    .await;
    (site, validation)
}

fn refused_port(validation: &Validation, port: u16) {
    assert_eq!(
        result(validation, "ep-call").not_replayed,
        Some(NotReplayed {
            reason: NotReplayedReason::TargetRefused,
            detail: format!("port {port} is not allowed for replays"),
        }),
        "{}",
        matrix(validation)
    );
    assert_eq!(validation.requests_sent, 0);
}

#[tokio::test]
async fn by_default_only_ports_80_and_443_are_replayed_to() {
    let (site, validation) = replay_logging_site(|_| ValidationSettings {
        allow_loopback: true,
        ..ValidationSettings::default()
    })
    .await;
    assert!(site.arrivals().is_empty(), "{}", matrix(&validation));
    refused_port(&validation, site.address.port());
}

#[tokio::test]
async fn the_allowed_ports_setting_opens_exactly_its_ports() {
    let (site, validation) = replay_logging_site(|port| settings(true, &[port])).await;
    assert_eq!(site.arrivals().len(), 1, "{}", matrix(&validation));
    let (site, validation) =
        replay_logging_site(|port| settings(true, &[port.wrapping_add(1)])).await;
    assert!(site.arrivals().is_empty(), "{}", matrix(&validation));
    refused_port(&validation, site.address.port());
}
