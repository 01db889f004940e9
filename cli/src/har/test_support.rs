//! What the HAR importer's tests share: the demo shop's Chrome HAR (tests/fixtures/demo.har), a
//! small Firefox HAR without Chrome's extensions, and a way to import a HAR given as text.

use std::path::{Path, PathBuf};

use recon_contracts::{Body, Capture, RequestRecord};

use super::{import_bytes, import_file, HarError, Import};

pub const TARGET: &str = "https://demo-shop.recon.test/";

/// Read at run time first: a target dir shared by two checkouts may hold a test binary built in
/// the other one.
fn fixture_path() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../tests/fixtures/demo.har")
}

/// The demo shop as Chrome exported it.
pub fn demo() -> Import {
    import_file(&fixture_path(), Some(TARGET)).unwrap()
}

/// A Firefox export: no `_resourceType`, no parsed response cookies, a `data:` URL.
pub fn firefox() -> Import {
    import_text(FIREFOX_HAR).unwrap()
}

pub fn by_url<'a>(capture: &'a Capture, method: &str, url: &str) -> &'a RequestRecord {
    capture
        .requests
        .iter()
        .find(|request| request.method == method && request.url == url)
        .unwrap_or_else(|| panic!("no {method} {url} in the capture"))
}

/// The response body `request` kept; panics when it kept none.
pub fn response_body(request: &RequestRecord) -> &Body {
    request
        .response
        .as_ref()
        .and_then(|response| response.body.as_ref())
        .unwrap_or_else(|| panic!("no response body for {}", request.url))
}

/// A HAR file around `entries` (the text between the brackets of `log.entries`).
pub fn har(entries: &str) -> String {
    format!(
        r#"{{"log": {{"version": "1.2", "creator": {{"name": "test", "version": "1"}}, "entries": [{entries}]}}}}"#
    )
}

/// One GET entry of `url` answered 200 with `content` (the JSON of HAR's `response.content`).
pub fn get_entry(url: &str, content: &str) -> String {
    format!(
        r#"{{"startedDateTime": "2025-03-14T09:30:12Z", "request": {{"method": "GET", "url": "{url}"}},
            "response": {{"status": 200, "headers": [], "content": {content}}}}}"#
    )
}

/// Imports `text` as a file named `test.har`.
pub fn import_text(text: &str) -> Result<Import, HarError> {
    import_bytes(text.as_bytes(), Path::new("test.har"), TARGET)
}

const FIREFOX_HAR: &str = r#"{
  "log": {
    "version": "1.2",
    "creator": {"name": "Firefox", "version": "133.0"},
    "browser": {"name": "Firefox", "version": "133.0"},
    "pages": [{"startedDateTime": "2025-03-14T10:30:12.104+01:00", "id": "page_1",
               "title": "Demo Shop", "pageTimings": {"onLoad": 512}}],
    "entries": [
      {"pageref": "page_1", "startedDateTime": "2025-03-14T10:30:12.104+01:00", "time": 88,
       "request": {"method": "GET", "url": "https://demo-shop.recon.test/en/", "httpVersion": "HTTP/2",
                   "headers": [{"name": "Sec-Fetch-Dest", "value": "document"}],
                   "cookies": [{"name": "consent", "value": "all"}], "queryString": [],
                   "headersSize": 300, "bodySize": 0},
       "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/2",
                    "headers": [{"name": "content-type", "value": "text/html; charset=utf-8"},
                                {"name": "set-cookie", "value": "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax"}],
                    "cookies": [], "content": {"mimeType": "text/html; charset=utf-8", "size": 15, "text": "<html></html>"},
                    "redirectURL": "", "headersSize": 200, "bodySize": 15},
       "cache": {}, "timings": {"blocked": 0, "dns": 0, "connect": 0, "ssl": 0, "send": 0, "wait": 80, "receive": 8}},
      {"pageref": "page_1", "startedDateTime": "2025-03-14T10:30:12.300+01:00", "time": 40,
       "request": {"method": "GET", "url": "https://demo-shop.recon.test/api/products?page=1",
                   "headers": [{"name": "Accept", "value": "application/json"}], "cookies": null},
       "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/2", "headers": [],
                    "content": {"mimeType": "application/json", "size": 2, "text": "[]"}, "redirectURL": ""},
       "timings": {"wait": 30}},
      {"startedDateTime": "2025-03-14T10:30:12.400+01:00", "time": 20,
       "request": {"method": "POST", "url": "https://demo-shop.recon.test/login",
                   "headers": [{"name": "X-Requested-With", "value": "XMLHttpRequest"}],
                   "postData": {"mimeType": "application/x-www-form-urlencoded",
                                "params": [{"name": "user", "value": "ada"}, {"name": "next", "value": "/en/?a=1"}]}},
       "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json", "text": "{}"}}},
      {"startedDateTime": "2025-03-14T10:30:12.500+01:00", "time": 5,
       "request": {"method": "GET", "url": "https://demo-shop.recon.test/img/logo.webp", "headers": []},
       "response": {"status": 200, "headers": [], "content": {"mimeType": "image/webp", "size": 0}}},
      {"startedDateTime": "2025-03-14T10:30:12.600+01:00", "time": 5,
       "request": {"method": "GET", "url": "https://demo-shop.recon.test/static/app.js", "headers": []},
       "response": {"status": 304, "headers": [], "content": {"mimeType": "", "size": 0}}},
      {"startedDateTime": "2025-03-14T10:30:12.700+01:00", "time": 0,
       "request": {"method": "GET", "url": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "headers": []},
       "response": {"status": 200, "headers": [], "content": {"mimeType": "image/gif"}}}
    ]
  }
}"#;
