//! The only way a replay reaches the network: a tunnel opened for one hop. It is a SOCKS5
//! listener on loopback with a random credential that the hop's HTTP client (reqwest or wreq)
//! is told to use as its proxy, in `socks5h` mode so the client resolves nothing. It accepts
//! only the vetted host and port and dials the vetted address itself: straight out, or through
//! the operator's proxy asked for a tunnel to that IP (HTTP `CONNECT ip:port`, also for plain
//! http targets; SOCKS5 with an IPv4 or IPv6 address, never a name), so no proxy ever resolves
//! a name. The client still speaks to the site end to end: TLS with the name as SNI, the Host
//! header with the name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use rand::Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use crate::guard::VettedTarget;
use crate::proxy::Route;

/// The longest answer head to a CONNECT that is read before giving up on the proxy.
const MAX_CONNECT_ANSWER: usize = 16 << 10;

/// SOCKS5 reply codes (RFC 1928 §6) the tunnel answers its client with.
const SUCCEEDED: u8 = 0;
const GENERAL_FAILURE: u8 = 1;
const NOT_ALLOWED: u8 = 2;
const HOST_UNREACHABLE: u8 = 4;
const CONNECTION_REFUSED: u8 = 5;
const COMMAND_NOT_SUPPORTED: u8 = 7;
const ADDRESS_TYPE_NOT_SUPPORTED: u8 = 8;

/// Why a tunnel could not carry a replay. The texts name no address and no proxy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TunnelError {
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("the proxy URL is not usable: {0}")]
    ProxyUrl(&'static str),
    #[error("could not reach the proxy: {0}")]
    ProxyUnreachable(String),
    #[error("the proxy refused the tunnel: {0}")]
    ProxyRefused(String),
    /// The replay client broke the protocol or asked for another destination.
    #[error("the replay client misused the tunnel: {0}")]
    Client(String),
}

impl TunnelError {
    /// Whether the operator's proxy is to blame.
    pub fn is_proxy(&self) -> bool {
        matches!(
            self,
            TunnelError::ProxyUrl(_)
                | TunnelError::ProxyUnreachable(_)
                | TunnelError::ProxyRefused(_)
        )
    }

    fn socks_reply(&self) -> u8 {
        match self {
            TunnelError::Timeout => HOST_UNREACHABLE,
            TunnelError::Connect(_) => CONNECTION_REFUSED,
            TunnelError::Client(_) => NOT_ALLOWED,
            _ => GENERAL_FAILURE,
        }
    }
}

/// A one-hop tunnel; dropping it closes the listener and every connection it carries.
pub struct Tunnel {
    address: SocketAddr,
    credential: String,
    failure: Arc<Mutex<Option<TunnelError>>>,
    task: JoinHandle<()>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What every connection through one tunnel does.
struct Plan {
    /// The URL's host as the client names it (lower case, IPv6 without brackets).
    host: String,
    target: SocketAddr,
    route: Route,
    credential: String,
    timeout: Duration,
    failure: Arc<Mutex<Option<TunnelError>>>,
}

impl Plan {
    fn leads_to(&self, destination: &Destination) -> bool {
        destination.port == self.target.port()
            && (destination.host.eq_ignore_ascii_case(&self.host)
                || destination.host.parse::<IpAddr>().ok() == Some(self.target.ip()))
    }

    /// Keeps the first failure: the one that explains the client's error.
    fn failed(&self, error: TunnelError) {
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failure.get_or_insert(error);
    }
}

impl Tunnel {
    /// Opens a tunnel to `target` over `route`; `timeout` bounds reaching the target.
    pub async fn open(
        target: &VettedTarget,
        route: &Route,
        timeout: Duration,
    ) -> Result<Tunnel, TunnelError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|err| TunnelError::Client(format!("cannot listen on loopback: {err}")))?;
        let address = listener
            .local_addr()
            .map_err(|err| TunnelError::Client(format!("cannot listen on loopback: {err}")))?;
        let credential = random_credential();
        let failure = Arc::new(Mutex::new(None));
        let plan = Arc::new(Plan {
            host: target
                .url
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_ascii_lowercase(),
            target: target.address,
            route: route.clone(),
            credential: credential.clone(),
            timeout,
            failure: failure.clone(),
        });
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { return };
                        let plan = plan.clone();
                        connections.spawn(async move {
                            if let Err(error) = carry(client, &plan).await {
                                plan.failed(error);
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Tunnel {
            address,
            credential,
            failure,
            task,
        })
    }

    /// The proxy URL for the hop's HTTP client: SOCKS5 with remote resolution, so the client
    /// hands the tunnel the name instead of resolving it.
    pub fn client_proxy_url(&self) -> String {
        format!("socks5h://replay:{}@{}", self.credential, self.address)
    }

    /// Why a connection through the tunnel failed, if one did.
    pub fn failure(&self) -> Option<TunnelError> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn random_credential() -> String {
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| char::from(rng.sample(rand::distributions::Alphanumeric)))
        .collect()
}

/// Where the client asked to go: a name or an IP address as text, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Destination {
    host: String,
    port: u16,
}

/// One client connection: the SOCKS5 handshake, the dial, then bytes both ways.
async fn carry(mut client: TcpStream, plan: &Plan) -> Result<(), TunnelError> {
    let destination = accept_socks(&mut client, &plan.credential).await?;
    if !plan.leads_to(&destination) {
        let _ = reply(&mut client, NOT_ALLOWED).await;
        return Err(TunnelError::Client(
            "it asked for a destination other than the vetted one".to_owned(),
        ));
    }
    let dialled = tokio::time::timeout(plan.timeout, dial(plan.target, &plan.route))
        .await
        .unwrap_or(Err(TunnelError::Timeout));
    let (mut upstream, early_bytes) = match dialled {
        Ok(connected) => connected,
        Err(error) => {
            let _ = reply(&mut client, error.socks_reply()).await;
            return Err(error);
        }
    };
    let client_gone = |err: std::io::Error| TunnelError::Client(err.to_string());
    reply(&mut client, SUCCEEDED).await.map_err(client_gone)?;
    client.write_all(&early_bytes).await.map_err(client_gone)?;
    // Either side closing ends the exchange; what was relayed is the client's to judge.
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}

/// The server side of SOCKS5 (RFC 1928) with username/password (RFC 1929): only CONNECT, only
/// with the tunnel's credential.
async fn accept_socks(
    client: &mut TcpStream,
    credential: &str,
) -> Result<Destination, TunnelError> {
    let misuse = |what: &str| TunnelError::Client(what.to_owned());
    let io = |err: std::io::Error| TunnelError::Client(err.to_string());
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await.map_err(io)?;
    if greeting[0] != 5 {
        return Err(misuse("not SOCKS5"));
    }
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await.map_err(io)?;
    if !methods.contains(&2) {
        client.write_all(&[5, 0xff]).await.map_err(io)?;
        return Err(misuse("no username/password authentication offered"));
    }
    client.write_all(&[5, 2]).await.map_err(io)?;
    let mut version_and_length = [0u8; 2];
    client
        .read_exact(&mut version_and_length)
        .await
        .map_err(io)?;
    let mut username = vec![0u8; usize::from(version_and_length[1])];
    client.read_exact(&mut username).await.map_err(io)?;
    let mut password_length = [0u8; 1];
    client.read_exact(&mut password_length).await.map_err(io)?;
    let mut password = vec![0u8; usize::from(password_length[0])];
    client.read_exact(&mut password).await.map_err(io)?;
    if password != credential.as_bytes() {
        client.write_all(&[1, 1]).await.map_err(io)?;
        return Err(misuse("a wrong credential"));
    }
    client.write_all(&[1, 0]).await.map_err(io)?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await.map_err(io)?;
    if request[0] != 5 || request[1] != 1 {
        let _ = reply(client, COMMAND_NOT_SUPPORTED).await;
        return Err(misuse("a command other than CONNECT"));
    }
    let host = match request[3] {
        1 => {
            let mut octets = [0u8; 4];
            client.read_exact(&mut octets).await.map_err(io)?;
            Ipv4Addr::from(octets).to_string()
        }
        4 => {
            let mut octets = [0u8; 16];
            client.read_exact(&mut octets).await.map_err(io)?;
            Ipv6Addr::from(octets).to_string()
        }
        3 => {
            let mut length = [0u8; 1];
            client.read_exact(&mut length).await.map_err(io)?;
            let mut name = vec![0u8; usize::from(length[0])];
            client.read_exact(&mut name).await.map_err(io)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => {
            let _ = reply(client, ADDRESS_TYPE_NOT_SUPPORTED).await;
            return Err(misuse("an unknown address type"));
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await.map_err(io)?;
    Ok(Destination {
        host,
        port: u16::from_be_bytes(port),
    })
}

async fn reply(client: &mut TcpStream, code: u8) -> std::io::Result<()> {
    client.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}

/// A byte stream to the target, however it was reached.
trait Upstream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Upstream for T {}

/// A connection to `target` and any bytes the proxy sent past its answer.
type Dialled = (Box<dyn Upstream>, Vec<u8>);

async fn dial(target: SocketAddr, route: &Route) -> Result<Dialled, TunnelError> {
    let Route::Proxy { url, .. } = route else {
        let stream = TcpStream::connect(target)
            .await
            .map_err(|err| TunnelError::Connect(err.to_string()))?;
        let _ = stream.set_nodelay(true);
        return Ok((Box::new(stream), Vec::new()));
    };
    let proxy = ProxyServer::parse(url)?;
    // The operator's proxy host is configuration, resolved by the system like any service's.
    let stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|err| TunnelError::ProxyUnreachable(err.to_string()))?;
    let _ = stream.set_nodelay(true);
    match proxy.kind {
        ProxyKind::Http => http_connect(stream, target, &proxy).await,
        ProxyKind::Https => {
            let tls = tls_to(stream, &proxy.host).await?;
            http_connect(tls, target, &proxy).await
        }
        ProxyKind::Socks5 => socks5_connect(stream, target, &proxy).await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxyKind {
    Http,
    Https,
    Socks5,
}

/// The operator's proxy, from its URL.
struct ProxyServer {
    kind: ProxyKind,
    host: String,
    port: u16,
    /// Username and password, percent-decoded.
    credentials: Option<(String, String)>,
}

impl ProxyServer {
    fn parse(url: &Url) -> Result<ProxyServer, TunnelError> {
        let kind = match url.scheme() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            // The tunnel always sends the proxy an address, so both spellings mean the same.
            "socks5" | "socks5h" => ProxyKind::Socks5,
            _ => return Err(TunnelError::ProxyUrl("an unsupported scheme")),
        };
        let host = url
            .host_str()
            .ok_or(TunnelError::ProxyUrl("no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port().unwrap_or(match kind {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            ProxyKind::Socks5 => 1080,
        });
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!url.username().is_empty()).then(|| {
            (
                decode(url.username()),
                decode(url.password().unwrap_or_default()),
            )
        });
        Ok(ProxyServer {
            kind,
            host,
            port,
            credentials,
        })
    }
}

/// `CONNECT ip:port` over an HTTP proxy connection; the answer must be 2xx.
async fn http_connect<S: Upstream + 'static>(
    mut stream: S,
    target: SocketAddr,
    proxy: &ProxyServer,
) -> Result<Dialled, TunnelError> {
    let lost = |err: std::io::Error| TunnelError::ProxyUnreachable(err.to_string());
    // SocketAddr prints IPv6 in brackets, as an authority wants it.
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((username, password)) = &proxy.credentials {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        head.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(lost)?;
    let mut answer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 2048];
        let read = stream.read(&mut chunk).await.map_err(lost)?;
        if read == 0 {
            return Err(TunnelError::ProxyRefused(
                "it closed the connection without an answer".to_owned(),
            ));
        }
        answer.extend_from_slice(&chunk[..read]);
        if let Some(end) = answer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        if answer.len() > MAX_CONNECT_ANSWER {
            return Err(TunnelError::ProxyRefused("an over-long answer".to_owned()));
        }
    };
    let status_line = String::from_utf8_lossy(&answer[..head_end])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut parts = status_line.split_whitespace();
    let status = match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code.parse::<u16>().ok(),
        _ => None,
    };
    match status {
        Some(200..=299) => Ok((Box::new(stream), answer[head_end..].to_vec())),
        Some(code) => Err(TunnelError::ProxyRefused(format!("HTTP {code}"))),
        None => Err(TunnelError::ProxyRefused(
            "an answer that is not HTTP/1.x".to_owned(),
        )),
    }
}

/// SOCKS5 CONNECT with the target's IP (address type 1 or 4).
async fn socks5_connect(
    stream: TcpStream,
    target: SocketAddr,
    proxy: &ProxyServer,
) -> Result<Dialled, TunnelError> {
    let connected = match &proxy.credentials {
        Some((username, password)) => {
            tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(
                stream, target, username, password,
            )
            .await
        }
        None => tokio_socks::tcp::Socks5Stream::connect_with_socket(stream, target).await,
    };
    match connected {
        Ok(socks) => Ok((Box::new(socks.into_inner()), Vec::new())),
        Err(tokio_socks::Error::Io(err)) => Err(TunnelError::ProxyUnreachable(err.to_string())),
        Err(err) => Err(TunnelError::ProxyRefused(err.to_string())),
    }
}

/// TLS to an `https://` proxy, checked against the public web roots.
async fn tls_to(
    stream: TcpStream,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, TunnelError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG
        .get_or_init(|| {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|err| err.to_string())
        })
        .clone()
        .map_err(TunnelError::ProxyUnreachable)?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| TunnelError::ProxyUrl("a host that is not a TLS server name"))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|err| TunnelError::ProxyUnreachable(format!("TLS: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_socks::tcp::Socks5Stream;

    /// A loopback server that echoes what it reads.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                });
            }
        });
        address
    }

    fn vetted(host: &str, address: SocketAddr) -> VettedTarget {
        VettedTarget {
            url: Url::parse(&format!("http://{host}:{}/", address.port())).unwrap(),
            host: host.to_owned(),
            address,
        }
    }

    async fn open(target: &VettedTarget, route: &Route) -> Tunnel {
        Tunnel::open(target, route, Duration::from_secs(5))
            .await
            .unwrap()
    }

    /// Connects through `tunnel` to `host:port` as its client would, with `password`.
    async fn connect(
        tunnel: &Tunnel,
        host: &str,
        port: u16,
        password: &str,
    ) -> Result<TcpStream, tokio_socks::Error> {
        Socks5Stream::connect_with_password(tunnel.address, (host, port), "replay", password)
            .await
            .map(Socks5Stream::into_inner)
    }

    #[tokio::test]
    async fn the_client_reaches_the_vetted_address_by_its_name() {
        let echo = echo_server().await;
        let tunnel = open(&vetted("shop.test", echo), &Route::Direct).await;
        assert!(tunnel.client_proxy_url().starts_with("socks5h://replay:"));
        let mut stream = connect(&tunnel, "SHOP.test", echo.port(), &tunnel.credential)
            .await
            .unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut answer = [0u8; 4];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ping");
        assert_eq!(tunnel.failure(), None);
    }

    #[tokio::test]
    async fn another_destination_or_a_wrong_credential_is_refused() {
        let echo = echo_server().await;
        let tunnel = open(&vetted("shop.test", echo), &Route::Direct).await;
        for (host, port, password) in [
            ("elsewhere.test", echo.port(), tunnel.credential.as_str()),
            (
                "shop.test",
                echo.port().wrapping_add(1),
                tunnel.credential.as_str(),
            ),
            ("shop.test", echo.port(), "guessed"),
        ] {
            assert!(
                connect(&tunnel, host, port, password).await.is_err(),
                "{host}:{port} with {password}"
            );
        }
        assert!(matches!(tunnel.failure(), Some(TunnelError::Client(_))));
    }

    #[tokio::test]
    async fn an_http_proxy_is_asked_to_connect_to_the_ip_with_the_decoded_credentials() {
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_address = proxy.local_addr().unwrap();
        let asked = tokio::spawn(async move {
            let (mut stream, _) = proxy.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            stream
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(head).unwrap()
        });
        let target: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let route = Route::Proxy {
            tier: recon_contracts::NetworkTier::Datacenter,
            url: Url::parse(&format!("http://us%20er:p%40ss@{proxy_address}")).unwrap(),
        };
        let tunnel = open(&vetted("shop.test", target), &route).await;
        assert!(connect(&tunnel, "shop.test", 8443, &tunnel.credential)
            .await
            .is_err());
        let head = asked.await.unwrap();
        let token = base64::engine::general_purpose::STANDARD.encode("us er:p@ss");
        assert_eq!(
            head,
            format!(
                "CONNECT 127.0.0.1:8443 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nProxy-Authorization: Basic {token}\r\n\r\n"
            )
        );
        let failure = tunnel.failure().expect("the tunnel says what failed");
        assert_eq!(failure, TunnelError::ProxyRefused("HTTP 407".to_owned()));
        assert!(failure.is_proxy());
    }
}
