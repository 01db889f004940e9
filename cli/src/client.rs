//! The HTTP client of the browser-recon API (DESIGN.md § HTTP API): one method per endpoint,
//! typed answers from `recon-contracts`, and errors that say which exit code they mean.
//!
//! Every request carries the API key and `User-Agent: browser-recon/<version>`, and goes only
//! to a [`ServerUrl`] (https, or plain http to this machine unless allowed). Every answer, over
//! HTTP or the WebSocket, is decoded in one place ([`decode_answer`]), which makes each of its
//! strings terminal-safe: whatever the server (or a site, through it) puts in a message can be
//! printed without its escape sequences.

use std::time::Duration;

use futures::StreamExt;
use recon_contracts::version::{user_agent, VersionInfo};
use recon_contracts::RecordedEvent;
use recon_contracts::{
    CaptureAccepted, CreateScanRequest, CreateScanResponse, CreatedKey, ErrorBody, ErrorDetail,
    EventsPage, KeyList, ScanList, ScanView,
};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::config::{Config, ConfigError, ServerUrl, API_KEY_ENV};
use crate::exit::{one_line, Exit};
use crate::terminal_text::make_json_terminal_safe;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A large capture on a slow uplink takes a while; the server answers fast once it has it.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// The version check must never hold the user up.
const VERSION_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("the server refused the API key ({status}): {message}; check {API_KEY_ENV}")]
    AuthRefused { status: u16, message: String },
    #[error("the server needs a newer recon than {version}: {message}", version = recon_contracts::version::VERSION)]
    UpgradeRequired { message: String },
    #[error("the server refused the upload as too large ({message}); record a shorter session or fewer pages")]
    TooLarge { path: String, message: String },
    #[error("{message} (404 from {path})")]
    NotFound { path: String, message: String },
    #[error("the server rejected {path} ({status} {code}): {message}")]
    Rejected {
        path: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server failed on {path} ({status}): {message}")]
    ServerFailed {
        path: String,
        status: u16,
        message: String,
    },
    #[error("unexpected answer from the server to {path}: {reason}")]
    BadAnswer { path: String, reason: String },
}

impl ClientError {
    /// The error for a non-2xx answer, from its status and (when the body was one) its
    /// [`ErrorBody`].
    pub fn for_status(status: u16, detail: Option<ErrorDetail>, path: &str) -> ClientError {
        let detail = detail.unwrap_or_else(|| ErrorDetail {
            code: format!("http_{status}"),
            message: canonical_reason(status).to_owned(),
            limit: None,
        });
        let message = one_line(&detail.message);
        match status {
            401 | 403 => ClientError::AuthRefused { status, message },
            426 => ClientError::UpgradeRequired { message },
            413 => ClientError::TooLarge {
                path: path.to_owned(),
                message,
            },
            404 => ClientError::NotFound {
                path: path.to_owned(),
                message,
            },
            500..=599 => ClientError::ServerFailed {
                path: path.to_owned(),
                status,
                message,
            },
            _ => ClientError::Rejected {
                path: path.to_owned(),
                status,
                code: detail.code,
                message,
            },
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            ClientError::Unreachable { .. }
            | ClientError::AuthRefused { .. }
            | ClientError::UpgradeRequired { .. }
            | ClientError::ServerFailed { .. }
            | ClientError::BadAnswer { .. } => Exit::Server,
            ClientError::Rejected { status, .. } if *status == 410 || *status == 429 => {
                Exit::Server
            }
            ClientError::NotFound { .. }
            | ClientError::Rejected { .. }
            | ClientError::TooLarge { .. } => Exit::Usage,
        }
    }

    /// Worth asking again after a pause: the network or the server hiccuped.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::ServerFailed { .. } => true,
            ClientError::Rejected { status, .. } => *status == 429,
            _ => false,
        }
    }
}

fn canonical_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("no reason given")
}

#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    server: ServerUrl,
    api_key: String,
}

/// `GET /account`: whose key this is.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AccountView {
    pub account: String,
    #[serde(default)]
    pub key_prefix: String,
}

type EventSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The live event feed of one scan (`/scans/{id}/ws`), decoded like every other answer.
pub struct EventFeed {
    socket: EventSocket,
}

/// What the feed delivered next.
#[derive(Debug)]
pub enum FeedItem {
    Event(RecordedEvent),
    /// A frame that is not an event.
    Unreadable,
    /// The server closed the feed.
    Closed,
    /// The connection broke, and why.
    Dropped(String),
}

impl EventFeed {
    pub async fn next(&mut self) -> FeedItem {
        loop {
            let text = match self.socket.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_))) | None => return FeedItem::Closed,
                Some(Ok(_)) => continue,
                Some(Err(error)) => return FeedItem::Dropped(one_line(&error.to_string())),
            };
            return match decode_answer(text.as_bytes()) {
                Ok(event) => FeedItem::Event(event),
                Err(_) => FeedItem::Unreadable,
            };
        }
    }
}

/// The one way an answer of the server becomes a value: JSON, with every string in it made
/// terminal-safe before any field can reach a print statement.
pub fn decode_answer<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(body)?;
    make_json_terminal_safe(&mut value);
    serde_json::from_value(value)
}

impl ApiClient {
    pub fn new(config: &Config) -> Result<ApiClient, ConfigError> {
        ApiClient::with_key(&config.server, config.api_key()?)
    }

    /// A client for a key that is not (yet) in the configuration: `recon login`.
    pub fn with_key(server: &ServerUrl, api_key: &str) -> Result<ApiClient, ConfigError> {
        let api_key = api_key.to_owned();
        let http = reqwest::Client::builder()
            .user_agent(user_agent())
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|error| ConfigError::BadServerUrl {
                source_name: "the HTTP client".into(),
                value: server.to_string(),
                reason: error.to_string(),
            })?;
        Ok(ApiClient {
            http,
            server: server.clone(),
            api_key,
        })
    }

    /// `GET /account`.
    pub async fn account(&self) -> Result<AccountView, ClientError> {
        let path = "/account";
        let builder = self.http.get(self.url(path)).timeout(REQUEST_TIMEOUT);
        self.send(builder, path).await
    }

    /// `GET /scans/{id}/ws?since=<cursor>` as a WebSocket.
    pub async fn events_socket(&self, scan_id: Uuid, since: i64) -> Result<EventFeed, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Error as WsError;

        let path = format!("/scans/{scan_id}/ws");
        let url = self.server.websocket_url(&format!("{path}?since={since}"));
        let bad = |reason: String| ClientError::BadAnswer {
            path: path.clone(),
            reason,
        };
        let mut request = url
            .into_client_request()
            .map_err(|error| bad(error.to_string()))?;
        let headers = request.headers_mut();
        let auth = format!("Bearer {}", self.api_key)
            .parse()
            .map_err(|_| bad("the API key is not a valid header value".into()))?;
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        if let Ok(agent) = user_agent().parse() {
            headers.insert(reqwest::header::USER_AGENT, agent);
        }
        let connect = tokio_tungstenite::connect_async(request);
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok((socket, _))) => Ok(EventFeed { socket }),
            Ok(Err(WsError::Http(response))) => {
                let detail = response
                    .body()
                    .as_deref()
                    .and_then(|body| decode_answer::<ErrorBody>(body).ok())
                    .map(|body| body.error);
                Err(ClientError::for_status(
                    response.status().as_u16(),
                    detail,
                    &path,
                ))
            }
            Ok(Err(error)) => Err(ClientError::Unreachable {
                server: self.server.to_string(),
                reason: one_line(&error.to_string()),
            }),
            Err(_) => Err(ClientError::Unreachable {
                server: self.server.to_string(),
                reason: "the WebSocket connection timed out".into(),
            }),
        }
    }

    /// `POST /scans`.
    pub async fn create_scan(
        &self,
        request: &CreateScanRequest,
    ) -> Result<CreateScanResponse, ClientError> {
        let path = "/scans";
        let builder = self
            .http
            .post(self.url(path))
            .timeout(REQUEST_TIMEOUT)
            .json(request);
        self.send(builder, path).await
    }

    /// `POST /scans/{id}/capture` with the capture as gzip-compressed JSON (whole, or streamed
    /// while it is encoded).
    pub async fn upload_capture(
        &self,
        scan_id: Uuid,
        gzipped_json: impl Into<reqwest::Body>,
    ) -> Result<CaptureAccepted, ClientError> {
        let path = format!("/scans/{scan_id}/capture");
        let builder = self
            .http
            .post(self.url(&path))
            .timeout(UPLOAD_TIMEOUT)
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(gzipped_json);
        let mut accepted: CaptureAccepted = self.send(builder, &path).await?;
        accepted.report_url = self.absolute(&accepted.report_url);
        Ok(accepted)
    }

    /// `GET /scans/{id}`.
    pub async fn scan(&self, scan_id: Uuid) -> Result<ScanView, ClientError> {
        let path = format!("/scans/{scan_id}");
        let builder = self.http.get(self.url(&path)).timeout(REQUEST_TIMEOUT);
        let mut view: ScanView = self.send(builder, &path).await?;
        view.report_url = self.absolute(&view.report_url);
        Ok(view)
    }

    /// `GET /scans/{id}/events?since=<cursor>`.
    pub async fn events(&self, scan_id: Uuid, since: i64) -> Result<EventsPage, ClientError> {
        let path = format!("/scans/{scan_id}/events");
        let builder = self
            .http
            .get(self.url(&path))
            .query(&[("since", since)])
            .timeout(REQUEST_TIMEOUT);
        self.send(builder, &path).await
    }

    /// `GET /version`, with a short timeout.
    /// `GET /scans` with the given query (site, status, limit, cursor, slug).
    pub async fn scans(&self, query: &[(&str, String)]) -> Result<ScanList, ClientError> {
        let path = "/scans";
        let builder = self
            .http
            .get(self.url(path))
            .query(query)
            .timeout(REQUEST_TIMEOUT);
        let mut list: ScanList = self.send(builder, path).await?;
        for view in &mut list.scans {
            view.report_url = self.absolute(&view.report_url);
        }
        Ok(list)
    }

    pub async fn delete_scan(&self, scan_id: Uuid) -> Result<(), ClientError> {
        let path = format!("/scans/{scan_id}");
        let builder = self.http.delete(self.url(&path)).timeout(REQUEST_TIMEOUT);
        self.send_raw(builder, &path).await.map(drop)
    }

    pub async fn keys(&self) -> Result<KeyList, ClientError> {
        let path = "/account/keys";
        let builder = self.http.get(self.url(path)).timeout(REQUEST_TIMEOUT);
        self.send(builder, path).await
    }

    pub async fn create_key(&self) -> Result<CreatedKey, ClientError> {
        let path = "/account/keys";
        let builder = self.http.post(self.url(path)).timeout(REQUEST_TIMEOUT);
        self.send(builder, path).await
    }

    pub async fn revoke_key(&self, key_id: Uuid) -> Result<(), ClientError> {
        let path = format!("/account/keys/{key_id}");
        let builder = self.http.delete(self.url(&path)).timeout(REQUEST_TIMEOUT);
        self.send_raw(builder, &path).await.map(drop)
    }

    pub async fn version(&self) -> Result<VersionInfo, ClientError> {
        let path = "/version";
        let builder = self.http.get(self.url(path)).timeout(VERSION_TIMEOUT);
        self.send(builder, path).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.as_str())
    }

    /// The server may answer with a path; the user needs a URL they can open.
    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            self.url(url)
        } else {
            url.to_owned()
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<T, ClientError> {
        let body = self.send_raw(builder, path).await?;
        decode_answer(&body).map_err(|error| ClientError::BadAnswer {
            path: path.to_owned(),
            reason: one_line(&error.to_string()),
        })
    }

    /// Sends the request; a success's body as it came, a failure as the error it means.
    async fn send_raw(
        &self,
        builder: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let response = builder
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.unreachable(&error))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let detail = match decode_answer::<ErrorBody>(&body) {
            Ok(parsed) => Some(parsed.error),
            Err(_) => text_snippet(&body).map(|message| ErrorDetail {
                code: format!("http_{}", status.as_u16()),
                message,
                limit: None,
            }),
        };
        Err(ClientError::for_status(status.as_u16(), detail, path))
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            server: self.server.to_string(),
            reason: describe_transport_error(error),
        }
    }
}

/// reqwest's own message is generic ("error sending request"); the useful part (connection
/// refused, DNS, TLS) is at the bottom of the source chain.
fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the request timed out".into();
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    one_line(&innermost.to_string())
}

/// The start of a non-JSON error body (a proxy's HTML page, plain text), when it is short text.
fn text_snippet(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || text.starts_with('<') {
        return None;
    }
    let snippet: String = text.chars().take(200).collect();
    Some(one_line(&snippet))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_readable_messages() {
        let detail = ErrorDetail {
            code: "invalid_capture".into(),
            message: "request \"har-3\" has a URL\nthat is not http(s)".into(),
            limit: None,
        };
        let error = ClientError::for_status(422, Some(detail), "/scans/x/capture");
        assert_eq!(
            error.to_string(),
            "the server rejected /scans/x/capture (422 invalid_capture): request \"har-3\" has a URL that is not http(s)"
        );
        assert_eq!(error.exit(), Exit::Usage);

        let error = ClientError::for_status(401, None, "/scans");
        assert!(error.to_string().contains("Unauthorized"), "{error}");
        assert!(error.to_string().contains("RECON_API_KEY"), "{error}");
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        assert!(ClientError::for_status(503, None, "/x").is_transient());
        assert!(ClientError::for_status(429, None, "/x").is_transient());
        assert!(!ClientError::for_status(404, None, "/x").is_transient());
        assert!(!ClientError::for_status(401, None, "/x").is_transient());
    }

    #[test]
    fn answers_are_decoded_terminal_safe() {
        let body = br#"{"error":{"code":"bad\u001b[2J","message":"no \u001b]52;c;cm0gLXJmIH4=\u0007such \u202escan\u0007"}}"#;
        let decoded: ErrorBody = decode_answer(body).unwrap();
        assert_eq!(decoded.error.code, "bad");
        assert_eq!(decoded.error.message, "no such scan");
        let error = ClientError::for_status(404, Some(decoded.error), "/scans/x");
        assert_eq!(error.to_string(), "no such scan (404 from /scans/x)");
    }

    #[test]
    fn plain_text_error_bodies_are_terminal_safe() {
        assert_eq!(
            text_snippet(b"bad gateway\x1b[2J\x1b]0;owned\x07 now"),
            Some("bad gateway now".into())
        );
    }

    #[test]
    fn html_error_pages_are_not_echoed() {
        assert_eq!(text_snippet(b"<html><body>Bad gateway</body></html>"), None);
        assert_eq!(
            text_snippet(b"upstream connect error\n"),
            Some("upstream connect error".into())
        );
    }
}
