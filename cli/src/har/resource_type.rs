//! An entry's resource type: Chrome's `_resourceType` when the HAR has one, otherwise what
//! Chrome would have said, guessed from the fetch metadata the browser sent, then the response
//! type, then the file extension (Firefox and older tools write no resource type).

use recon_contracts::{header_value, Header, ResourceType};
use url::Url;

/// The type Chrome declared (`_resourceType`), or the guess when it declared none.
pub(super) fn resource_type(
    declared: Option<&str>,
    method: &str,
    url: &Url,
    headers: &[Header],
    mime_type: Option<&str>,
) -> ResourceType {
    match declared.map(str::trim) {
        Some(name) if !name.is_empty() => ResourceType::from_name(name),
        _ => guess_resource_type(method, url, headers, mime_type),
    }
}

/// For HARs without `_resourceType` (Firefox, older tools): what Chrome would have said, from
/// the fetch metadata the browser sent, then the response type, then the file extension.
fn guess_resource_type(
    method: &str,
    url: &Url,
    headers: &[Header],
    mime_type: Option<&str>,
) -> ResourceType {
    if matches!(url.scheme(), "ws" | "wss") {
        return ResourceType::WebSocket;
    }
    if method == "OPTIONS" && header_value(headers, "access-control-request-method").is_some() {
        return ResourceType::Preflight;
    }
    let api_call = if header_value(headers, "x-requested-with")
        .is_some_and(|value| value.eq_ignore_ascii_case("xmlhttprequest"))
    {
        ResourceType::Xhr
    } else {
        ResourceType::Fetch
    };
    if let Some(destination) = header_value(headers, "sec-fetch-dest") {
        let by_destination = match destination.trim().to_ascii_lowercase().as_str() {
            "document" | "iframe" | "frame" | "embed" | "object" => Some(ResourceType::Document),
            "script" | "worker" | "sharedworker" | "serviceworker" => Some(ResourceType::Script),
            "style" => Some(ResourceType::Stylesheet),
            "image" => Some(ResourceType::Image),
            "font" => Some(ResourceType::Font),
            "audio" | "video" | "track" => Some(ResourceType::Media),
            "manifest" => Some(ResourceType::Manifest),
            "report" => Some(ResourceType::Ping),
            _ => None,
        };
        if let Some(resource_type) = by_destination {
            return resource_type;
        }
    }
    let mime = mime_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "text/html" | "application/xhtml+xml" => return ResourceType::Document,
        "text/css" => return ResourceType::Stylesheet,
        "text/event-stream" => return ResourceType::EventSource,
        "application/manifest+json" => return ResourceType::Manifest,
        "application/json"
        | "application/graphql-response+json"
        | "text/json"
        | "application/xml"
        | "text/xml" => return api_call,
        _ => {}
    }
    if mime.contains("javascript") || mime.contains("ecmascript") {
        return ResourceType::Script;
    }
    if mime.starts_with("image/") {
        return ResourceType::Image;
    }
    if mime.starts_with("font/") || mime.contains("font-") || mime.contains("woff") {
        return ResourceType::Font;
    }
    if mime.starts_with("audio/") || mime.starts_with("video/") {
        return ResourceType::Media;
    }
    if mime.ends_with("+json") {
        return api_call;
    }
    let extension = url
        .path()
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "js" | "mjs" => ResourceType::Script,
        "css" => ResourceType::Stylesheet,
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "avif" | "svg" | "ico" => ResourceType::Image,
        "woff" | "woff2" | "ttf" | "otf" => ResourceType::Font,
        "mp4" | "webm" | "mp3" | "m4a" | "ogg" => ResourceType::Media,
        "html" | "htm" => ResourceType::Document,
        _ if method != "GET" || mime == "text/plain" => api_call,
        _ => ResourceType::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::test_support::{by_url, demo, firefox};

    #[test]
    fn the_types_chrome_declared_are_kept() {
        let capture = demo().capture;
        let type_of = |method: &str, url: &str| by_url(&capture, method, url).resource_type;
        assert_eq!(
            type_of("GET", "https://demo-shop.recon.test/en/"),
            ResourceType::Document
        );
        assert_eq!(
            type_of(
                "GET",
                "https://demo-shop.recon.test/static/js/app.8c1d2e.js"
            ),
            ResourceType::Script
        );
        assert_eq!(
            type_of(
                "GET",
                "https://demo-shop.recon.test/static/css/main.3f9a1c.css"
            ),
            ResourceType::Stylesheet
        );
        assert_eq!(
            type_of(
                "GET",
                "https://demo-shop.recon.test/api/products?page=1&q=lamp"
            ),
            ResourceType::Fetch
        );
        assert_eq!(
            type_of("POST", "https://collect.metricsbeam.test/v1/events"),
            ResourceType::Ping
        );
        assert_eq!(
            type_of("GET", "wss://demo-shop.recon.test/live/stock"),
            ResourceType::WebSocket
        );
    }

    #[test]
    fn without_declared_types_they_are_guessed_from_metadata_mime_and_extension() {
        let capture = firefox().capture;
        let types: Vec<_> = capture
            .requests
            .iter()
            .map(|request| request.resource_type)
            .collect();
        assert_eq!(
            types,
            [
                ResourceType::Document,
                ResourceType::Fetch,
                ResourceType::Xhr,
                ResourceType::Image,
                ResourceType::Script,
            ]
        );
    }
}
