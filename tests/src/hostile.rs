//! Hostile site text for the starter-code tests: strings built to break out of a string literal
//! or a comment in the shell, Python or Rust, a capture of a shop that puts them in every place a
//! site controls and synthesis writes into code, and the chain that turns it into starter code.
//! The fuzz workspace includes this file as it is (`fuzz/src/lib.rs`), so it names no crate of
//! its own: the list of hostile strings lives once.

use recon_contracts::{
    Body, Capture, CaptureSource, Endpoint, Header, IntentRanking, Inventory, RankedEndpoint,
    RequestRecord, ResourceType, ResponseRecord, Synthesis, Timing, Validation,
    CAPTURE_FORMAT_VERSION,
};
use serde_json::{json, Value};

/// In every hostile string, and again after every character that could end a string or a
/// comment, so that any escaping that fails leaves it in code (a NAME token in Python, an
/// unquoted word in the shell). Lower case: some names reach the code lower-cased.
pub const MARKER: &str = "pwned";

/// Each one tries to end what it is written into and run something the site chose: a command
/// (`touch pwned-…` names the file it would leave behind), Python or Rust code.
pub const HOSTILE: &[&str] = &[
    // The issue's attack: a newline ends a `#` comment and the next line runs.
    "pwned\npwned touch pwned-newline\n#pwned",
    "pwned\rpwned touch pwned-carriage-return\r\npwned touch pwned-crlf",
    "pwned\u{2028}pwned touch pwned-line-separator\u{2029}pwned touch pwned-paragraph-separator",
    "pwned\u{85}pwned touch pwned-next-line",
    "pwned\u{b}\u{c}pwned touch pwned-vertical-tab-form-feed",
    "pwned\0pwned touch pwned-nul",
    // Terminal control: end bracketed paste, cancel or kill the line being pasted.
    "pwned\u{1b}[201~\npwned touch pwned-bracketed-paste\npwned",
    "pwned\u{3}\u{15}\u{4}pwned touch pwned-control-keys\npwned",
    "pwned\u{7f}\u{9b}31mpwned\u{1b}]0;pwned\u{7}pwned",
    "pwned\tpwned touch pwned-tab",
    // The shell.
    "pwned$(touch pwned-command-substitution)pwned",
    "pwned`touch pwned-backticks`pwned",
    "pwned${IFS}pwned$(touch${IFS}pwned-ifs)pwned",
    "pwned;touch pwned-semicolon;pwned",
    "pwned|touch pwned-pipe&&touch pwned-and||touch pwned-or&pwned",
    "pwned'pwned;touch pwned-single-quote;'pwned",
    "pwned\"pwned;touch pwned-double-quote;\"pwned",
    "pwned\\'pwned;touch pwned-escaped-quote;'pwned",
    "pwned\\\npwned touch pwned-line-continuation",
    "pwned$'\\x27'pwned;touch pwned-ansi-c;pwned",
    "pwned!!pwned!-1pwned!#pwned",
    "pwned*pwned?pwned[a-z]pwned~pwned{a,b}pwned",
    "-pwned --output pwned-option",
    "pwned@pwned-at-file",
    // Python.
    "pwned\"\"\"pwned\npwned = __import__('os').system('touch pwned-triple-quote')#pwned",
    "pwned\\\"pwned + pwned + \"pwned",
    "pwned\\N{LATIN SMALL LETTER A}\\x41\\u0041\\U00000041\\pwned",
    "pwned{pwned}{{pwned}}{0}{:?}{}pwned",
    "pwned# -*- coding: latin-1 -*-pwned",
    // Rust.
    "pwned*/pwned/*pwned",
    "pwned\"pwned);std::process::Command::new(\"touch\").arg(\"pwned-rust\").status();(\"pwned",
    "pwned\"#pwned r#\"pwned\"#pwned",
    "pwned\u{202e}pwned\u{2066}pwned\u{200b}pwned\u{feff}pwned",
    // An HTTP header name can hold all of these.
    "x-pwned`pwned`|$pwned&'pwned",
    "pwned%0apwned%24%28touch%20pwned-percent%29",
];

/// Characters the escaping must know, for generated hostile text (the property test and the
/// fuzz target build strings of them).
pub const SPECIAL_CHARS: &[char] = &[
    '\n', '\r', '\0', '\t', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}',
    '\u{2029}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}', '\'', '"', '\\', '$', '`', '{',
    '}', '(', ')', '#', '*', '/', ';', '|', '&', '!', '%', '@', '-', '=', ' ', '<', '>', '~', '[',
    ']', '?', ',', '.', ':', 'é', '😀',
];

/// Pieces of site text joined the way every hostile string is built: the marker before, between
/// and after them.
pub fn with_markers(pieces: &[String]) -> String {
    format!("{MARKER}{}{MARKER}", pieces.join(MARKER))
}

/// Places in the capture the strings fill, in this order (cycling when there are fewer).
pub const SLOTS: usize = 22;

/// Where [`capture_with`] put the strings whose trip into the code a test follows.
#[derive(Debug, Clone)]
pub struct Placed {
    /// A header the item listing sends, `X-Note: <value>`.
    pub header_value: String,
    /// A query parameter of the item listing.
    pub query: (String, String),
    /// A field of the search's JSON body, and one nested in an array of it.
    pub json_field: (String, String),
    pub nested_json: (String, String),
    /// A field of the form body.
    pub form_field: (String, String),
    /// The raw text body.
    pub raw_body: String,
    /// The method of the page that mints a token (the warm-up request).
    pub warm_up_method: String,
    /// A segment of the item listing's path, as the browser sent it.
    pub path_segment: String,
}

pub struct HostileCapture {
    pub capture: Capture,
    pub placed: Placed,
}

/// [`HOSTILE`] starting at `rotation`: over `HOSTILE.len()` rotations every string visits every
/// slot.
pub fn capture(rotation: usize) -> HostileCapture {
    let strings: Vec<String> = (0..SLOTS)
        .map(|slot| HOSTILE[(rotation + slot) % HOSTILE.len()].to_owned())
        .collect();
    capture_with(&strings, rotation)
}

/// A shop whose home page mints a token in a meta tag, a form input, a response header and a
/// cookie, then five endpoints that send them back: an item listing (page-number pagination, a
/// next link under a hostile key), a JSON search (cursor in the body), a form post, a GraphQL
/// query and a raw text post. Every name and value a site controls is one of `strings`. `seed`
/// keeps the tokens of one capture apart from another's.
pub fn capture_with(strings: &[String], seed: usize) -> HostileCapture {
    let fallback = [MARKER.to_owned()];
    let strings = if strings.is_empty() {
        &fallback[..]
    } else {
        strings
    };
    let slot = |index: usize| strings[index % strings.len()].clone();
    let meta_token = format!("meta-token-{seed}-9f8e7d6c");
    let input_token = format!("input-token-{seed}-5b4a3c2d");
    let header_token = format!("header-token-{seed}-1e2f3a4b");
    let jar_value = format!("jar-{seed}-77aa88bb");

    let meta_name = quoted_attribute(&slot(0));
    let input_name = quoted_attribute(&slot(1));
    let jar_cookie = cookie_name(&slot(2), "jar");
    let path_segment = path_segment(&slot(3));
    let query = (slot(4), slot(5));
    let header_value = slot(6);
    let header_name = slot(7);
    let plain_cookie = cookie_name(&slot(8), "plain");
    let json_field = (slot(9), slot(10));
    let nested_json = (slot(11), slot(12));
    let form_field = (slot(13), slot(14));
    let operation = slot(15);
    let variable = (slot(16), slot(17));
    let raw_body = slot(18);
    let warm_up_method = slot(19);
    let next_parent = slot(20);
    let minting_header = format!("{}-token", slot(21));

    let home_html = format!(
        "<html><head><meta name={} content=\"{meta_token}\"><title>Shop</title></head><body>\
         <form><input type=\"hidden\" name={} value=\"{input_token}\"></form></body></html>",
        meta_name, input_name
    );
    let mut home = request(
        "home",
        0,
        &warm_up_method,
        "https://shop.example/",
        ResourceType::Document,
        vec![Header::new("Accept", "text/html")],
        None,
        "text/html",
        &home_html,
    );
    if let Some(response) = home.response.as_mut() {
        response.headers.push(Header::new(
            "Set-Cookie",
            format!("{jar_cookie}={jar_value}; Path=/"),
        ));
        response
            .headers
            .push(Header::new(&minting_header, &header_token));
    }

    let api = "https://api.shop.example";
    let mut next_link = serde_json::Map::new();
    next_link.insert(next_parent.clone(), json!({"next": "/api/items?page=2"}));
    let mut listing_response = json!({"items": [{"id": 1}, {"id": 2}]});
    if let Some(object) = listing_response.as_object_mut() {
        object.extend(next_link);
    }
    let listing = request(
        "listing",
        1,
        "GET",
        &format!(
            "{api}/api/{path_segment}/items?page=1&{}={}",
            percent_encode(&query.0),
            percent_encode(&query.1)
        ),
        ResourceType::Fetch,
        vec![
            Header::new("Accept", "application/json"),
            Header::new("X-Note", &header_value),
            Header::new(&header_name, "a header whose name the site chose"),
            Header::new("X-Csrf-Token", &meta_token),
            Header::new("X-Request-Token", &header_token),
            Header::new(
                "Cookie",
                format!("{plain_cookie}=plain-cookie-value; {jar_cookie}={jar_value}"),
            ),
        ],
        None,
        "application/json",
        &listing_response.to_string(),
    );

    let mut search_body = serde_json::Map::new();
    search_body.insert(json_field.0.clone(), Value::String(json_field.1.clone()));
    let mut nested = serde_json::Map::new();
    nested.insert(
        nested_json.0.clone(),
        json!([
            nested_json.1,
            5_000_000_000_i64,
            -1.5e-7,
            u64::MAX,
            true,
            null
        ]),
    );
    search_body.insert("filters".to_owned(), Value::Object(nested));
    search_body.insert("cursor".to_owned(), json!("cursor-1"));
    // Deeper than `json!` can expand in the Rust code.
    let deep = (0..DEEP_BODY).fold(Value::String(slot(12)), |inner, level| {
        let mut object = serde_json::Map::new();
        object.insert(format!("level{level}"), json!([inner]));
        Value::Object(object)
    });
    search_body.insert("deep".to_owned(), deep);
    let search = request(
        "search",
        2,
        "POST",
        &format!("{api}/api/search"),
        ResourceType::Fetch,
        vec![Header::new("Content-Type", "application/json")],
        Some(Value::Object(search_body).to_string()),
        "application/json",
        r#"{"data":[{"id":3}],"next_cursor":"cursor-2"}"#,
    );

    let form = request(
        "form",
        3,
        "POST",
        &format!("{api}/api/form"),
        ResourceType::Fetch,
        vec![Header::new(
            "Content-Type",
            "application/x-www-form-urlencoded",
        )],
        Some(format!(
            "{}={}&csrf_field={input_token}",
            percent_encode(&form_field.0),
            percent_encode(&form_field.1)
        )),
        "application/json",
        r#"{"ok":true}"#,
    );

    let mut variables = serde_json::Map::new();
    variables.insert(variable.0, Value::String(variable.1));
    let graphql = request(
        "graphql",
        4,
        "POST",
        &format!("{api}/graphql"),
        ResourceType::Fetch,
        vec![Header::new("Content-Type", "application/json")],
        Some(
            json!({
                "operationName": operation,
                "query": "query Items($q: String) { items(q: $q) { id } }",
                "variables": variables,
            })
            .to_string(),
        ),
        "application/json",
        r#"{"data":{"items":[{"id":4}]}}"#,
    );

    let raw = request(
        "raw",
        5,
        "POST",
        &format!("{api}/api/raw"),
        ResourceType::Fetch,
        vec![Header::new("Content-Type", "text/plain")],
        Some(raw_body.clone()),
        "application/json",
        r#"{"ok":true}"#,
    );

    HostileCapture {
        capture: Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: CaptureSource::Chrome,
            target_url: "https://shop.example/".to_owned(),
            started_at_ms: T0,
            ended_at_ms: T0 + 60_000.0,
            browser: Some("Chrome/131.0.0.0".to_owned()),
            pages: Vec::new(),
            requests: vec![home, listing, search, form, graphql, raw],
            cookies: Vec::new(),
            streams: Vec::new(),
        },
        placed: Placed {
            header_value,
            query,
            json_field,
            nested_json,
            form_field,
            raw_body,
            warm_up_method,
            path_segment,
        },
    }
}

/// The ranking of every endpoint except documents: intent ranking is not what these tests are
/// about, and each endpoint writes site text somewhere else.
pub fn rank_every_endpoint(inventory: &Inventory) -> IntentRanking {
    IntentRanking {
        ranked: inventory
            .endpoints
            .iter()
            .filter(|endpoint| !is_document(endpoint))
            .map(|endpoint| RankedEndpoint {
                endpoint_id: endpoint.id.clone(),
                score: 1.0,
                reasons: Vec::new(),
            })
            .collect(),
        ..IntentRanking::default()
    }
}

fn is_document(endpoint: &Endpoint) -> bool {
    endpoint.host == "shop.example"
}

/// Starter code for `capture` through the real stages, as the pipeline runs them (detection and
/// analysis on the raw capture, synthesis on the scrubbed one); no endpoint was validated, so
/// the code sends every captured header and cookie.
pub fn starter_code(capture: &Capture) -> Synthesis {
    let detection = recon_detection::detect(capture);
    let inventory = recon_analysis::analyze(capture, &detection);
    let ranking = rank_every_endpoint(&inventory);
    let scrubbed = recon_scrub::scrub(capture.clone()).capture;
    recon_synthesis::synthesize(&recon_synthesis::SynthesisInputs {
        scrubbed: &scrubbed,
        detection: &detection,
        inventory: &inventory,
        ranking: &ranking,
        validation: &Validation::default(),
    })
}

const T0: f64 = 1_764_000_000_000.0;
/// Levels of nesting (an object and an array each) of the search body's `deep` field.
const DEEP_BODY: usize = 20;

#[allow(clippy::too_many_arguments)]
fn request(
    id: &str,
    order: u32,
    method: &str,
    url: &str,
    resource_type: ResourceType,
    request_headers: Vec<Header>,
    post_data: Option<String>,
    mime: &str,
    body: &str,
) -> RequestRecord {
    RequestRecord {
        id: id.to_owned(),
        page_id: None,
        method: method.to_owned(),
        url: url.to_owned(),
        resource_type,
        initiator: None,
        request_headers,
        post_data: post_data.map(Body::text),
        response: Some(ResponseRecord {
            status: 200,
            status_text: "OK".to_owned(),
            headers: vec![Header::new("Content-Type", mime)],
            mime_type: mime.to_owned(),
            body: Some(Body::text(body)),
            remote_address: None,
            protocol: None,
            from_cache: false,
            from_service_worker: false,
        }),
        timing: Timing {
            started_at_ms: T0 + f64::from(order) * 100.0,
            duration_ms: Some(20.0),
            wait_ms: None,
        },
        redirected_from: None,
        failure: None,
    }
}

/// `text` as a quoted HTML attribute value that analysis reads back: quoted with whichever quote
/// it does not hold (double quotes dropped when it holds both).
fn quoted_attribute(text: &str) -> String {
    if !text.contains('"') {
        format!("\"{text}\"")
    } else if !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("\"{}\"", text.replace('"', ""))
    }
}

/// A cookie name a Cookie header can carry: no `;`, `=` or `,`, no surrounding space.
fn cookie_name(text: &str, fallback: &str) -> String {
    let name: String = text
        .chars()
        .filter(|c| !matches!(c, ';' | '=' | ','))
        .collect();
    let name = name.trim();
    if name.is_empty() {
        fallback.to_owned()
    } else {
        name.to_owned()
    }
}

/// A path segment as it stays one: `/`, `?` and `#` would cut the URL elsewhere.
fn path_segment(text: &str) -> String {
    text.replace(['/', '?', '#'], "_")
}

/// Every byte except unreserved ones as `%XX`, as a browser sends a query or form value.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
