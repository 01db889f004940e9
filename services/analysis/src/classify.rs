//! What an endpoint is (kind) and what it is for (bucket).

use recon_contracts::ResourceType;
use recon_knowledge::words::words;

use crate::config::AnalysisConfig;
use crate::sample::Sample;

/// The kind of one sample: json-api, graphql, html-document, static, tracking,
/// anti-bot-sensor, stream or other.
pub fn kind_of(config: &AnalysisConfig, sample: &Sample<'_>) -> &'static str {
    let request = sample.request;
    let mime = sample.mime.as_str();
    if matches!(
        request.resource_type,
        ResourceType::WebSocket | ResourceType::EventSource
    ) || mime.contains("event-stream")
        || request.url.starts_with("ws")
    {
        return "stream";
    }
    if recon_knowledge::anti_bot_request(request).is_some() {
        return "anti-bot-sensor";
    }
    let tracking_host =
        recon_knowledge::known_service(&sample.host).is_some_and(|c| c.is_tracking());
    if tracking_host
        || request.resource_type == ResourceType::Ping
        || config.tracking_paths.is_match(&sample.path)
    {
        return "tracking";
    }
    // A CORS preflight carries no data, whatever content type its headers name (real APIs
    // answer OPTIONS with `application/json` and an empty body).
    let preflight = request.resource_type == ResourceType::Preflight
        || (request.method.eq_ignore_ascii_case("OPTIONS")
            && request
                .request_header("access-control-request-method")
                .is_some());
    if preflight {
        return "other";
    }
    if !sample.operations.is_empty() {
        return "graphql";
    }
    let extension = sample
        .path
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase());
    let static_type = matches!(
        request.resource_type,
        ResourceType::Stylesheet
            | ResourceType::Image
            | ResourceType::Media
            | ResourceType::Font
            | ResourceType::Script
            | ResourceType::Manifest
    );
    let static_mime = mime.starts_with("image/")
        || mime.starts_with("font/")
        || mime.starts_with("video/")
        || mime.starts_with("audio/")
        || mime.contains("javascript")
        || mime == "text/css";
    let static_extension = extension.is_some_and(|ext| config.static_extensions.contains(&ext));
    if static_type || static_mime || (static_extension && !sample.has_json_response()) {
        return "static";
    }
    if request.resource_type == ResourceType::Document || mime.contains("html") {
        return "html-document";
    }
    if mime.contains("json") || sample.has_json_response() {
        return "json-api";
    }
    "other"
}

pub struct BucketInput<'a> {
    pub kind: &'a str,
    pub path_template: &'a str,
    pub operation: Option<&'a str>,
    pub parameter_names: Vec<&'a str>,
    pub paginated: bool,
    pub array_response: bool,
}

/// The purpose bucket: tracking for trackers and sensors, else the first bucket whose words
/// appear, with the shape (trailing id → detail, pages or arrays → listing) as tie-breakers.
pub fn bucket(config: &AnalysisConfig, input: &BucketInput<'_>) -> String {
    if matches!(input.kind, "tracking" | "anti-bot-sensor") {
        return "tracking".to_owned();
    }
    let mut tokens: Vec<String> = Vec::new();
    for segment in input
        .path_template
        .split('/')
        .filter(|s| !s.starts_with('{'))
    {
        tokens.extend(words(segment));
    }
    if let Some(operation) = input.operation {
        tokens.extend(words(operation));
    }
    let parameter_tokens: Vec<String> = input
        .parameter_names
        .iter()
        .flat_map(|name| words(name))
        .collect();
    let matches = |name: &str, tokens: &[String]| {
        config
            .buckets
            .iter()
            .find(|bucket| bucket.name == name)
            .is_some_and(|bucket| tokens.iter().any(|token| bucket.words.contains(token)))
    };
    for name in ["auth", "search", "reviews", "prices", "config"] {
        if matches(name, &tokens) {
            return name.to_owned();
        }
    }
    // `q`/`query` parameters make a search even on a generic path.
    if matches("search", &parameter_tokens) && !matches!(input.kind, "static") {
        return "search".to_owned();
    }
    let trailing_parameter = input
        .path_template
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|last| last.starts_with('{'));
    if trailing_parameter && !input.paginated {
        return "detail".to_owned();
    }
    if matches("detail", &tokens) && !input.paginated {
        return "detail".to_owned();
    }
    if matches("listing", &tokens) || input.paginated || input.array_response {
        return "listing".to_owned();
    }
    "other".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::try_config;

    fn bucket_of(path: &str, operation: Option<&str>, params: &[&str], paginated: bool) -> String {
        bucket(
            try_config().unwrap(),
            &BucketInput {
                kind: "json-api",
                path_template: path,
                operation,
                parameter_names: params.to_vec(),
                paginated,
                array_response: false,
            },
        )
    }

    #[test]
    fn buckets_follow_words_then_shape() {
        assert_eq!(bucket_of("/api/products", None, &["page"], true), "listing");
        assert_eq!(
            bucket_of("/api/products/{product_id}", None, &[], false),
            "detail"
        );
        assert_eq!(
            bucket_of("/api/products/{product_id}/reviews", None, &[], false),
            "reviews"
        );
        assert_eq!(bucket_of("/api/v1/items", None, &["q"], false), "search");
        assert_eq!(
            bucket_of("/graphql", Some("SearchProducts"), &[], false),
            "search"
        );
        assert_eq!(
            bucket_of("/graphql", Some("ProductDetail"), &[], false),
            "detail"
        );
        assert_eq!(bucket_of("/api/auth/login", None, &[], false), "auth");
        assert_eq!(bucket_of("/api/stock/{sku_id}", None, &[], false), "prices");
        assert_eq!(bucket_of("/api/config", None, &[], false), "config");
        assert_eq!(bucket_of("/api/cart", None, &[], false), "other");
    }

    #[test]
    fn words_split_camel_case_and_separators() {
        assert_eq!(words("searchProducts"), vec!["search", "products"]);
        assert_eq!(words("per-page_size"), vec!["per", "page", "size"]);
        assert_eq!(words("GetJobDetails"), vec!["get", "job", "details"]);
    }
}
