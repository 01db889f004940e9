//! A site on 127.0.0.1 that answers every request, whatever its method or path, with the same
//! small JSON body and logs what arrived: the witness that validation's replays of writes never
//! reach a server, while its reads do. [`LoggingSite::request`] builds the captured request a
//! browser would have recorded for one call to it, [`LoggingSite::capture`] a capture of them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use recon_contracts::{
    Body, Capture, CaptureSource, Header, Page, RequestRecord, ResourceType, ResponseRecord,
    Timing, CAPTURE_FORMAT_VERSION,
};
use tokio_util::sync::DropGuard;

/// What the site answers to everything.
pub const ANSWER: &str = r#"{"data":{"ok":true}}"#;

/// One request that reached the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub body: String,
}

pub struct LoggingSite {
    pub address: SocketAddr,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    _server: DropGuard,
}

impl LoggingSite {
    pub async fn start() -> LoggingSite {
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let app = Router::new().fallback(arrive).with_state(arrivals.clone());
        let (address, server) = crate::serve_on_loopback(app).await;
        LoggingSite {
            address,
            arrivals,
            _server: server,
        }
    }

    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.address)
    }

    /// Every request that arrived so far, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().expect("arrivals").clone()
    }

    /// The capture's record of `method target` with an optional body of `content_type`,
    /// answered 200 with [`ANSWER`].
    pub fn request(
        &self,
        id: &str,
        method: &str,
        target: &str,
        body: Option<(&str, &str)>,
    ) -> RequestRecord {
        let mut headers = vec![
            Header::new("Accept", "application/json"),
            Header::new("Cookie", "session=live-session-value"),
        ];
        if let Some((content_type, _)) = body {
            headers.push(Header::new("Content-Type", content_type));
        }
        RequestRecord {
            id: id.to_owned(),
            page_id: None,
            method: method.to_owned(),
            url: self.url(target),
            resource_type: ResourceType::Fetch,
            initiator: None,
            request_headers: headers,
            post_data: body.map(|(_, text)| Body::text(text)),
            response: Some(ResponseRecord {
                status: 200,
                status_text: "OK".to_owned(),
                headers: vec![Header::new("Content-Type", "application/json")],
                mime_type: "application/json".to_owned(),
                body: Some(Body::text(ANSWER)),
                remote_address: Some(self.address.to_string()),
                protocol: Some("http/1.1".to_owned()),
                from_cache: false,
                from_service_worker: false,
            }),
            timing: Timing::default(),
            redirected_from: None,
            failure: None,
        }
    }
}

impl LoggingSite {
    /// A browser session on the site's page that made `requests`.
    pub fn capture(&self, requests: Vec<RequestRecord>) -> Capture {
        Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: CaptureSource::Chrome,
            target_url: self.url("/"),
            started_at_ms: 0.0,
            ended_at_ms: 1_000.0,
            browser: Some("Chrome/131.0.6778.85".to_owned()),
            pages: vec![Page {
                id: "page-1".to_owned(),
                url: self.url("/"),
                title: Some("Shop".to_owned()),
                started_at_ms: 0.0,
            }],
            requests,
            cookies: Vec::new(),
            streams: Vec::new(),
        }
    }
}

async fn arrive(
    State(arrivals): State<Arc<Mutex<Vec<Arrival>>>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    arrivals.lock().expect("arrivals").push(Arrival {
        method: method.to_string(),
        target: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |target| target.to_string()),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    ([(header::CONTENT_TYPE, "application/json")], ANSWER).into_response()
}
