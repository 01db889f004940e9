//! Structure-aware inputs for the stage fuzz targets. Random bytes almost never parse as a JSON
//! capture, so the targets take a [`CaptureRecipe`] (built by `arbitrary` from the fuzzer's
//! bytes) and turn it into a realistic [`Capture`]: a few hosts, REST paths with numeric ids and
//! UUIDs, query strings, GraphQL, JSON, HTML and form bodies, anti-bot cookies and headers,
//! redirects, failures and the statuses block pages use. Every stage's real code path then runs.

/// The starter-code tests' hostile strings and lexers, included as they are: the fuzz workspace
/// does not build recon-tests' own dependencies (the browser driver, database and AWS clients).
#[path = "../../tests/src/hostile.rs"]
pub mod hostile;
pub mod hostile_text;
pub mod pipeline;
#[path = "../../tests/src/snippet_syntax.rs"]
pub mod snippet_syntax;

use arbitrary::{Arbitrary, Result, Unstructured};
use recon_contracts::{
    Body, BodyEncoding, Capture, CaptureSource, Cookie, Header, Initiator, Page, RequestRecord,
    ResourceType, ResponseRecord, StreamKind, StreamSummary, Timing, CAPTURE_FORMAT_VERSION,
};
use serde_json::{json, Map, Value};

/// Requests one recipe may hold: enough for grouping and templating, small enough that one
/// input runs in milliseconds.
const MAX_REQUESTS: usize = 48;
/// JSON nesting the api accepts (serde_json's recursion limit is 128).
const MAX_JSON_DEPTH: usize = 24;
const STARTED_AT_MS: f64 = 1_700_000_000_000.0;

const HOSTS: &[&str] = &[
    "shop.example",
    "api.shop.example",
    "www.shop.example",
    "cdn.shop.example",
    "graphql.shop.example",
    "shop.example:8443",
    "xn--bcher-kva.example",
    "static.cloudflareinsights.com",
    "www.google-analytics.com",
    "js.datadome.co",
    "collector-pxabc123.px-cloud.net",
    "sentry.io",
];
const WORDS: &[&str] = &[
    "api",
    "v1",
    "v2",
    "products",
    "product",
    "search",
    "cart",
    "items",
    "users",
    "me",
    "orders",
    "graphql",
    "category",
    "reviews",
    "page",
    "login",
    "static",
    "app.js",
    "index.html",
    "price",
    "offers",
    "sku",
    "inventory",
    "auth",
    "token",
    "session",
    "checkout",
    "en-US",
];
const HEADER_NAMES: &[&str] = &[
    "accept",
    "content-type",
    "authorization",
    "x-api-key",
    "x-csrf-token",
    "user-agent",
    "referer",
    "origin",
    "x-requested-with",
    "sec-ch-ua",
    "x-datadome-clientid",
    "x-px-authorization",
    "x-kpsdk-ct",
    "cf-ray",
    "server",
    "set-cookie",
    "retry-after",
    "location",
    "cache-control",
    "x-ratelimit-remaining",
    "x-amz-cf-id",
    "akamai-grn",
];
const COOKIE_NAMES: &[&str] = &[
    "session",
    "sid",
    "cf_clearance",
    "__cf_bm",
    "datadome",
    "_px3",
    "_abck",
    "bm_sz",
    "ak_bmsc",
    "incap_ses_123_456",
    "visid_incap_789",
    "KP_UIDz",
    "csrftoken",
    "_ga",
];
const MIME_TYPES: &[&str] = &[
    "application/json",
    "text/html",
    "application/graphql-response+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "text/javascript",
    "image/png",
    "application/octet-stream",
    "text/event-stream",
    "",
];
const STATUSES: &[u16] = &[
    200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 429, 500, 503,
];
const METHODS: &[&str] = &[
    "GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD",
];
const RESOURCE_TYPES: &[ResourceType] = &[
    ResourceType::Fetch,
    ResourceType::Xhr,
    ResourceType::Document,
    ResourceType::Script,
    ResourceType::Image,
    ResourceType::Stylesheet,
    ResourceType::Font,
    ResourceType::EventSource,
    ResourceType::WebSocket,
    ResourceType::Ping,
    ResourceType::Preflight,
    ResourceType::Other,
];
const SECRETS: &[&str] = &[
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    "sk_live_51HqLyjWDarjtT1zdp7dc",
    "alice@example.com",
    "+1 415 555 0100",
    "4111 1111 1111 1111",
    "AKIAIOSFODNN7EXAMPLE",
];
const BLOCK_PAGES: &[&str] = &[
    "<html><title>Just a moment...</title><script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1\"></script></html>",
    "<html><body>Access Denied. Reference #18.abcd</body></html>",
    "{\"url\":\"https://geo.captcha-delivery.com/captcha/?initialCid=abc\"}",
    "<html><body><div id=\"px-captcha\"></div></body></html>",
    "<html><head><title>Attention Required! | Cloudflare</title></head></html>",
];

/// One word of a URL path, header value or JSON string.
#[derive(Debug, Clone, Arbitrary)]
pub enum Text {
    Word(u8),
    Id(u32),
    Uuid(u128),
    Secret(u8),
    Free(String),
}

impl Text {
    pub fn render(&self) -> String {
        match self {
            Text::Word(i) => pick(WORDS, *i).to_owned(),
            Text::Id(n) => n.to_string(),
            Text::Uuid(n) => uuid::Uuid::from_u128(*n).to_string(),
            Text::Secret(i) => pick(SECRETS, *i).to_owned(),
            Text::Free(text) => text.clone(),
        }
    }
}

/// A JSON value; depth is capped when it is built, as the api's parser caps it.
#[derive(Debug, Arbitrary)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    Array(Vec<Json>),
    Object(Vec<(Text, Json)>),
}

impl Json {
    pub fn value(&self) -> Value {
        self.value_at(0)
    }

    fn value_at(&self, depth: usize) -> Value {
        if depth >= MAX_JSON_DEPTH {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(n) => json!(n),
            // NaN and infinities cannot come out of JSON text.
            Json::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Str(text) => Value::String(text.render()),
            Json::Array(items) => items.iter().map(|item| item.value_at(depth + 1)).collect(),
            Json::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.render(), value.value_at(depth + 1)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

#[derive(Debug, Arbitrary)]
pub enum BodyRecipe {
    Json(Json),
    GraphQl {
        operation: Text,
        fields: Vec<Text>,
        variables: Json,
    },
    Html {
        title: Text,
        scripts: Vec<Text>,
        block_page: Option<u8>,
    },
    Form(Vec<(Text, Text)>),
    Text(String),
    Binary(Vec<u8>),
    Truncated(Box<BodyRecipe>),
}

impl BodyRecipe {
    /// The body and the content type it goes with.
    pub fn build(&self) -> (Body, &'static str) {
        match self {
            BodyRecipe::Json(value) => (Body::text(value.value().to_string()), "application/json"),
            BodyRecipe::GraphQl {
                operation,
                fields,
                variables,
            } => {
                let name = operation.render();
                let selection: Vec<String> = fields.iter().map(Text::render).collect();
                let query = format!("query {name}($id: ID) {{ {} }}", selection.join(" "));
                let body =
                    json!({"operationName": name, "query": query, "variables": variables.value()});
                (Body::text(body.to_string()), "application/json")
            }
            BodyRecipe::Html {
                title,
                scripts,
                block_page,
            } => {
                let html = match block_page {
                    Some(i) => pick(BLOCK_PAGES, *i).to_owned(),
                    None => {
                        let scripts: String = scripts
                            .iter()
                            .map(|src| format!("<script src=\"/{}\"></script>", src.render()))
                            .collect();
                        format!(
                            "<html><head><title>{}</title>{scripts}</head><body></body></html>",
                            title.render()
                        )
                    }
                };
                (Body::text(html), "text/html")
            }
            BodyRecipe::Form(pairs) => {
                let form: Vec<String> = pairs
                    .iter()
                    .map(|(key, value)| format!("{}={}", key.render(), value.render()))
                    .collect();
                (
                    Body::text(form.join("&")),
                    "application/x-www-form-urlencoded",
                )
            }
            BodyRecipe::Text(text) => (Body::text(text.clone()), "text/plain"),
            BodyRecipe::Binary(bytes) => {
                use base64::Engine;
                let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                let body = Body {
                    encoding: BodyEncoding::Base64,
                    data,
                    truncated: false,
                    size: Some(bytes.len() as u64),
                };
                (body, "application/octet-stream")
            }
            BodyRecipe::Truncated(inner) => {
                let (mut body, mime) = inner.build();
                let cut = body.data.len() / 2;
                let cut = (0..=cut)
                    .rev()
                    .find(|i| body.data.is_char_boundary(*i))
                    .unwrap_or(0);
                body.size = Some(body.data.len() as u64 * 2);
                body.data.truncate(cut);
                body.truncated = true;
                (body, mime)
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
pub struct HeaderRecipe {
    pub name: u8,
    pub free_name: Option<String>,
    pub value: Vec<Text>,
}

impl HeaderRecipe {
    fn build(&self) -> Header {
        let name = match &self.free_name {
            Some(name) => name.clone(),
            None => pick(HEADER_NAMES, self.name).to_owned(),
        };
        let value: Vec<String> = self.value.iter().map(Text::render).collect();
        Header::new(name, value.join(" "))
    }
}

#[derive(Debug, Arbitrary)]
pub struct ResponseRecipe {
    pub status: u8,
    pub headers: Vec<HeaderRecipe>,
    pub mime: u8,
    pub body: Option<BodyRecipe>,
    pub from_cache: bool,
    pub from_service_worker: bool,
}

#[derive(Debug, Arbitrary)]
pub struct RequestRecipe {
    pub method: u8,
    pub host: u8,
    pub path: Vec<Text>,
    pub query: Vec<(Text, Text)>,
    pub resource_type: u8,
    pub headers: Vec<HeaderRecipe>,
    pub cookies: Vec<(u8, Text)>,
    pub post: Option<BodyRecipe>,
    pub response: Option<ResponseRecipe>,
    /// Makes this request a redirect hop of the one before it.
    pub redirected: bool,
    pub failure: Option<Text>,
    pub start_ms: u16,
    pub duration_ms: Option<u16>,
    pub page: u8,
    /// A URL given verbatim instead of host + path (odd schemes, IPv6 literals, userinfo…).
    pub raw_url: Option<String>,
}

#[derive(Debug, Arbitrary)]
pub struct CookieRecipe {
    pub name: u8,
    pub value: Text,
    pub host: u8,
    pub expires: Option<i64>,
    pub http_only: bool,
    pub secure: bool,
}

#[derive(Debug, Arbitrary)]
pub struct StreamRecipe {
    pub event_source: bool,
    pub host: u8,
    pub samples: Vec<Json>,
}

#[derive(Debug)]
pub struct CaptureRecipe {
    pub har: bool,
    pub target_host: u8,
    pub target_path: Vec<Text>,
    pub pages: u8,
    pub requests: Vec<RequestRecipe>,
    pub cookies: Vec<CookieRecipe>,
    pub streams: Vec<StreamRecipe>,
}

impl<'a> Arbitrary<'a> for CaptureRecipe {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let har = u.arbitrary()?;
        let target_host = u.arbitrary()?;
        let target_path = u.arbitrary()?;
        let pages = u.int_in_range(0..=3)?;
        let count = u.int_in_range(0..=MAX_REQUESTS)?;
        let mut requests = Vec::with_capacity(count);
        for _ in 0..count {
            if u.is_empty() {
                break;
            }
            requests.push(u.arbitrary()?);
        }
        Ok(CaptureRecipe {
            har,
            target_host,
            target_path,
            pages,
            requests,
            cookies: u.arbitrary()?,
            streams: u.arbitrary()?,
        })
    }
}

impl CaptureRecipe {
    /// The capture, when it passes the checks the api makes at upload (only those reach the
    /// stages).
    pub fn build_valid(&self) -> Option<Capture> {
        let capture = self.build();
        capture.validate().is_ok().then_some(capture)
    }

    pub fn build(&self) -> Capture {
        let target_url = format!(
            "https://{}/{}",
            pick(HOSTS, self.target_host),
            path(&self.target_path)
        );
        let pages: Vec<Page> = (0..self.pages)
            .map(|i| Page {
                id: format!("page-{i}"),
                url: target_url.clone(),
                title: Some(format!("Shop page {i}")),
                started_at_ms: STARTED_AT_MS + f64::from(i) * 1000.0,
            })
            .collect();
        let mut requests: Vec<RequestRecord> = Vec::with_capacity(self.requests.len());
        for (index, recipe) in self.requests.iter().enumerate() {
            let record = request(recipe, index, &pages, requests.last());
            requests.push(record);
        }
        let cookies = self
            .cookies
            .iter()
            .map(|cookie| Cookie {
                name: pick(COOKIE_NAMES, cookie.name).to_owned(),
                value: cookie.value.render(),
                domain: format!(".{}", pick(HOSTS, cookie.host)),
                path: "/".to_owned(),
                expires: cookie.expires,
                http_only: cookie.http_only,
                secure: cookie.secure,
                same_site: Some("Lax".to_owned()),
            })
            .collect();
        let streams = self
            .streams
            .iter()
            .map(|stream| StreamSummary {
                kind: if stream.event_source {
                    StreamKind::EventSource
                } else {
                    StreamKind::WebSocket
                },
                url: format!(
                    "{}://{}/live",
                    if stream.event_source { "https" } else { "wss" },
                    pick(HOSTS, stream.host)
                ),
                messages_sent: 1,
                messages_received: stream.samples.len() as u64,
                samples: stream
                    .samples
                    .iter()
                    .map(|s| s.value().to_string())
                    .collect(),
            })
            .collect();
        Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: if self.har {
                CaptureSource::Har
            } else {
                CaptureSource::Chrome
            },
            target_url,
            started_at_ms: STARTED_AT_MS,
            ended_at_ms: STARTED_AT_MS + 90_000.0,
            browser: Some("Chrome/131.0.6778.85".to_owned()),
            pages,
            requests,
            cookies,
            streams,
        }
    }
}

fn request(
    recipe: &RequestRecipe,
    index: usize,
    pages: &[Page],
    previous: Option<&RequestRecord>,
) -> RequestRecord {
    let mut url = match &recipe.raw_url {
        Some(raw) => raw.clone(),
        None => format!(
            "https://{}/{}",
            pick(HOSTS, recipe.host),
            path(&recipe.path)
        ),
    };
    if !recipe.query.is_empty() {
        let query: Vec<String> = recipe
            .query
            .iter()
            .map(|(key, value)| format!("{}={}", key.render(), value.render()))
            .collect();
        url.push('?');
        url.push_str(&query.join("&"));
    }
    let mut request_headers: Vec<Header> = recipe.headers.iter().map(HeaderRecipe::build).collect();
    if !recipe.cookies.is_empty() {
        let cookie: Vec<String> = recipe
            .cookies
            .iter()
            .map(|(name, value)| format!("{}={}", pick(COOKIE_NAMES, *name), value.render()))
            .collect();
        request_headers.push(Header::new("Cookie", cookie.join("; ")));
    }
    let post_data = recipe.post.as_ref().map(|body| {
        let (body, mime) = body.build();
        request_headers.push(Header::new("Content-Type", mime));
        body
    });
    let response = recipe.response.as_ref().map(|response| {
        let mut headers: Vec<Header> = response.headers.iter().map(HeaderRecipe::build).collect();
        let (body, mime) = match &response.body {
            Some(body) => {
                let (body, mime) = body.build();
                (Some(body), mime)
            }
            None => (None, pick(MIME_TYPES, response.mime)),
        };
        headers.push(Header::new("content-type", mime));
        ResponseRecord {
            status: pick(STATUSES, response.status),
            status_text: String::new(),
            headers,
            mime_type: mime.to_owned(),
            body,
            remote_address: Some("93.184.215.14:443".to_owned()),
            protocol: Some("h2".to_owned()),
            from_cache: response.from_cache,
            from_service_worker: response.from_service_worker,
        }
    });
    let started_at_ms = STARTED_AT_MS + f64::from(recipe.start_ms);
    RequestRecord {
        id: format!("{}.{index}", 1000 + index),
        page_id: (!pages.is_empty())
            .then(|| pages[usize::from(recipe.page) % pages.len()].id.clone()),
        method: pick(METHODS, recipe.method).to_owned(),
        url,
        resource_type: pick(RESOURCE_TYPES, recipe.resource_type),
        initiator: Some(Initiator {
            kind: "script".to_owned(),
            url: Some("https://shop.example/app.js".to_owned()),
        }),
        request_headers,
        post_data,
        response,
        timing: Timing {
            started_at_ms,
            duration_ms: recipe.duration_ms.map(f64::from),
            wait_ms: recipe.duration_ms.map(|d| f64::from(d) / 2.0),
        },
        redirected_from: recipe
            .redirected
            .then(|| previous.map(|p| p.id.clone()))
            .flatten(),
        failure: recipe.failure.as_ref().map(Text::render),
    }
}

fn path(segments: &[Text]) -> String {
    segments
        .iter()
        .map(Text::render)
        .collect::<Vec<_>>()
        .join("/")
}

fn pick<T: Copy>(items: &[T], index: u8) -> T {
    items[usize::from(index) % items.len()]
}
