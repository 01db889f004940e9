//! The HAR 1.2 shapes the importer reads, as Chrome DevTools and Firefox write them. Every
//! field is optional or defaulted unless HAR 1.2 and both browsers agree on it, and `null`
//! reads as the default, so a browser's quirks never make a file unreadable. The file's outer
//! objects (`log` and its `entries`) are read by [`super::outline`], one entry at a time.

use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Deserializer};

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A text field some exporters write as JSON (WebPageTest and Browsertime put a parsed JSON
/// body's values into `postData.params[].value`): a string as it is, anything else as its JSON
/// text.
fn text_or_json<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(
        match Option::<serde_json::Value>::deserialize(deserializer)? {
            None => String::new(),
            Some(serde_json::Value::String(text)) => text,
            Some(other) => other.to_string(),
        },
    )
}

#[derive(Deserialize)]
pub(super) struct Product {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HarPage {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) title: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) started_date_time: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) pageref: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) started_date_time: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) time: Option<f64>,
    pub(super) request: HarRequest,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) response: Option<HarResponse>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) timings: Option<Timings>,
    #[serde(default, rename = "serverIPAddress", deserialize_with = "nullable")]
    pub(super) server_ip_address: Option<String>,
    #[serde(default, rename = "_resourceType", deserialize_with = "nullable")]
    pub(super) resource_type: Option<String>,
    #[serde(default, rename = "_initiator", deserialize_with = "nullable")]
    pub(super) initiator: Option<serde_json::Value>,
    #[serde(default, rename = "_fromCache", deserialize_with = "nullable")]
    pub(super) from_cache: Option<serde_json::Value>,
    #[serde(default, rename = "_webSocketMessages", deserialize_with = "nullable")]
    pub(super) websocket_messages: Vec<WebSocketMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HarRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) method: String,
    pub(super) url: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) headers: Vec<HarHeader>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) cookies: Vec<HarCookie>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) post_data: Option<PostData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HarResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) status: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) status_text: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) http_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) headers: Vec<HarHeader>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) cookies: Vec<HarCookie>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) content: Content,
    #[serde(default, rename = "redirectURL", deserialize_with = "nullable")]
    pub(super) redirect_url: String,
    #[serde(default, rename = "_error", deserialize_with = "nullable")]
    pub(super) error: Option<String>,
    #[serde(
        default,
        rename = "_fetchedViaServiceWorker",
        deserialize_with = "nullable"
    )]
    pub(super) fetched_via_service_worker: bool,
}

#[derive(Deserialize)]
pub(super) struct HarHeader {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HarCookie {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) value: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) path: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) domain: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) expires: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) http_only: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) secure: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) same_site: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PostData {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) mime_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) text: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) params: Vec<PostParam>,
}

#[derive(Deserialize)]
pub(super) struct PostParam {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "text_or_json")]
    pub(super) value: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Content {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) mime_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) size: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) text: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) encoding: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Timings {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) wait: Option<f64>,
}

#[derive(Deserialize)]
pub(super) struct WebSocketMessage {
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub(super) kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) opcode: Option<f64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) data: String,
}

/// A HAR time (`startedDateTime`, a cookie's `expires`) in milliseconds since the epoch.
pub(super) fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros() as f64 / 1000.0);
    }
    // Some exporters leave out the zone; HAR times are then taken as UTC.
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|time| time.and_utc().timestamp_micros() as f64 / 1000.0)
}
