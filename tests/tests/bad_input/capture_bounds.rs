//! Hostile captures, small on the wire and huge once parsed: each is refused while it is
//! decoded, with the limit it crossed named in the error body, nothing is written, and a good
//! scan goes through afterwards.

use recon_contracts::{Body, Capture, CaptureBounds, Header, Limit, StreamKind, StreamSummary};
use recon_runtime::codec;
use recon_tests::{fixtures, SharedStack};

use super::support::{completed_scan, expect_error, in_corner};
use super::BARRAGE;

/// Every role with the default capture bounds, so each hostile capture meets the bound it aims
/// at before the decoded-bytes one.
static DEFAULT_BOUNDS: SharedStack = SharedStack::new("all", &[]);

/// Uploads `json` gzipped (as the CLI sends it) to a fresh scan and expects it refused with
/// `status` and `code`, naming `limit`; then a good scan of the same stack completes.
fn assert_refused_upload(
    shared: &'static SharedStack,
    json: impl FnOnce() -> Vec<u8>,
    status: u16,
    code: &'static str,
    limit: Limit,
) {
    in_corner(shared, async |corner| {
        let json = json();
        let gzipped = codec::gzip(&json);
        let case = format!(
            "{limit}: {:.1} MiB of JSON in {:.0} KiB of gzip",
            json.len() as f64 / (1 << 20) as f64,
            gzipped.len() as f64 / 1024.0
        );
        drop(json);
        let response = corner
            .upload(corner.capture_url(), gzipped, true)
            .await
            .expect("POST capture");
        let body = expect_error(response, status, Some(code), &case).await;
        assert_eq!(body.error.limit.as_deref(), Some(limit.as_str()), "{case}");
        assert!(
            body.error.message.contains(limit.as_str()),
            "{case}: {}",
            body.error.message
        );
    });
    let world = shared.world();
    world.block_on(async {
        completed_scan(world.stack()).await;
    });
}

/// The shop capture as JSON, edited.
fn capture_json(edit: impl FnOnce(&mut Capture)) -> Vec<u8> {
    let mut capture = fixtures::shop_capture();
    edit(&mut capture);
    serde_json::to_vec(&capture).expect("capture json")
}

/// The shop capture as JSON with its top-level field `name` replaced by raw JSON text, written
/// first (too large to build as values).
fn capture_json_with_raw(name: &str, raw: &str) -> Vec<u8> {
    let mut value = serde_json::to_value(fixtures::shop_capture()).expect("capture value");
    if let Some(fields) = value.as_object_mut() {
        fields.remove(name);
    }
    let rest = serde_json::to_string(&value).expect("capture json");
    format!("{{\"{name}\":{raw},{}", &rest[1..]).into_bytes()
}

/// A JSON array of `count` copies of `item`.
fn repeated(item: &str, count: usize) -> String {
    format!("[{}]", vec![item; count].join(","))
}

fn default_max(limit: Limit) -> usize {
    usize::try_from(CaptureBounds::default_max(limit)).expect("fits")
}

fn too_large(json: impl FnOnce() -> Vec<u8>, limit: Limit) {
    assert_refused_upload(&DEFAULT_BOUNDS, json, 413, "capture_too_large", limit);
}

#[test]
fn a_stream_of_a_million_empty_samples_is_refused() {
    // Three bytes of JSON each, a 24-byte string each once parsed: the attack of issue 15.
    let json = || {
        capture_json(|capture| {
            capture.streams = vec![StreamSummary {
                kind: StreamKind::WebSocket,
                url: "wss://demo-shop.recon.test/live".to_owned(),
                messages_sent: 0,
                messages_received: 1_000_000,
                samples: vec![String::new(); 1_000_000],
            }];
        })
    };
    too_large(json, Limit::SamplesPerStream);
}

#[test]
fn more_samples_in_all_than_allowed_are_refused() {
    let json = || {
        let per_stream = default_max(Limit::SamplesPerStream);
        let streams = default_max(Limit::Samples) / per_stream + 1;
        let stream = format!(
            r#"{{"kind":"web_socket","url":"wss://demo-shop.recon.test/live","samples":{}}}"#,
            repeated(r#""""#, per_stream)
        );
        capture_json_with_raw("streams", &repeated(&stream, streams))
    };
    too_large(json, Limit::Samples);
}

#[test]
fn millions_of_empty_strings_are_refused() {
    // In a field the server does not know: skipped fields are read under the bounds too.
    let json = || {
        let raw = repeated(r#""""#, default_max(Limit::Strings) + 1);
        capture_json_with_raw("extension", &raw)
    };
    too_large(json, Limit::Strings);
}

#[test]
fn a_request_with_too_many_headers_is_refused() {
    let json = || {
        let count = default_max(Limit::HeadersPerRequest) + 1;
        capture_json(|capture| {
            capture.requests[0].request_headers = (0..count)
                .map(|index| Header::new(format!("x-h{index}"), ""))
                .collect();
        })
    };
    too_large(json, Limit::HeadersPerRequest);
}

#[test]
fn deeply_nested_json_is_refused_as_a_bad_shape() {
    let json = || {
        let depth = default_max(Limit::Nesting) + 8;
        let raw = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        capture_json_with_raw("extension", &raw)
    };
    assert_refused_upload(
        &DEFAULT_BOUNDS,
        json,
        400,
        "capture_too_deep",
        Limit::Nesting,
    );
}

#[test]
fn a_url_longer_than_allowed_is_refused() {
    let json = || {
        capture_json(|capture| {
            let padding = "a".repeat(default_max(Limit::StringBytes));
            capture.requests[0].url = format!("https://demo-shop.recon.test/?q={padding}");
        })
    };
    too_large(json, Limit::StringBytes);
}

#[test]
fn a_body_longer_than_allowed_is_refused() {
    let json = || {
        capture_json(|capture| {
            capture.requests[0].post_data =
                Some(Body::text("b".repeat(default_max(Limit::BodyBytes) + 1)));
        })
    };
    too_large(json, Limit::BodyBytes);
}

#[test]
fn more_requests_than_allowed_are_refused() {
    let json = || {
        let request = r#"{"id":"r","method":"GET","url":"https://demo-shop.recon.test/","resource_type":"fetch","request_headers":[],"timing":{"started_at_ms":0}}"#;
        capture_json_with_raw(
            "requests",
            &repeated(request, default_max(Limit::Requests) + 1),
        )
    };
    too_large(json, Limit::Requests);
}

#[test]
fn more_pages_than_allowed_are_refused() {
    let json = || {
        let page = r#"{"id":"p","url":"https://demo-shop.recon.test/","started_at_ms":0}"#;
        capture_json_with_raw("pages", &repeated(page, default_max(Limit::Pages) + 1))
    };
    too_large(json, Limit::Pages);
}

#[test]
fn more_cookies_than_allowed_are_refused() {
    let json = || {
        let cookie = r#"{"name":"c","value":"","domain":"demo-shop.recon.test"}"#;
        capture_json_with_raw(
            "cookies",
            &repeated(cookie, default_max(Limit::Cookies) + 1),
        )
    };
    too_large(json, Limit::Cookies);
}

#[test]
fn more_streams_than_allowed_are_refused() {
    let json = || {
        let stream = r#"{"kind":"event_source","url":"https://demo-shop.recon.test/feed"}"#;
        capture_json_with_raw(
            "streams",
            &repeated(stream, default_max(Limit::Streams) + 1),
        )
    };
    too_large(json, Limit::Streams);
}

#[test]
fn a_capture_inflating_past_the_decoded_bytes_limit_is_refused() {
    // 8 MB of JSON whitespace in a few KB of gzip, against the barrage's 4 MB bound (the
    // default, 256 MiB, works the same, only slower in a debug build).
    let json = || {
        let mut json = capture_json(|_| {});
        json.extend(std::iter::repeat_n(b' ', 8 << 20));
        json
    };
    assert_refused_upload(
        &BARRAGE,
        json,
        413,
        "capture_too_large",
        Limit::DecodedBytes,
    );
}
