//! Malformed JSON: nesting far past any real document, and the right syntax with the wrong
//! types and values, each refused with 400 and a JSON error before anything is stored.

use recon_runtime::codec;

use super::support::{expect_error, in_corner, nested};
use super::BARRAGE;

/// 100k brackets, bare, inside a field, gzipped, and in the legacy body. POST /scans takes at
/// most 64 KB, so 30k brackets there; 100k elsewhere.
#[test]
fn deeply_nested_json_is_refused_on_every_json_route() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let fresh = corner.fresh;
        let deep = nested(100_000);
        let deep_scan = nested(30_000);
        expect_error(
            corner
                .post_scan(deep_scan.clone().into_bytes())
                .await
                .unwrap(),
            400,
            Some("invalid_json"),
            "POST /scans 30k [",
        )
        .await;
        let deep_field = format!(r#"{{"target_url": {deep_scan}}}"#);
        expect_error(
            corner.post_scan(deep_field.into_bytes()).await.unwrap(),
            400,
            Some("invalid_json"),
            "POST /scans target_url 30k [",
        )
        .await;
        let deep_objects = format!(
            r#"{{"format_version": 1, "requests": [{}1{}]}}"#,
            r#"{"a":"#.repeat(100_000),
            "}".repeat(100_000)
        );
        expect_error(
            corner
                .upload(corner.capture_url(), deep.clone().into_bytes(), false)
                .await
                .unwrap(),
            400,
            Some("invalid_json"),
            "capture 100k [",
        )
        .await;
        expect_error(
            corner
                .upload(
                    corner.capture_url(),
                    codec::gzip(deep_objects.as_bytes()),
                    true,
                )
                .await
                .unwrap(),
            400,
            Some("capture_too_deep"),
            "capture gzip 100k nested objects",
        )
        .await;
        expect_error(
            corner
                .upload(
                    stack.url(&format!("/scans/{fresh}/complete")),
                    deep.clone().into_bytes(),
                    false,
                )
                .await
                .unwrap(),
            400,
            Some("invalid_json"),
            "legacy complete 100k [",
        )
        .await;
    });
}

#[test]
fn json_of_the_wrong_types_and_values_is_refused() {
    in_corner(&BARRAGE, async |corner| {
        let wrong_scans: [&str; 8] = [
            "[]",
            "\"https://a.test\"",
            "null",
            r#"{"target_url": null}"#,
            r#"{"target_url": ["https://a.test"]}"#,
            r#"{"target_url": "https://a.test", "intent_text": 5}"#,
            r#"{"target_url": "https://a.test", "starter_template": {}}"#,
            r#"{"target_url": "https://a.test", "intent_text": "\ud800"}"#,
        ];
        for body in wrong_scans {
            expect_error(
                corner.post_scan(body.as_bytes().to_vec()).await.unwrap(),
                400,
                Some("invalid_json"),
                &format!("POST /scans {body}"),
            )
            .await;
        }
        let wrong_captures: [&str; 6] = [
            "[]",
            "null",
            r#"{"format_version": 1, "requests": {}}"#,
            r#"{"format_version": -1, "requests": []}"#,
            r#"{"format_version": 1e999, "requests": []}"#,
            r#"{"format_version": 1, "requests": [{"method": 7}]}"#,
        ];
        for body in wrong_captures {
            let response = corner
                .upload(corner.capture_url(), body.as_bytes().to_vec(), false)
                .await
                .unwrap();
            expect_error(response, 400, None, &format!("capture {body}")).await;
        }
    });
}
