//! The seam between the cascade and the network: one vetted hop in, one response out.
//!
//! [`HttpTransport`] sends with reqwest (`plain`, `browser-headers`, `browser-session`) or wreq
//! with a Chrome emulation profile (`impersonate`). Every client is built for one hop, with
//! redirects off, a resolver that resolves nothing, and the hop's [`Tunnel`] as its only proxy:
//! both clients reach the network the same way, through the tunnel, which connects to the
//! vetted address and nowhere else. Errors are reduced to text without URLs, since client
//! errors quote them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use recon_contracts::{Header, ReplayProfile};

use crate::guard::VettedTarget;
use crate::proxy::Route;
use crate::request::ReplayRequest;
use crate::tunnel::{Tunnel, TunnelError};

/// Most of a response body that is read; the rest is not needed to judge it.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// The Chrome version `impersonate` presents when the captured request names none.
pub const DEFAULT_CHROME: u32 = 145;

/// One request to one vetted address.
#[derive(Debug)]
pub struct Hop<'a> {
    pub target: &'a VettedTarget,
    pub request: &'a ReplayRequest,
    pub profile: ReplayProfile,
    pub route: &'a Route,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Bytes,
    /// The body was longer than [`MAX_BODY_BYTES`].
    pub truncated: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        recon_contracts::header_value(&self.headers, name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
    /// The operator's proxy failed or refused; the text says which, without naming it.
    #[error("{0}")]
    Proxy(String),
    #[error("{0}")]
    Other(String),
}

pub type Sending<'a> =
    Pin<Box<dyn Future<Output = Result<RawResponse, TransportError>> + Send + 'a>>;

/// Sends one hop. Tests substitute implementations that record or refuse.
pub trait Transport: Send + Sync {
    fn send<'a>(&'a self, hop: Hop<'a>) -> Sending<'a>;
}

/// The real network.
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpTransport;

impl Transport for HttpTransport {
    fn send<'a>(&'a self, hop: Hop<'a>) -> Sending<'a> {
        Box::pin(async move {
            let tunnel = Tunnel::open(hop.target, hop.route, hop.timeout).await?;
            let sent = match hop.profile {
                ReplayProfile::Impersonate => send_wreq(&hop, &tunnel).await,
                _ => send_reqwest(&hop, &tunnel).await,
            };
            // The client only sees a failed SOCKS handshake; the tunnel knows what failed.
            sent.map_err(|error| tunnel.failure().map_or(error, TransportError::from))
        })
    }
}

/// The resolver of every replay client: the tunnel is an IP literal and the target's name goes
/// to the tunnel unresolved, so a lookup means something tried to go around the tunnel.
#[derive(Debug, Clone, Copy)]
struct NoLookups;

fn refused_lookup() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        "replay clients resolve no names; the tunnel connects",
    )
}

impl reqwest::dns::Resolve for NoLookups {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async { Err(refused_lookup().into()) })
    }
}

impl wreq::dns::Resolve for NoLookups {
    fn resolve(&self, _: wreq::dns::Name) -> wreq::dns::Resolving {
        Box::pin(async { Err(refused_lookup().into()) })
    }
}

impl From<TunnelError> for TransportError {
    fn from(error: TunnelError) -> TransportError {
        match error {
            TunnelError::Timeout => TransportError::Timeout,
            TunnelError::Connect(text) => TransportError::Connect(text),
            error if error.is_proxy() => TransportError::Proxy(error.to_string()),
            error => TransportError::Other(error.to_string()),
        }
    }
}

fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

fn tunnel_unusable() -> TransportError {
    TransportError::Other("the replay tunnel's URL is not usable".to_owned())
}

async fn send_reqwest(hop: &Hop<'_>, tunnel: &Tunnel) -> Result<RawResponse, TransportError> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(hop.timeout)
        .connect_timeout(hop.timeout)
        .pool_max_idle_per_host(0)
        .dns_resolver(Arc::new(NoLookups))
        .proxy(reqwest::Proxy::all(tunnel.client_proxy_url()).map_err(|_| tunnel_unusable())?)
        .build()
        .map_err(|err| TransportError::Other(describe(&err.without_url())))?;
    let method = reqwest::Method::from_bytes(hop.request.method.as_bytes())
        .map_err(|_| TransportError::Other(format!("bad method {}", hop.request.method)))?;
    let mut request = client.request(method, hop.target.url.clone());
    for (name, value) in &hop.request.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(cookies) = hop.request.cookie_header() {
        request = request.header("cookie", cookies);
    }
    if let Some(body) = &hop.request.body {
        request = request.body(body.clone());
    }
    let classify = |err: reqwest::Error| {
        let (timeout, connect) = (err.is_timeout(), err.is_connect());
        let text = describe(&err.without_url());
        if timeout {
            TransportError::Timeout
        } else if connect {
            TransportError::Connect(text)
        } else {
            TransportError::Other(text)
        }
    };
    let mut response = request.send().await.map_err(classify)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| Header::new(name.as_str(), String::from_utf8_lossy(value.as_bytes())))
        .collect();
    let mut body = BytesMut::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            body.extend_from_slice(&chunk[..MAX_BODY_BYTES - body.len()]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse {
        status,
        headers,
        body: body.freeze(),
        truncated,
    })
}

async fn send_wreq(hop: &Hop<'_>, tunnel: &Tunnel) -> Result<RawResponse, TransportError> {
    let client = wreq::Client::builder()
        .emulation(
            wreq_util::Emulation::builder()
                .profile(chrome_profile(captured_chrome_major(hop.request)))
                .build(),
        )
        .redirect(wreq::redirect::Policy::none())
        .timeout(hop.timeout)
        .connect_timeout(hop.timeout)
        .pool_max_idle_per_host(0)
        .dns_resolver(NoLookups)
        .proxy(wreq::Proxy::all(tunnel.client_proxy_url()).map_err(|_| tunnel_unusable())?)
        .build()
        .map_err(|err| TransportError::Other(describe(&err)))?;
    let method = wreq::Method::from_bytes(hop.request.method.as_bytes())
        .map_err(|_| TransportError::Other(format!("bad method {}", hop.request.method)))?;
    let mut request = client.request(method, hop.target.url.as_str());
    for (name, value) in &hop.request.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(cookies) = hop.request.cookie_header() {
        request = request.header("cookie", cookies);
    }
    if let Some(body) = &hop.request.body {
        request = request.body(body.clone());
    }
    let classify = |err: wreq::Error| {
        let (timeout, connect) = (err.is_timeout(), err.is_connect() || err.is_proxy_connect());
        // The URL may carry tokens in its query; the attempt row names the endpoint already.
        let text = describe(&err.without_uri());
        if timeout {
            TransportError::Timeout
        } else if connect {
            TransportError::Connect(text)
        } else {
            TransportError::Other(text)
        }
    };
    let response = request.send().await.map_err(classify)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| Header::new(name.as_str(), String::from_utf8_lossy(value.as_bytes())))
        .collect();
    let mut stream = response.bytes_stream();
    let mut body = BytesMut::new();
    let mut truncated = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(classify)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            body.extend_from_slice(&chunk[..MAX_BODY_BYTES - body.len()]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse {
        status,
        headers,
        body: body.freeze(),
        truncated,
    })
}

/// The Chrome major version of the captured User-Agent (`… Chrome/131.0.0.0 …`).
pub fn captured_chrome_major(request: &ReplayRequest) -> Option<u32> {
    let agent = request
        .headers
        .iter()
        .find(|(name, _)| name == "user-agent")
        .map(|(_, value)| value.as_str())?;
    let version = agent.split("Chrome/").nth(1)?;
    version.split('.').next()?.parse().ok()
}

/// The emulation profile closest to the browser that made the capture: the newest profile not
/// newer than it, so the TLS fingerprint and the captured User-Agent tell the same story.
pub fn chrome_profile(major: Option<u32>) -> wreq_util::Profile {
    let available: Vec<(u32, wreq_util::Profile)> = wreq_util::Profile::VARIANTS
        .iter()
        .filter_map(|profile| {
            let name = format!("{profile:?}");
            let version = name.strip_prefix("Chrome")?.parse().ok()?;
            Some((version, *profile))
        })
        .collect();
    let wanted = major.unwrap_or(DEFAULT_CHROME);
    available
        .iter()
        .filter(|(version, _)| *version <= wanted)
        .max_by_key(|(version, _)| *version)
        .or_else(|| available.iter().min_by_key(|(version, _)| *version))
        .map(|(_, profile)| *profile)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_agent(agent: &str) -> ReplayRequest {
        ReplayRequest {
            method: "GET".into(),
            url: "https://shop.example/".into(),
            headers: vec![("user-agent".into(), agent.into())],
            cookies: Vec::new(),
            body: None,
        }
    }

    #[test]
    fn impersonates_the_captured_chrome_version() {
        let chrome_131 = with_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
        assert_eq!(captured_chrome_major(&chrome_131), Some(131));
        assert_eq!(chrome_profile(Some(131)), wreq_util::Profile::Chrome131);
        // No 111 profile: the newest one before it.
        assert_eq!(chrome_profile(Some(111)), wreq_util::Profile::Chrome110);
        assert_eq!(chrome_profile(Some(20)), wreq_util::Profile::Chrome100);
        assert_eq!(chrome_profile(None), wreq_util::Profile::Chrome145);
        assert_eq!(captured_chrome_major(&with_agent("curl/8.0")), None);
    }
}
