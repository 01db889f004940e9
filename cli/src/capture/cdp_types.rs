//! Lenient serde types for the DevTools `Network.*` and `Target.*` events the recorder reads.
//!
//! Every field that Chrome has added, renamed or dropped over the years is optional, and
//! unknown fields are ignored, so a newer browser never makes an event unreadable.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `Network.Headers`: a JSON object, read in the order Chrome sent it (order matters for
/// replay). Repeated headers (Set-Cookie) come joined by newlines and are split again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Headers, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Headers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
                let mut headers = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, serde_json::Value>()? {
                    let value = match value {
                        serde_json::Value::String(text) => text,
                        serde_json::Value::Null => continue,
                        other => other.to_string(),
                    };
                    for line in value.split('\n') {
                        headers.push((name.clone(), line.to_owned()));
                    }
                }
                Ok(Headers(headers))
            }
            fn visit_unit<E>(self) -> Result<Headers, E> {
                Ok(Headers::default())
            }
        }
        deserializer.deserialize_any(OrderedVisitor)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub url: String,
    #[serde(default)]
    pub url_fragment: Option<String>,
    pub method: String,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub post_data: Option<String>,
    #[serde(default)]
    pub post_data_entries: Vec<PostDataEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PostDataEntry {
    /// Base64.
    #[serde(default)]
    pub bytes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Initiator {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub stack: Option<StackTrace>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTrace {
    #[serde(default)]
    pub call_frames: Vec<CallFrame>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTiming {
    #[serde(default)]
    pub send_end: Option<f64>,
    #[serde(default)]
    pub receive_headers_end: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status: f64,
    #[serde(default)]
    pub status_text: String,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default, rename = "remoteIPAddress")]
    pub remote_ip_address: Option<String>,
    #[serde(default)]
    pub remote_port: Option<u32>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub from_disk_cache: bool,
    #[serde(default)]
    pub from_prefetch_cache: bool,
    #[serde(default)]
    pub from_service_worker: bool,
    #[serde(default)]
    pub timing: Option<ResourceTiming>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestWillBeSent {
    pub request_id: String,
    #[serde(default)]
    pub loader_id: String,
    pub request: Request,
    pub timestamp: f64,
    #[serde(default)]
    pub wall_time: Option<f64>,
    #[serde(default)]
    pub initiator: Option<Initiator>,
    #[serde(default)]
    pub redirect_response: Option<Response>,
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub frame_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseReceived {
    pub request_id: String,
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
    pub response: Response,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadingFinished {
    pub request_id: String,
    pub timestamp: f64,
    #[serde(default)]
    pub encoded_data_length: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadingFailed {
    pub request_id: String,
    pub timestamp: f64,
    #[serde(default)]
    pub error_text: String,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default)]
    pub blocked_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestExtraInfo {
    pub request_id: String,
    #[serde(default)]
    pub headers: Headers,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseExtraInfo {
    pub request_id: String,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub status_code: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestIdOnly {
    pub request_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketCreated {
    pub request_id: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketHandshakeRequest {
    pub request_id: String,
    pub timestamp: f64,
    #[serde(default)]
    pub wall_time: Option<f64>,
    pub request: HandshakeRequest,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HandshakeRequest {
    #[serde(default)]
    pub headers: Headers,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketHandshakeResponse {
    pub request_id: String,
    pub response: HandshakeResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeResponse {
    pub status: f64,
    #[serde(default)]
    pub status_text: String,
    #[serde(default)]
    pub headers: Headers,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketFrameEvent {
    pub request_id: String,
    pub response: WebSocketFrame,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketFrame {
    #[serde(default)]
    pub opcode: f64,
    #[serde(default)]
    pub payload_data: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceMessage {
    pub request_id: String,
    #[serde(default)]
    pub event_name: String,
    #[serde(default)]
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInfo {
    pub target_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetEvent {
    pub target_info: TargetInfo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachedToTarget {
    pub session_id: String,
    pub target_info: TargetInfo,
    #[serde(default)]
    pub waiting_for_debugger: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetDestroyed {
    pub target_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CdpCookie {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub expires: Option<f64>,
    #[serde(default)]
    pub http_only: bool,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub session: bool,
    #[serde(default)]
    pub same_site: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cookies {
    #[serde(default)]
    pub cookies: Vec<CdpCookie>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseBody {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub base64_encoded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_their_order_and_split_repeated_values() {
        let headers: Headers = serde_json::from_str(
            r#"{"Zeta":"1","set-cookie":"a=1; Path=/\nb=2","Alpha":"x","n":3,"gone":null}"#,
        )
        .unwrap();
        assert_eq!(
            headers.0,
            vec![
                ("Zeta".into(), "1".into()),
                ("set-cookie".into(), "a=1; Path=/".into()),
                ("set-cookie".into(), "b=2".into()),
                ("Alpha".into(), "x".into()),
                ("n".into(), "3".into()),
            ]
        );
    }

    #[test]
    fn extra_info_with_fields_from_a_newer_chrome_still_parses() {
        let event: ResponseExtraInfo = serde_json::from_str(
            r#"{"requestId":"7.2","blockedCookies":[],"headers":{"Set-Cookie":"s=1"},
                "resourceIPAddressSpace":"Loopback","statusCode":200,
                "cookiePartitionKey":{"topLevelSite":"http://127.0.0.1","hasCrossSiteAncestor":false},
                "exemptedCookies":[{"reason":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(event.status_code, Some(200.0));
        assert_eq!(event.headers.0, vec![("Set-Cookie".into(), "s=1".into())]);
    }
}
