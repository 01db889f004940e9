//! A listener that records the first TLS ClientHello a replay sends it and hangs up (no
//! certificate needed: the handshake never completes), so a test can read the fingerprint and
//! the server name the client presented.

use std::time::Duration;

use recon_contracts::ReplayProfile;
use recon_validation::proxy::Route;
use recon_validation::transport::{Hop, HttpTransport, Transport};
use tokio::io::AsyncReadExt;

/// What a ClientHello offered.
pub struct ClientHello {
    pub suites: Vec<u16>,
    pub extensions: Vec<u16>,
    /// The SNI host name, when the client sent one.
    pub server_name: Option<String>,
}

/// The ClientHello `profile` sends for `https://<host>:<port>/api` over `route`, where `host`
/// stands for the recorder's loopback address.
pub async fn client_hello_of(profile: ReplayProfile, host: &str, route: &Route) -> ClientHello {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let recorder = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).await.unwrap();
        assert_eq!(header[0], 0x16, "a TLS handshake record");
        let mut record = vec![0u8; u16::from_be_bytes([header[3], header[4]]) as usize];
        stream.read_exact(&mut record).await.unwrap();
        record
    });
    let url = url::Url::parse(&format!("https://{host}:{}/api", address.port())).unwrap();
    let target = recon_validation::guard::VettedTarget {
        host: host.to_owned(),
        address,
        url: url.clone(),
    };
    let request = recon_validation::request::ReplayRequest {
        method: "GET".to_owned(),
        url: url.to_string(),
        headers: vec![(
            "user-agent".to_owned(),
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36".to_owned(),
        )],
        cookies: Vec::new(),
        body: None,
    };
    let sent = HttpTransport
        .send(Hop {
            target: &target,
            request: &request,
            profile,
            route,
            timeout: Duration::from_secs(10),
        })
        .await;
    assert!(sent.is_err(), "the recorder never completes a handshake");
    let record = tokio::time::timeout(Duration::from_secs(10), recorder)
        .await
        .expect("a ClientHello reached the recorder")
        .unwrap();
    parse(&record)
}

fn parse(record: &[u8]) -> ClientHello {
    let u16_at = |at: usize| u16::from_be_bytes([record[at], record[at + 1]]);
    // Handshake header (4), version (2), random (32), then the variable parts.
    let mut at = 4 + 2 + 32;
    at += 1 + record[at] as usize;
    let suites_len = u16_at(at) as usize;
    let suites = record[at + 2..at + 2 + suites_len]
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    at += 2 + suites_len;
    at += 1 + record[at] as usize;
    let extensions_end = at + 2 + u16_at(at) as usize;
    at += 2;
    let mut extensions = Vec::new();
    let mut server_name = None;
    while at + 4 <= extensions_end.min(record.len()) {
        let (kind, length) = (u16_at(at), u16_at(at + 2) as usize);
        if kind == 0 {
            // server_name: list length (2), name type (1), name length (2), name.
            let name_length = u16_at(at + 4 + 3) as usize;
            let start = at + 4 + 5;
            server_name =
                Some(String::from_utf8_lossy(&record[start..start + name_length]).into_owned());
        }
        extensions.push(kind);
        at += 4 + length;
    }
    ClientHello {
        suites,
        extensions,
        server_name,
    }
}
