//! The `impersonate` profile's TLS ClientHello looks like Chrome's; the plain client's does not.

use recon_contracts::ReplayProfile;
use recon_validation::proxy::Route;

use crate::hello::client_hello_of;

#[tokio::test]
async fn impersonate_sends_a_chrome_tls_client_hello_and_the_plain_client_does_not() {
    // GREASE values (RFC 8701) look like 0x?a?a; Chrome sends them, rustls does not.
    let grease = |value: &u16| value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff;
    const COMPRESS_CERTIFICATE: u16 = 0x001b;
    const APPLICATION_SETTINGS: [u16; 2] = [0x4469, 0x44cd];

    let hello = client_hello_of(ReplayProfile::Impersonate, "127.0.0.1", &Route::Direct).await;
    let (suites, extensions) = (hello.suites, hello.extensions);
    println!("impersonate: suites {suites:04x?}\n  extensions {extensions:04x?}");
    assert!(suites.iter().any(grease), "GREASE cipher suite");
    assert!(extensions.iter().any(grease), "GREASE extension");
    assert!(extensions.contains(&COMPRESS_CERTIFICATE));
    assert!(extensions.iter().any(|e| APPLICATION_SETTINGS.contains(e)));

    let hello = client_hello_of(ReplayProfile::BrowserSession, "127.0.0.1", &Route::Direct).await;
    let (suites, extensions) = (hello.suites, hello.extensions);
    println!("reqwest: suites {suites:04x?}\n  extensions {extensions:04x?}");
    assert!(!suites.iter().any(grease));
    assert!(!extensions.contains(&COMPRESS_CERTIFICATE));
}
