//! Stage results and the report JSON (`/r/{slug}.json`) they add up to.
//!
//! Every field later stages may grow is defaulted, so a result stored by an older server
//! still loads.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ScanStatus;

/// Canonical anti-bot vendor ids (DESIGN.md).
pub const VENDOR_IDS: [&str; 25] = [
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
    "sucuri",
    "ddos-guard",
    "vercel",
    "reblaze",
    "alibaba",
    "friendly-captcha",
    "unknown-challenge",
];

/// Result of the detection step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Version of the rules file that produced this result.
    #[serde(default)]
    pub rules_version: String,
    #[serde(default)]
    pub vendors: Vec<VendorFinding>,
    /// Requests of the capture that met a challenge or block page.
    #[serde(default)]
    pub challenges: Vec<Challenge>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VendorFinding {
    /// One of [`VENDOR_IDS`].
    pub id: String,
    pub product: String,
    /// bot-management, waf, captcha, waiting-room, cdn, fraud, challenge.
    #[serde(default)]
    pub category: String,
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

/// One request that was challenged or blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub request_id: String,
    pub method: String,
    pub host: String,
    /// The path without its query string (queries may carry secrets).
    pub path: String,
    pub status: Option<u16>,
    /// A vendor id of [`VENDOR_IDS`], `unknown-challenge` when no vendor's markers matched.
    pub vendor: String,
    pub kind: ChallengeKind,
    /// The rule that recognised it.
    pub rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChallengeKind {
    /// An interstitial the browser can pass by running the vendor's script.
    Challenge,
    /// A CAPTCHA the user has to solve.
    Captcha,
    /// An outright refusal (access denied page).
    Block,
    /// Too many requests.
    RateLimit,
    /// A virtual waiting room.
    WaitingRoom,
}

/// Result of the analysis step: the endpoint inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Stable within a scan: derived from method, host, template and operation.
    pub id: String,
    pub method: String,
    pub host: String,
    /// `/products/{product_id}`: parameters in braces, named after what they hold.
    pub path_template: String,
    #[serde(default)]
    pub graphql_operation: Option<String>,
    /// sha256 of a persisted GraphQL query, when the client sent one.
    #[serde(default)]
    pub graphql_persisted_hash: Option<String>,
    /// json-api, graphql, html-document, static, tracking, anti-bot-sensor, stream, other.
    pub kind: String,
    /// search, listing, detail, reviews, prices, auth, config, tracking, other.
    pub bucket: String,
    #[serde(default)]
    pub sample_count: u32,
    /// Capture request ids of the samples.
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Distinct response statuses seen, ascending.
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// MIME type of the responses (the most common one).
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// JSON Schema (2020-12) of the response bodies, merged across every sample.
    #[serde(default)]
    pub response_schema: Option<serde_json::Value>,
    /// JSON Schema of JSON request bodies, merged across every sample.
    #[serde(default)]
    pub request_schema: Option<serde_json::Value>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub auth: Vec<AuthRequirement>,
    /// Where each dynamic value this endpoint needs came from.
    #[serde(default)]
    pub provenance: Vec<Provenance>,
    /// How many samples met a challenge or block page.
    #[serde(default)]
    pub challenged_count: u32,
}

/// Endpoint kinds that carry nothing a scraper wants: assets, trackers, anti-bot sensors.
pub const NON_DATA_KINDS: [&str; 3] = ["static", "tracking", "anti-bot-sensor"];

impl Endpoint {
    /// Whether the endpoint can carry data (it is not of a [`NON_DATA_KINDS`] kind).
    pub fn is_data(&self) -> bool {
        !NON_DATA_KINDS.contains(&self.kind.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub location: ParameterLocation,
    /// Inferred type: integer, number, boolean, string, uuid, date, hash, json, ….
    #[serde(default)]
    pub value_type: String,
    /// Present in every sample.
    #[serde(default)]
    pub required: bool,
    /// A few distinct example values; secret-like ones replaced by a scrub placeholder.
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterLocation {
    Path,
    Query,
    Body,
    Header,
    Cookie,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    pub style: PaginationStyle,
    /// The request parameter(s) that move through pages, e.g. `page`, `offset`, `cursor`.
    pub parameters: Vec<String>,
    /// The page size parameter, when one was seen (`limit`, `per_page`, …).
    #[serde(default)]
    pub page_size_parameter: Option<String>,
    /// Dotted path of the response field holding the next cursor or next link
    /// (`meta.next_cursor`, `links.next`), when the style has one.
    #[serde(default)]
    pub next_field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaginationStyle {
    Page,
    Offset,
    Cursor,
    NextLink,
}

impl PaginationStyle {
    /// The style's name as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            PaginationStyle::Page => "page",
            PaginationStyle::Offset => "offset",
            PaginationStyle::Cursor => "cursor",
            PaginationStyle::NextLink => "next-link",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequirement {
    pub kind: AuthKind,
    /// Cookie, header or parameter name.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    SessionCookie,
    AntiBotCookie,
    Bearer,
    ApiKey,
    Csrf,
    Basic,
}

impl AuthKind {
    /// The kind's name as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            AuthKind::SessionCookie => "session-cookie",
            AuthKind::AntiBotCookie => "anti-bot-cookie",
            AuthKind::Bearer => "bearer",
            AuthKind::ApiKey => "api-key",
            AuthKind::Csrf => "csrf",
            AuthKind::Basic => "basic",
        }
    }
}

/// One dynamic value an endpoint sends, and the earlier response that minted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Cookie, header or parameter name.
    pub name: String,
    pub location: ParameterLocation,
    /// `None` when no earlier response in the capture produced the value.
    #[serde(default)]
    pub minted_by: Option<ValueSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSource {
    pub how: MintedBy,
    pub request_id: String,
    /// The endpoint of the minting request, when it is in the inventory.
    #[serde(default)]
    pub endpoint_id: Option<String>,
    pub method: String,
    /// URL of the minting request without its query string.
    pub url: String,
    /// Cookie name, dotted JSON path, input name or header name.
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MintedBy {
    SetCookie,
    JsonField,
    HtmlInput,
    HtmlMeta,
    /// A cookie no response set: the page's JavaScript wrote it.
    JsCookie,
    ResponseHeader,
    Redirect,
}

/// Result of the intent filter step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntentRanking {
    #[serde(default)]
    pub intent_text: String,
    #[serde(default)]
    pub starter_template: String,
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

/// A client profile of the replay cascade, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayProfile {
    /// Bare HTTP client: no cookies, the client's default headers.
    Plain,
    /// The captured request headers, no cookies.
    BrowserHeaders,
    /// The captured headers and cookies.
    BrowserSession,
    /// Captured headers and cookies over a client with Chrome's TLS and HTTP/2 fingerprint.
    Impersonate,
}

impl ReplayProfile {
    /// The profile's name as reports and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            ReplayProfile::Plain => "plain",
            ReplayProfile::BrowserHeaders => "browser-headers",
            ReplayProfile::BrowserSession => "browser-session",
            ReplayProfile::Impersonate => "impersonate",
        }
    }
}

/// A network egress tier, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkTier {
    Direct,
    Datacenter,
    Residential,
}

impl NetworkTier {
    /// The tier's name as reports and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            NetworkTier::Direct => "direct",
            NetworkTier::Datacenter => "datacenter",
            NetworkTier::Residential => "residential",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Same status class and a body of the same shape as captured.
    Pass,
    /// A challenge or block page, or 403/429 from a known vendor.
    Blocked,
    /// Anything else: no response, a different status or shape, a refused address.
    Error,
}

/// Result of the validation step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    #[serde(default)]
    pub results: Vec<EndpointValidation>,
    /// The cheapest combination that passed for every validated endpoint, in words.
    #[serde(default)]
    pub recommendation: Option<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// Replay requests sent to the network for this scan (redirect hops and the diagnosis
    /// included; refused requests are not sent): what the validation quota counts.
    #[serde(default, alias = "requests_spent")]
    pub requests_sent: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointValidation {
    pub endpoint_id: String,
    #[serde(default)]
    pub attempts: Vec<ReplayAttempt>,
    /// The cheapest passing profile × tier, in words; `None` when nothing passed or ran.
    #[serde(default)]
    pub recommendation: Option<String>,
    /// The cheapest passing combination.
    #[serde(default)]
    pub best: Option<ReplayChoice>,
    /// When cookies or headers were needed: the smallest set that still passed.
    #[serde(default)]
    pub minimal: Option<MinimalRequest>,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Plain-language caveats for this endpoint.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Replay requests sent to the network for this endpoint.
    #[serde(default, alias = "requests_spent")]
    pub requests_sent: u32,
    /// Why the endpoint was not replayed at all; `None` when it was.
    #[serde(default)]
    pub not_replayed: Option<NotReplayed>,
}

/// Why validation left an endpoint alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotReplayed {
    pub reason: NotReplayedReason,
    /// What made the decision, in words: "a GraphQL mutation (AddToCart)", "a DELETE request",
    /// "not a public address".
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotReplayedReason {
    /// Replaying it could change state on the site: only GET, HEAD, OPTIONS and POSTs that are
    /// provably read-only (GraphQL queries) are replayed.
    CouldChangeState,
    /// No captured request of the endpoint has a response to compare a replay with.
    NoCapturedResponse,
    /// The target may not be reached: not a public address, a port not allowed, or a host the
    /// capture did not see.
    TargetRefused,
}

impl NotReplayed {
    /// The sentence the report shows: "Not replayed: could change state on the site — …."
    pub fn sentence(&self) -> String {
        let why = match self.reason {
            NotReplayedReason::CouldChangeState => "could change state on the site",
            NotReplayedReason::NoCapturedResponse => "no captured request has a response",
            NotReplayedReason::TargetRefused => "the target may not be reached",
        };
        format!("Not replayed: {why} — {}.", self.detail)
    }
}

/// A profile × tier pair. Ordered by cost, cheapest first, as the cascade tries them: the tier
/// decides (a proxy costs more than any client), then the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplayChoice {
    pub profile: ReplayProfile,
    pub tier: NetworkTier,
}

impl Ord for ReplayChoice {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.tier, self.profile).cmp(&(other.tier, other.profile))
    }
}

impl PartialOrd for ReplayChoice {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// `plain × direct`: how reports and notes name a pair.
impl std::fmt::Display for ReplayChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} × {}", self.profile.name(), self.tier.name())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimalRequest {
    /// Cookie names that must be sent (values are never reported).
    #[serde(default)]
    pub cookies: Vec<String>,
    /// Header names that must be sent.
    #[serde(default)]
    pub headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub status: u16,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Rate-limit headers seen, e.g. `x-ratelimit-remaining: 0`.
    #[serde(default)]
    pub headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayAttempt {
    pub profile: ReplayProfile,
    pub tier: NetworkTier,
    /// HTTP status, `None` when no response came.
    pub status: Option<u16>,
    pub verdict: Verdict,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// 0.0 to 1.0: how closely the body matches the captured response.
    #[serde(default)]
    pub similarity: Option<f64>,
}

impl ReplayAttempt {
    /// An attempt with its outcome only: no reason, timing, size or similarity yet.
    pub fn outcome(choice: ReplayChoice, status: Option<u16>, verdict: Verdict) -> ReplayAttempt {
        ReplayAttempt {
            profile: choice.profile,
            tier: choice.tier,
            status,
            verdict,
            reason: None,
            latency_ms: None,
            bytes: None,
            content_type: None,
            similarity: None,
        }
    }
}

/// Result of the scrub step: where the scrubbed capture lives and what was replaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScrubSummary {
    pub scrubbed_capture_key: String,
    #[serde(default)]
    pub replacements: u64,
    /// Replacements per placeholder kind (`cookie`, `bearer`, `jwt`, `email`, …).
    #[serde(default)]
    pub by_kind: std::collections::BTreeMap<String, u64>,
}

/// Result of the synthesis step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Synthesis {
    #[serde(default)]
    pub snippets: Vec<Snippet>,
    /// Caveats: anti-bot findings, IP-bound cookies, rate limits.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Why the code looks the way it does (which validation result chose the library, …).
    #[serde(default)]
    pub drivers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub endpoint_id: String,
    /// python, curl, rust.
    pub language: String,
    pub code: String,
    /// The HTTP library the code uses: requests, httpx, curl_cffi, curl, reqwest.
    #[serde(default)]
    pub library: Option<String>,
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
    #[serde(default)]
    pub scrub: Option<ScrubSummary>,
    /// What changed since the previous scan of the site; `None` only in reports rendered
    /// before drift existed (a first scan has a drift with no previous scan).
    #[serde(default)]
    pub drift: Option<crate::Drift>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportScan {
    pub id: Uuid,
    pub target_url: String,
    pub status: ScanStatus,
    #[serde(default)]
    pub intent_text: String,
    #[serde(default)]
    pub starter_template: String,
}

/// What render stores: the report, its HTML page and the OpenAPI document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedReport {
    pub report: Report,
    pub html: String,
    /// OpenAPI 3.1 document of the inventory, built from scrubbed data.
    #[serde(default)]
    pub openapi: Option<serde_json::Value>,
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
                intent_text: "prices".into(),
                starter_template: "products".into(),
            },
            detection: Detection {
                vendors: vec![VendorFinding {
                    id: "akamai".into(),
                    product: "Bot Manager".into(),
                    category: "bot-management".into(),
                    confidence: 0.9,
                    evidence: vec![Evidence {
                        rule: "akamai.cookie.abck".into(),
                        detail: "cookie _abck".into(),
                        request_id: Some("1".into()),
                    }],
                }],
                ..Default::default()
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
                pagination: Some(Pagination {
                    style: PaginationStyle::Page,
                    parameters: vec!["page".into()],
                    page_size_parameter: None,
                    next_field: None,
                }),
                ..Default::default()
            }],
            intent: IntentRanking {
                intent_text: "prices".into(),
                starter_template: "products".into(),
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
                        profile: ReplayProfile::Plain,
                        tier: NetworkTier::Direct,
                        status: Some(200),
                        verdict: Verdict::Pass,
                        reason: None,
                        latency_ms: Some(12),
                        bytes: Some(100),
                        content_type: Some("application/json".into()),
                        similarity: Some(1.0),
                    }],
                    recommendation: Some("plain × direct".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
            synthesis: Synthesis {
                snippets: vec![Snippet {
                    endpoint_id: "e1".into(),
                    language: "curl".into(),
                    code: "curl https://api.shop.example/products/1".into(),
                    library: Some("curl".into()),
                }],
                notes: vec!["note".into()],
                drivers: vec![],
            },
            scrub: None,
            drift: Some(crate::Drift::default()),
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
            "/endpoints/0/pagination/style",
            "/drift/changes",
        ] {
            assert!(value.pointer(pointer).is_some(), "missing {pointer}");
        }
        let back: Report = serde_json::from_value(value).unwrap();
        assert_eq!(back, report);

        let rendered = RenderedReport {
            report,
            html: "<html></html>".into(),
            openapi: None,
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
        let validation: Validation = serde_json::from_str(
            r#"{"results":[{"endpoint_id":"e1","requests_spent":2}],"requests_spent":3}"#,
        )
        .unwrap();
        assert_eq!(validation.requests_sent, 3);
        assert_eq!(validation.results[0].requests_sent, 2);
        assert_eq!(validation.results[0].not_replayed, None);
        let scrub: ScrubSummary =
            serde_json::from_str(r#"{"scrubbed_capture_key":"scrubbed/x.json.gz"}"#).unwrap();
        assert_eq!(scrub.replacements, 0);
    }

    #[test]
    fn an_endpoint_not_replayed_says_why() {
        let result = EndpointValidation {
            endpoint_id: "e1".into(),
            not_replayed: Some(NotReplayed {
                reason: NotReplayedReason::CouldChangeState,
                detail: "a GraphQL mutation (AddToCart)".into(),
            }),
            ..Default::default()
        };
        let value = serde_json::to_value(&result).unwrap();
        assert_eq!(
            value["not_replayed"],
            serde_json::json!({"reason": "could-change-state", "detail": "a GraphQL mutation (AddToCart)"})
        );
        assert_eq!(
            result.not_replayed.unwrap().sentence(),
            "Not replayed: could change state on the site — a GraphQL mutation (AddToCart)."
        );
    }

    #[test]
    fn enum_names_are_their_json_names() {
        fn assert_json_names<T: Serialize + Copy>(values: &[T], name: fn(T) -> &'static str) {
            for value in values {
                assert_eq!(serde_json::to_value(value).unwrap(), name(*value));
            }
        }
        use ReplayProfile::*;
        assert_json_names(
            &[Plain, BrowserHeaders, BrowserSession, Impersonate],
            ReplayProfile::name,
        );
        use NetworkTier::*;
        assert_json_names(&[Direct, Datacenter, Residential], NetworkTier::name);
        use PaginationStyle::*;
        assert_json_names(&[Page, Offset, Cursor, NextLink], PaginationStyle::name);
        use AuthKind::*;
        assert_json_names(
            &[SessionCookie, AntiBotCookie, Bearer, ApiKey, Csrf, Basic],
            AuthKind::name,
        );
    }

    #[test]
    fn replay_choices_order_by_tier_then_profile() {
        let choice = |profile, tier| ReplayChoice { profile, tier };
        let impersonate_direct = choice(ReplayProfile::Impersonate, NetworkTier::Direct);
        let plain_datacenter = choice(ReplayProfile::Plain, NetworkTier::Datacenter);
        let session_datacenter = choice(ReplayProfile::BrowserSession, NetworkTier::Datacenter);
        assert!(impersonate_direct < plain_datacenter);
        assert!(plain_datacenter < session_datacenter);
        assert_eq!(impersonate_direct.to_string(), "impersonate × direct");
    }
}
