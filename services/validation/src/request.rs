//! The request a profile sends: built from the captured request, with the captured headers
//! and cookies that profile allows, minus anything the client must set itself.

use base64::Engine;
use bytes::Bytes;
use recon_contracts::{BodyEncoding, ReplayProfile, RequestRecord};

/// Headers the client computes or that belong to one connection; never copied from a capture.
const CONNECTION_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "proxy-authorization",
    "accept-encoding",
    "cookie",
];

/// What one replay sends, before the route and client are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRequest {
    pub method: String,
    pub url: String,
    /// Ordered as captured, names lower-case.
    pub headers: Vec<(String, String)>,
    /// `(name, value)` pairs of the Cookie header, in captured order.
    pub cookies: Vec<(String, String)>,
    pub body: Option<Bytes>,
}

impl ReplayRequest {
    /// The captured request as `profile` sends it.
    pub fn for_profile(record: &RequestRecord, profile: ReplayProfile) -> ReplayRequest {
        let all_headers: Vec<(String, String)> = record
            .request_headers
            .iter()
            .map(|header| (header.name.to_ascii_lowercase(), header.value.clone()))
            .filter(|(name, _)| {
                !name.starts_with(':') && !CONNECTION_HEADERS.contains(&name.as_str())
            })
            .collect();
        let headers = match profile {
            // A bare client still says what body it sends.
            ReplayProfile::Plain => all_headers
                .into_iter()
                .filter(|(name, _)| name == "content-type")
                .collect(),
            _ => all_headers,
        };
        let cookies = match profile {
            ReplayProfile::BrowserSession | ReplayProfile::Impersonate => record
                .request_headers
                .iter()
                .filter(|header| header.name.eq_ignore_ascii_case("cookie"))
                .flat_map(|header| parse_cookie_header(&header.value))
                .collect(),
            _ => Vec::new(),
        };
        ReplayRequest {
            method: record.method.to_ascii_uppercase(),
            url: record.url.clone(),
            headers,
            cookies,
            body: captured_body(record),
        }
    }

    /// The Cookie header value, when there are cookies to send.
    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub fn without_cookie(&self, name: &str) -> ReplayRequest {
        let mut request = self.clone();
        request.cookies.retain(|(cookie, _)| cookie != name);
        request
    }

    pub fn without_header(&self, name: &str) -> ReplayRequest {
        let mut request = self.clone();
        request.headers.retain(|(header, _)| header != name);
        request
    }
}

/// Splits `a=1; b=2` into pairs, keeping values verbatim.
pub fn parse_cookie_header(value: &str) -> Vec<(String, String)> {
    value
        .split(';')
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The request body as the browser sent it, decoded from the capture's encoding.
pub fn captured_body(record: &RequestRecord) -> Option<Bytes> {
    let body = record.post_data.as_ref()?;
    match body.encoding {
        BodyEncoding::Text => Some(Bytes::from(body.data.clone())),
        BodyEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(&body.data)
            .ok()
            .map(Bytes::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recon_contracts::{Body, Header, ResourceType, Timing};

    fn record() -> RequestRecord {
        RequestRecord {
            id: "1".into(),
            page_id: None,
            method: "post".into(),
            url: "https://api.shop.example/graphql".into(),
            resource_type: ResourceType::Fetch,
            initiator: None,
            request_headers: vec![
                Header::new(":authority", "api.shop.example"),
                Header::new("User-Agent", "Mozilla/5.0"),
                Header::new("Content-Type", "application/json"),
                Header::new("Cookie", "session=abc; _abck=x=y"),
                Header::new("Accept-Encoding", "gzip, br"),
                Header::new("Host", "api.shop.example"),
            ],
            post_data: Some(Body::text(r#"{"query":"{ products { id } }"}"#)),
            response: None,
            timing: Timing::default(),
            redirected_from: None,
            failure: None,
        }
    }

    #[test]
    fn each_profile_sends_what_it_should() {
        let plain = ReplayRequest::for_profile(&record(), ReplayProfile::Plain);
        assert_eq!(plain.method, "POST");
        assert_eq!(
            plain.headers,
            vec![("content-type".into(), "application/json".into())]
        );
        assert!(plain.cookies.is_empty());
        assert!(plain.body.is_some());

        let headers = ReplayRequest::for_profile(&record(), ReplayProfile::BrowserHeaders);
        assert_eq!(
            headers
                .headers
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["user-agent", "content-type"]
        );
        assert!(headers.cookie_header().is_none());

        let session = ReplayRequest::for_profile(&record(), ReplayProfile::BrowserSession);
        assert_eq!(
            session.cookie_header().as_deref(),
            Some("session=abc; _abck=x=y")
        );
        assert_eq!(
            session.without_cookie("session").cookie_header().as_deref(),
            Some("_abck=x=y")
        );
        assert_eq!(session.without_header("user-agent").headers.len(), 1);
    }

    #[test]
    fn bodies_are_decoded_from_the_capture() {
        let mut encoded = record();
        encoded.post_data = Some(Body {
            encoding: BodyEncoding::Base64,
            data: "AAEC".into(),
            truncated: false,
            size: Some(3),
        });
        assert_eq!(captured_body(&encoded).as_deref(), Some(&[0u8, 1, 2][..]));
        assert_eq!(
            captured_body(&record()).as_deref(),
            Some(&br#"{"query":"{ products { id } }"}"#[..])
        );
    }
}
