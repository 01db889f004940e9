//! Invalid UTF-8 wherever a client can put bytes: in a JSON string, in a gzipped capture, in
//! header values, in the path (percent-encoded and raw) and in the query.

use std::time::Duration;

use recon_runtime::codec;
use reqwest::header::HeaderValue;

use super::support::{expect_error, in_corner, raw_exchange, shop_capture_json};
use super::BARRAGE;

#[test]
fn invalid_utf8_anywhere_in_a_request_is_refused_or_ignored() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let http = &stack.http;
        let fresh = corner.fresh;
        let address = corner.address();
        let capture_json = shop_capture_json();
        let mut bad_utf8 = br#"{"target_url": "https://a.test/"#.to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
        expect_error(
            corner.post_scan(bad_utf8.clone()).await.unwrap(),
            400,
            Some("invalid_json"),
            "POST /scans invalid UTF-8",
        )
        .await;
        let mut capture_bad_utf8 = capture_json.clone();
        let position = capture_bad_utf8
            .iter()
            .position(|&byte| byte == b'/')
            .unwrap_or(10);
        capture_bad_utf8[position] = 0xc3;
        expect_error(
            corner
                .upload(corner.capture_url(), codec::gzip(&capture_bad_utf8), true)
                .await
                .unwrap(),
            400,
            Some("invalid_json"),
            "capture gzip invalid UTF-8",
        )
        .await;
        let mut bad_key = b"Bearer rec_live_".to_vec();
        bad_key.extend_from_slice(&[0xff, 0xfe, 0xfd]);
        let response = http
            .get(stack.url(&format!("/scans/{fresh}")))
            .header(
                "authorization",
                HeaderValue::from_bytes(&bad_key).expect("obs-text header"),
            )
            .send()
            .await
            .unwrap();
        expect_error(response, 401, Some("unauthorized"), "invalid UTF-8 API key").await;
        let response = stack
            .authed(http.post(corner.capture_url()))
            .header(
                "content-encoding",
                HeaderValue::from_bytes(&[0x67, 0xff, 0x7a]).expect("obs-text header"),
            )
            .body(capture_json.clone())
            .send()
            .await
            .unwrap();
        expect_error(
            response,
            415,
            Some("unsupported_media_type"),
            "invalid UTF-8 Content-Encoding",
        )
        .await;
        let response = stack
            .authed(http.get(stack.url(&format!("/scans/{fresh}"))))
            .header(
                "user-agent",
                HeaderValue::from_bytes(&[0x62, 0xff, 0x2f, 0x31]).expect("obs-text header"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "an undecodable User-Agent is ignored, not fatal"
        );
        for path in ["/scans/%FF%FE", "/scans/%C3%28/events", "/r/%FF"] {
            let response = stack
                .authed(http.get(stack.url(path)))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(status == 400 || status == 404, "{path}: {status}");
            expect_error(response, status, None, &format!("GET {path}")).await;
        }
        for (query, code) in [
            ("since=%FF", Some("invalid_cursor")),
            ("since=1&since=2", None),
            ("since=-5", Some("invalid_cursor")),
        ] {
            let response = stack
                .authed(http.get(stack.url(&format!("/scans/{fresh}/events?{query}"))))
                .send()
                .await
                .unwrap();
            expect_error(response, 400, code, &format!("events ?{query}")).await;
        }
        let mut raw_path = format!("GET /scans/{fresh}").into_bytes();
        raw_path.extend_from_slice(&[0xff, 0xfe]);
        raw_path.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
                stack.key
            )
            .as_bytes(),
        );
        let outcome = raw_exchange(address, raw_path, Vec::new(), Duration::ZERO).await;
        eprintln!(
            "raw invalid UTF-8 in the path: {:?}, closed {}",
            outcome.status, outcome.closed
        );
        assert!(matches!(outcome.status, None | Some(400)), "{outcome:?}");
        assert!(outcome.closed, "{outcome:?}");
    });
}
