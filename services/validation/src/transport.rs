//! The seam between the cascade and the network: one vetted hop in, one response out.
//!
//! [`HttpTransport`] sends with reqwest (`plain`, `browser-headers`, `browser-session`) or wreq
//! with a Chrome emulation profile (`impersonate`). Every client is built for one hop, with
//! redirects off and a resolver that knows only the vetted address of the target (and, on a
//! proxied route, the operator's proxy host): the client cannot resolve a name the guard has
//! not checked. Errors are reduced to redacted text, since client errors quote URLs.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use recon_contracts::{Header, ReplayProfile};

use crate::guard::VettedTarget;
use crate::proxy::Route;
use crate::request::ReplayRequest;

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
    #[error("the proxy refused or failed: {0}")]
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
            match hop.profile {
                ReplayProfile::Impersonate => send_wreq(&hop).await,
                _ => send_reqwest(&hop).await,
            }
        })
    }
}

/// Resolves the pinned target name to its vetted address and the proxy host through the
/// system; every other name fails.
#[derive(Debug, Clone)]
struct PinnedResolver {
    target_host: String,
    target: SocketAddr,
    proxy_host: Option<String>,
}

impl PinnedResolver {
    fn for_hop(hop: &Hop<'_>) -> PinnedResolver {
        PinnedResolver {
            target_host: hop
                .target
                .host
                .trim_matches(['[', ']'])
                .to_ascii_lowercase(),
            target: hop.target.address,
            proxy_host: match hop.route {
                Route::Direct => None,
                Route::Proxy { url, .. } => url.host_str().map(str::to_ascii_lowercase),
            },
        }
    }

    async fn lookup(self, name: String) -> Result<Vec<SocketAddr>, std::io::Error> {
        let name = name.to_ascii_lowercase();
        if self.proxy_host.as_deref() == Some(name.as_str()) {
            return Ok(tokio::net::lookup_host((name.as_str(), 0)).await?.collect());
        }
        if name == self.target_host {
            return Ok(vec![self.target]);
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "name not vetted for replay",
        ))
    }
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let lookup = self.clone().lookup(name.as_str().to_owned());
        Box::pin(async move {
            let addresses = lookup.await?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl wreq::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: wreq::dns::Name) -> wreq::dns::Resolving {
        let lookup = self.clone().lookup(name.as_str().to_owned());
        Box::pin(async move {
            let addresses = lookup.await?;
            Ok(Box::new(addresses.into_iter()) as wreq::dns::Addrs)
        })
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

async fn send_reqwest(hop: &Hop<'_>) -> Result<RawResponse, TransportError> {
    let resolver = PinnedResolver::for_hop(hop);
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(hop.timeout)
        .connect_timeout(hop.timeout)
        .pool_max_idle_per_host(0)
        .resolve(&resolver.target_host, resolver.target)
        .dns_resolver(Arc::new(resolver));
    builder = match hop.route {
        Route::Direct => builder.no_proxy(),
        Route::Proxy { url, .. } => builder.proxy(
            reqwest::Proxy::all(url.as_str())
                .map_err(|_| TransportError::Proxy("the proxy URL is not usable".to_owned()))?,
        ),
    };
    let client = builder
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
        } else if matches!(hop.route, Route::Proxy { .. })
            && (connect || text.contains("proxy") || text.contains("socks"))
        {
            TransportError::Proxy(text)
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

async fn send_wreq(hop: &Hop<'_>) -> Result<RawResponse, TransportError> {
    let resolver = PinnedResolver::for_hop(hop);
    let mut builder = wreq::Client::builder()
        .emulation(
            wreq_util::Emulation::builder()
                .profile(chrome_profile(captured_chrome_major(hop.request)))
                .build(),
        )
        .redirect(wreq::redirect::Policy::none())
        .timeout(hop.timeout)
        .connect_timeout(hop.timeout)
        .pool_max_idle_per_host(0)
        .resolve(resolver.target_host.clone(), resolver.target)
        .dns_resolver(resolver);
    builder = match hop.route {
        Route::Direct => builder.no_proxy(),
        Route::Proxy { url, .. } => builder.proxy(
            wreq::Proxy::all(url.as_str())
                .map_err(|_| TransportError::Proxy("the proxy URL is not usable".to_owned()))?,
        ),
    };
    let client = builder
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
        let (timeout, proxy, connect) =
            (err.is_timeout(), err.is_proxy_connect(), err.is_connect());
        // The URL may carry tokens in its query; the attempt row names the endpoint already.
        let text = describe(&err.without_uri());
        if timeout {
            TransportError::Timeout
        } else if proxy {
            TransportError::Proxy(text)
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
