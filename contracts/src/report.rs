//! Stage results and the report JSON (`/r/{slug}.json`) they add up to.
//!
//! Every field later stages may grow is defaulted, so a result stored by an older server
//! still loads.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ScanStatus;

/// Canonical anti-bot vendor ids (DESIGN.md).
pub const VENDOR_IDS: [&str; 19] = [
    "akamai",
    "perimeterx",
    "datadome",
    "cloudflare",
    "imperva",
    "kasada",
    "f5-shape",
    "aws-waf",
    "recaptcha",
    "hcaptcha",
    "turnstile",
    "arkose",
    "geetest",
    "queue-it",
    "radware",
    "fastly",
    "netacea",
    "threatmetrix",
    "unknown-challenge",
];

/// Result of the detection step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    #[serde(default)]
    pub vendors: Vec<VendorFinding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorFinding {
    /// One of [`VENDOR_IDS`].
    pub id: String,
    pub product: String,
    /// 0.0 to 1.0.
    pub confidence: f64,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Which rule fired.
    pub rule: String,
    /// What was seen, secrets redacted, e.g. `cookie _abck on www.shop.example`.
    pub detail: String,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// Result of the analysis step: the endpoint inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Stable within a scan: derived from method, host, template and operation.
    pub id: String,
    pub method: String,
    pub host: String,
    pub path_template: String,
    #[serde(default)]
    pub graphql_operation: Option<String>,
    /// json-api, graphql, html-document, static, tracking, anti-bot-sensor, stream, other.
    pub kind: String,
    /// search, listing, detail, reviews, prices, auth, config, tracking, other.
    pub bucket: String,
    #[serde(default)]
    pub sample_count: u32,
    /// Capture request ids of the samples.
    #[serde(default)]
    pub request_ids: Vec<String>,
}

/// Result of the intent filter step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntentRanking {
    #[serde(default)]
    pub intent_text: String,
    #[serde(default)]
    pub ranked: Vec<RankedEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedEndpoint {
    pub endpoint_id: String,
    pub score: f64,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// Result of the validation step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    #[serde(default)]
    pub results: Vec<EndpointValidation>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointValidation {
    pub endpoint_id: String,
    #[serde(default)]
    pub attempts: Vec<ReplayAttempt>,
    /// The cheapest passing profile × tier, in words; `None` when nothing passed or ran.
    #[serde(default)]
    pub recommendation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayAttempt {
    /// plain, browser-headers, browser-session, impersonate.
    pub profile: String,
    /// direct, datacenter, residential.
    pub tier: String,
    /// HTTP status, `None` when no response came.
    pub status: Option<u16>,
    /// pass, blocked, error.
    pub verdict: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub bytes: Option<u64>,
}

/// Result of the scrub step: where the scrubbed capture lives and what was replaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScrubSummary {
    pub scrubbed_capture_key: String,
    #[serde(default)]
    pub replacements: u64,
}

/// Result of the synthesis step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Synthesis {
    #[serde(default)]
    pub snippets: Vec<Snippet>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub endpoint_id: String,
    /// python, curl, rust.
    pub language: String,
    pub code: String,
}

/// The report JSON served at `/r/{slug}.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scan: ReportScan,
    pub detection: Detection,
    pub endpoints: Vec<Endpoint>,
    pub intent: IntentRanking,
    pub validation: Validation,
    pub synthesis: Synthesis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportScan {
    pub id: Uuid,
    pub target_url: String,
    pub status: ScanStatus,
}

/// What render stores: the report and its HTML page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedReport {
    pub report: Report,
    pub html: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_and_has_the_contract_fields() {
        let report = Report {
            scan: ReportScan {
                id: Uuid::new_v4(),
                target_url: "https://shop.example".into(),
                status: ScanStatus::Complete,
            },
            detection: Detection {
                vendors: vec![VendorFinding {
                    id: "akamai".into(),
                    product: "Bot Manager".into(),
                    confidence: 0.9,
                    evidence: vec![Evidence {
                        rule: "akamai.cookie.abck".into(),
                        detail: "cookie _abck".into(),
                        request_id: Some("1".into()),
                    }],
                }],
            },
            endpoints: vec![Endpoint {
                id: "e1".into(),
                method: "GET".into(),
                host: "api.shop.example".into(),
                path_template: "/products/{id}".into(),
                graphql_operation: None,
                kind: "json-api".into(),
                bucket: "detail".into(),
                sample_count: 2,
                request_ids: vec!["1".into(), "2".into()],
            }],
            intent: IntentRanking {
                intent_text: "prices".into(),
                ranked: vec![RankedEndpoint {
                    endpoint_id: "e1".into(),
                    score: 0.8,
                    reasons: vec!["path mentions products".into()],
                }],
            },
            validation: Validation {
                results: vec![EndpointValidation {
                    endpoint_id: "e1".into(),
                    attempts: vec![ReplayAttempt {
                        profile: "plain".into(),
                        tier: "direct".into(),
                        status: Some(200),
                        verdict: "pass".into(),
                        reason: None,
                        latency_ms: Some(12),
                        bytes: Some(100),
                    }],
                    recommendation: Some("plain × direct".into()),
                }],
                notes: vec![],
            },
            synthesis: Synthesis {
                snippets: vec![Snippet {
                    endpoint_id: "e1".into(),
                    language: "curl".into(),
                    code: "curl https://api.shop.example/products/1".into(),
                }],
                notes: vec!["note".into()],
            },
        };
        let value = serde_json::to_value(&report).unwrap();
        for pointer in [
            "/scan/id",
            "/scan/target_url",
            "/scan/status",
            "/detection/vendors/0/evidence",
            "/endpoints/0/graphql_operation",
            "/endpoints/0/bucket",
            "/intent/ranked/0/reasons",
            "/validation/results/0/attempts/0/verdict",
            "/validation/results/0/recommendation",
            "/synthesis/snippets/0/code",
            "/synthesis/notes",
        ] {
            assert!(value.pointer(pointer).is_some(), "missing {pointer}");
        }
        let back: Report = serde_json::from_value(value).unwrap();
        assert_eq!(back, report);

        let rendered = RenderedReport {
            report,
            html: "<html></html>".into(),
        };
        let json = serde_json::to_string(&rendered).unwrap();
        assert_eq!(
            serde_json::from_str::<RenderedReport>(&json).unwrap(),
            rendered
        );
    }

    #[test]
    fn stage_results_load_from_older_shapes() {
        let detection: Detection = serde_json::from_str("{}").unwrap();
        assert!(detection.vendors.is_empty());
        let validation: Validation = serde_json::from_str(r#"{"results":[]}"#).unwrap();
        assert!(validation.notes.is_empty());
        let scrub: ScrubSummary =
            serde_json::from_str(r#"{"scrubbed_capture_key":"scrubbed/x.json.gz"}"#).unwrap();
        assert_eq!(scrub.replacements, 0);
    }
}
