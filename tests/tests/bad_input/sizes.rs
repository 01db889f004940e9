//! Requests too large to take: huge headers and URLs, oversized bodies (declared, streamed
//! without a length, on each route that reads one), truncated gzip and gzip bombs.

use std::time::Duration;

use recon_runtime::codec;

use super::support::{expect_error, in_corner, raw_exchange, shop_capture_json};
use super::BARRAGE;

/// One 1 MB header, 10k headers, a 12 KB and a 1 MB URL.
#[test]
fn huge_headers_and_urls_are_refused() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let http = &stack.http;
        let fresh = corner.fresh;
        let address = corner.address();
        let mut one_huge =
            format!("GET /scans/{fresh} HTTP/1.1\r\nHost: x\r\nX-Padding: ").into_bytes();
        one_huge.extend_from_slice(&vec![b'a'; 1 << 20]);
        one_huge.extend_from_slice(b"\r\n\r\n");
        let mut many = format!("GET /scans/{fresh} HTTP/1.1\r\nHost: x\r\n").into_bytes();
        for index in 0..10_000 {
            many.extend_from_slice(format!("X-H{index}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let mut huge_url = b"GET /scans?".to_vec();
        huge_url.extend_from_slice(&vec![b'q'; 1 << 20]);
        huge_url.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
        for (case, head) in [
            ("one 1 MB header", one_huge),
            ("10k headers", many),
            ("a 1 MB URL", huge_url),
        ] {
            let outcome = raw_exchange(address, head, Vec::new(), Duration::ZERO).await;
            eprintln!(
                "{case}: status {:?}, closed {} after {:?}",
                outcome.status, outcome.closed, outcome.elapsed
            );
            assert!(
                matches!(outcome.status, None | Some(431)),
                "{case}: {outcome:?}"
            );
            assert!(outcome.closed, "{case}: {outcome:?}");
        }
        let long_url = stack.url(&format!(
            "/scans/{fresh}/events?since=0&pad={}",
            "p".repeat(12 << 10)
        ));
        expect_error(
            stack.authed(http.get(long_url)).send().await.unwrap(),
            414,
            Some("uri_too_long"),
            "a 12 KB URL",
        )
        .await;
    });
}

/// Declared, streamed without a length, and on each body-reading route.
#[test]
fn oversized_bodies_are_refused_on_every_route_that_reads_one() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let fresh = corner.fresh;
        let address = corner.address();
        expect_error(
            corner.post_scan(vec![b' '; 100 << 10]).await.unwrap(),
            413,
            Some("payload_too_large"),
            "POST /scans 100 KB",
        )
        .await;
        expect_error(
            corner
                .upload(
                    stack.url(&format!("/scans/{fresh}/complete")),
                    vec![b' '; 2 << 20],
                    false,
                )
                .await
                .unwrap(),
            413,
            Some("payload_too_large"),
            "legacy complete 2 MB",
        )
        .await;
        expect_error(
            corner
                .upload(
                    stack.url(&format!("/scans/{fresh}/complete")),
                    codec::gzip(&vec![b' '; 8 << 20]),
                    true,
                )
                .await
                .unwrap(),
            413,
            Some("payload_too_large"),
            "legacy complete gzip bomb",
        )
        .await;
        let chunked_head = format!(
            "POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            stack.key
        );
        let mut chunks: Vec<Vec<u8>> = (0..40)
            .map(|_| {
                let mut chunk = format!("{:x}\r\n", 100_000).into_bytes();
                chunk.extend_from_slice(&vec![b'x'; 100_000]);
                chunk.extend_from_slice(b"\r\n");
                chunk
            })
            .collect();
        chunks.push(b"0\r\n\r\n".to_vec());
        let outcome =
            raw_exchange(address, chunked_head.into_bytes(), chunks, Duration::ZERO).await;
        assert_eq!(outcome.status, Some(413), "{outcome:?}");
        assert_eq!(outcome.json_error().error.code, "payload_too_large");
        eprintln!("capture 4 MB chunked without a length: 413");
        let declared = format!(
            "POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 999999999999\r\n\r\n{{",
            stack.key
        );
        let outcome =
            raw_exchange(address, declared.into_bytes(), Vec::new(), Duration::ZERO).await;
        assert_eq!(outcome.status, Some(413), "{outcome:?}");
        assert_eq!(outcome.json_error().error.code, "payload_too_large");
        eprintln!("capture declaring 1 TB: 413, closed {}", outcome.closed);
    });
}

/// On the capture route. The bomb is whitespace, which JSON allows anywhere: a bomb of anything
/// else is refused at its first byte that is not a capture, long before it inflates to the bound.
#[test]
fn truncated_gzip_and_a_gzip_bomb_are_refused() {
    in_corner(&BARRAGE, async |corner| {
        let capture_json = shop_capture_json();
        let gzipped = codec::gzip(&capture_json);
        expect_error(
            corner
                .upload(
                    corner.capture_url(),
                    gzipped[..gzipped.len() - 9].to_vec(),
                    true,
                )
                .await
                .unwrap(),
            400,
            Some("bad_gzip"),
            "truncated gzip",
        )
        .await;
        expect_error(
            corner
                .upload(
                    corner.capture_url(),
                    codec::gzip(&vec![b' '; 8 << 20]),
                    true,
                )
                .await
                .unwrap(),
            413,
            Some("capture_too_large"),
            "gzip bomb",
        )
        .await;
    });
}
