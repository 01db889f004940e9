//! Analysis (target `analysis`): the endpoint inventory.
//!
//! For now an endpoint is a distinct method + host + path; templating, GraphQL operations,
//! schemas and buckets come with the recon-intelligence work.

use std::collections::BTreeMap;

use recon_contracts::{Capture, Detection, Endpoint, Inventory, ResourceType, Step};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use sha2::{Digest, Sha256};

pub fn analyze(capture: &Capture, _detection: &Detection) -> Inventory {
    let mut endpoints: BTreeMap<(String, String, String), Endpoint> = BTreeMap::new();
    for request in &capture.requests {
        let Ok(url) = url::Url::parse(&request.url) else {
            continue;
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let path = url.path().to_owned();
        let key = (request.method.clone(), host.clone(), path.clone());
        let endpoint = endpoints.entry(key).or_insert_with(|| Endpoint {
            id: endpoint_id(&request.method, &host, &path),
            method: request.method.clone(),
            host,
            path_template: path,
            graphql_operation: None,
            kind: kind_of(request).to_owned(),
            bucket: "other".to_owned(),
            sample_count: 0,
            request_ids: Vec::new(),
            ..Default::default()
        });
        endpoint.sample_count += 1;
        endpoint.request_ids.push(request.id.clone());
    }
    Inventory {
        endpoints: endpoints.into_values().collect(),
    }
}

/// A short id that stays the same for the same endpoint across runs.
pub fn endpoint_id(method: &str, host: &str, path: &str) -> String {
    let digest = Sha256::digest(format!("{method} {host}{path}").as_bytes());
    format!("ep_{}", hex::encode(&digest[..6]))
}

fn kind_of(request: &recon_contracts::RequestRecord) -> &'static str {
    let mime = request
        .response
        .as_ref()
        .map(|response| response.mime_type.to_ascii_lowercase())
        .unwrap_or_default();
    match request.resource_type {
        ResourceType::Document => "html-document",
        ResourceType::WebSocket | ResourceType::EventSource => "stream",
        ResourceType::Stylesheet
        | ResourceType::Image
        | ResourceType::Media
        | ResourceType::Font
        | ResourceType::Script => "static",
        _ if mime.contains("json") => "json-api",
        _ => "other",
    }
}

pub struct AnalysisStage;

impl Stage for AnalysisStage {
    const STEP: Step = Step::Analysis;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let capture = ctx.capture().await?;
        let detection: Detection = ctx.result(Step::Detection).await?;
        let inventory = analyze(&capture, &detection);
        let summary = format!(
            "{} endpoint(s) from {} request(s)",
            inventory.endpoints.len(),
            capture.requests.len()
        );
        StageOutput::new(&inventory, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recon_contracts::{Header, RequestRecord, ResponseRecord, Timing};

    fn request(id: &str, method: &str, url: &str, mime: &str) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            page_id: None,
            method: method.into(),
            url: url.into(),
            resource_type: ResourceType::Fetch,
            initiator: None,
            request_headers: vec![Header::new("Accept", "*/*")],
            post_data: None,
            response: Some(ResponseRecord {
                status: 200,
                status_text: "OK".into(),
                headers: vec![],
                mime_type: mime.into(),
                body: None,
                remote_address: None,
                protocol: None,
                from_cache: false,
                from_service_worker: false,
            }),
            timing: Timing::default(),
            redirected_from: None,
            failure: None,
        }
    }

    #[test]
    fn groups_distinct_method_host_and_path() {
        let capture = Capture {
            format_version: recon_contracts::CAPTURE_FORMAT_VERSION,
            source: recon_contracts::CaptureSource::Har,
            target_url: "https://shop.example/".into(),
            started_at_ms: 0.0,
            ended_at_ms: 0.0,
            browser: None,
            pages: vec![],
            requests: vec![
                request(
                    "1",
                    "GET",
                    "https://shop.example/api/items?page=1",
                    "application/json",
                ),
                request(
                    "2",
                    "GET",
                    "https://shop.example/api/items?page=2",
                    "application/json",
                ),
                request(
                    "3",
                    "POST",
                    "https://shop.example/api/items",
                    "application/json",
                ),
                request("4", "GET", "https://cdn.example/app.css", "text/css"),
            ],
            cookies: vec![],
            streams: vec![],
        };
        let inventory = analyze(&capture, &Detection::default());
        assert_eq!(inventory.endpoints.len(), 3);
        let items = inventory
            .endpoints
            .iter()
            .find(|e| e.method == "GET" && e.path_template == "/api/items")
            .unwrap();
        assert_eq!(items.sample_count, 2);
        assert_eq!(items.kind, "json-api");
        assert_eq!(items.request_ids, vec!["1", "2"]);
        assert_eq!(items.id, endpoint_id("GET", "shop.example", "/api/items"));
    }
}
