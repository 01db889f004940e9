//! Two proxies on 127.0.0.1 for the validation tests, each leaving from its own loopback
//! address so the site can tell the tiers apart: an HTTP proxy (absolute-form forwarding and
//! CONNECT) whose outgoing sockets bind 127.0.0.2 ("datacenter"), and a SOCKS5 proxy with
//! username/password auth whose outgoing sockets bind 127.0.0.3 ("residential"). Both require
//! credentials, record what every client asked for exactly as it asked (a CONNECT authority, an
//! absolute-form URL, a SOCKS address type), record the username of every relayed connection
//! (sticky sessions show up there), and refuse to connect anywhere outside 127.0.0.0/8. Like
//! real proxies they resolve a name they are given themselves, here only `localhost`: a name
//! reaching them is what the validation stage must never send.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

pub const DATACENTER_EGRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
pub const RESIDENTIAL_EGRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// One connection a proxy made for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    pub username: String,
    pub target: SocketAddr,
}

/// What an authenticated client asked a proxy for, before the proxy resolved anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// `CONNECT <authority>`: a tunnel.
    Connect(String),
    /// `GET http://host/path`: an absolute-form request the proxy forwards itself.
    AbsoluteForm(String),
    /// SOCKS5 CONNECT with an IPv4 or IPv6 address (ATYP 1 or 4).
    SocksAddress(SocketAddr),
    /// SOCKS5 CONNECT with a domain name (ATYP 3): the proxy resolves it.
    SocksName(String, u16),
}

impl Asked {
    /// A tunnel to an IP address and port: the only request validation may make of a proxy.
    pub fn is_tunnel_to_an_ip(&self) -> bool {
        match self {
            Asked::Connect(authority) => authority.parse::<SocketAddr>().is_ok(),
            Asked::SocksAddress(_) => true,
            Asked::AbsoluteForm(_) | Asked::SocksName(..) => false,
        }
    }
}

pub struct TestProxy {
    pub address: SocketAddr,
    pub username: String,
    pub password: String,
    kind: Kind,
    log: Arc<ProxyLog>,
    shutdown: CancellationToken,
}

#[derive(Default)]
struct ProxyLog {
    asked: Mutex<Vec<Asked>>,
    relayed: Mutex<Vec<Relayed>>,
}

impl ProxyLog {
    fn asked(&self, asked: Asked) {
        self.asked.lock().expect("asked log").push(asked);
    }

    fn relayed(&self, username: &str, target: SocketAddr) {
        self.relayed.lock().expect("relay log").push(Relayed {
            username: username.to_owned(),
            target,
        });
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Http,
    Socks5,
}

impl TestProxy {
    /// The HTTP forward/CONNECT proxy, egress 127.0.0.2.
    pub async fn http(username: &str, password: &str) -> TestProxy {
        Self::start(Kind::Http, DATACENTER_EGRESS, username, password).await
    }

    /// The SOCKS5 proxy, egress 127.0.0.3.
    pub async fn socks5(username: &str, password: &str) -> TestProxy {
        Self::start(Kind::Socks5, RESIDENTIAL_EGRESS, username, password).await
    }

    /// The URL with credentials, as it goes into the proxy secret.
    pub fn url(&self) -> String {
        let scheme = match self.kind {
            Kind::Http => "http",
            Kind::Socks5 => "socks5",
        };
        format!(
            "{scheme}://{}:{}@{}",
            self.username, self.password, self.address
        )
    }

    pub fn relayed(&self) -> Vec<Relayed> {
        self.log.relayed.lock().expect("relay log").clone()
    }

    /// Every request an authenticated client made, as it made it.
    pub fn asked(&self) -> Vec<Asked> {
        self.log.asked.lock().expect("asked log").clone()
    }

    async fn start(kind: Kind, egress: Ipv4Addr, username: &str, password: &str) -> TestProxy {
        let password = password.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let log = Arc::new(ProxyLog::default());
        let shutdown = CancellationToken::new();
        let (stop, task_log) = (shutdown.clone(), log.clone());
        let credentials = (username.to_owned(), password.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((client, _)) = accepted else { continue };
                let (log, credentials, stop) =
                    (task_log.clone(), credentials.clone(), stop.clone());
                tokio::spawn(async move {
                    let relay = async {
                        match kind {
                            Kind::Http => serve_http(client, egress, &credentials, &log).await,
                            Kind::Socks5 => serve_socks5(client, egress, &credentials, &log).await,
                        }
                    };
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = relay => {}
                    }
                });
            }
        });
        TestProxy {
            address,
            username: username.to_owned(),
            password,
            kind,
            log,
            shutdown,
        }
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Accepts `user` or `user-session-<id>` with the right password; returns the username given.
fn authorised(username: &str, password: &str, credentials: &(String, String)) -> bool {
    let base_ok = username == credentials.0
        || username
            .strip_prefix(&format!("{}-session-", credentials.0))
            .is_some_and(|id| !id.is_empty());
    base_ok && password == credentials.1
}

async fn connect_from(egress: Ipv4Addr, target: SocketAddr) -> std::io::Result<TcpStream> {
    if !target.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "test proxies only reach 127.0.0.0/8",
        ));
    }
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(egress), 0))?;
    socket.connect(target).await
}

async fn resolve_loopback(host: &str, port: u16) -> Option<SocketAddr> {
    let host = host.trim_matches(['[', ']']);
    let ip: IpAddr = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other.parse().ok()?,
    };
    Some(SocketAddr::new(ip, port))
}

async fn serve_http(
    mut client: TcpStream,
    egress: Ipv4Addr,
    credentials: &(String, String),
    log: &ProxyLog,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        if buffer.len() > 64 << 10 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let rest = buffer[head_end..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let username = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .and_then(|(_, value)| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            let (user, pass) = pair.split_once(':')?;
            authorised(user, pass, credentials).then(|| user.to_owned())
        });
    let Some(username) = username else {
        client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    };
    let mut parts = request_line.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    if method == "CONNECT" {
        log.asked(Asked::Connect(target.to_owned()));
        let (host, port) = target.rsplit_once(':').unwrap_or((target, "443"));
        let Some(address) = resolve_loopback(host, port.parse().unwrap_or(443)).await else {
            client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                .await?;
            return Ok(());
        };
        let mut upstream = connect_from(egress, address).await?;
        log.relayed(&username, address);
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        upstream.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute-form: http://host:port/path
    log.asked(Asked::AbsoluteForm(target.to_owned()));
    let Some(after_scheme) = target.strip_prefix("http://") else {
        client
            .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(index) => (&after_scheme[..index], &after_scheme[index..]),
        None => (after_scheme, "/"),
    };
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    let Some(address) = resolve_loopback(host, port.parse().unwrap_or(80)).await else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    };
    let mut upstream = connect_from(egress, address).await?;
    log.relayed(&username, address);
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower == "connection" {
            continue;
        }
        forwarded.push_str(&format!("{name}: {value}\r\n"));
    }
    // One request per connection keeps the relay simple and the log exact.
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

async fn serve_socks5(
    mut client: TcpStream,
    egress: Ipv4Addr,
    credentials: &(String, String),
    log: &ProxyLog,
) -> std::io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    if greeting[0] != 5 {
        return Ok(());
    }
    let mut methods = vec![0u8; greeting[1] as usize];
    client.read_exact(&mut methods).await?;
    if !methods.contains(&2) {
        client.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    client.write_all(&[5, 2]).await?;
    // RFC 1929 username/password.
    let mut version_and_length = [0u8; 2];
    client.read_exact(&mut version_and_length).await?;
    let mut username = vec![0u8; version_and_length[1] as usize];
    client.read_exact(&mut username).await?;
    let mut password_length = [0u8; 1];
    client.read_exact(&mut password_length).await?;
    let mut password = vec![0u8; password_length[0] as usize];
    client.read_exact(&mut password).await?;
    let username = String::from_utf8_lossy(&username).to_string();
    let password = String::from_utf8_lossy(&password).to_string();
    if !authorised(&username, &password, credentials) {
        client.write_all(&[1, 1]).await?;
        return Ok(());
    }
    client.write_all(&[1, 0]).await?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    if request[1] != 1 {
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut length = [0u8; 1];
            client.read_exact(&mut length).await?;
            let mut name = vec![0u8; length[0] as usize];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            std::net::Ipv6Addr::from(ip).to_string()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let port = u16::from_be_bytes(port);
    log.asked(match host.parse::<IpAddr>() {
        Ok(ip) if request[3] != 3 => Asked::SocksAddress(SocketAddr::new(ip, port)),
        _ => Asked::SocksName(host.clone(), port),
    });
    let upstream = match resolve_loopback(&host, port).await {
        Some(address) => connect_from(egress, address)
            .await
            .map(|stream| (stream, address)),
        None => Err(std::io::Error::other("not a loopback target")),
    };
    let (mut upstream, address) = match upstream {
        Ok(connected) => connected,
        Err(_) => {
            client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    log.relayed(&username, address);
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
