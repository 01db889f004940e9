//! Requests in the wrong state: a second capture for a scan that finished or errored, events
//! of a scan never uploaded, the wrong method on a route, a WebSocket route without the
//! handshake.

use super::support::{completed_scan, errored_scan, expect_error, in_corner};
use super::BARRAGE;

/// A second capture for a scan that finished or errored, or a scan waiting for nothing; the
/// wrong method on a route.
#[test]
fn a_second_capture_a_wrong_method_or_a_missing_handshake_is_refused() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let completed = completed_scan(stack).await;
        let errored = errored_scan(stack).await;
        let mut different = recon_tests::fixtures::shop_capture();
        different.requests.pop();
        let different_json = serde_json::to_vec(&different).expect("capture json");
        corner.watch_too(&[completed, errored]).await;
        let http = &stack.http;
        let fresh = corner.fresh;
        for (scan_id, status) in [(completed, "completed"), (errored, "errored")] {
            let response = corner
                .upload(
                    stack.url(&format!("/scans/{scan_id}/capture")),
                    different_json.clone(),
                    false,
                )
                .await
                .unwrap();
            expect_error(
                response,
                409,
                Some("capture_already_uploaded"),
                &format!("upload to the {status} scan"),
            )
            .await;
        }
        let page = stack.events_page(fresh, 0).await;
        assert!(
            page.events.is_empty() && page.cursor == 0 && !page.more,
            "a scan never uploaded has no events: {page:?}"
        );
        for (method, path) in [
            ("GET", format!("/scans/{fresh}/capture")),
            ("GET", format!("/scans/{fresh}/complete")),
            ("PATCH", format!("/scans/{fresh}")),
            ("PUT", "/scans".to_owned()),
            ("POST", format!("/scans/{fresh}/events")),
        ] {
            let request = http.request(method.parse().expect("method"), stack.url(&path));
            let response = stack.authed(request).send().await.unwrap();
            assert!(response.headers().contains_key("allow"), "{method} {path}");
            expect_error(
                response,
                405,
                Some("method_not_allowed"),
                &format!("{method} {path}"),
            )
            .await;
        }
        let response = stack
            .authed(http.get(stack.url(&format!("/scans/{fresh}/ws"))))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(
            (400..500).contains(&status),
            "ws without the handshake: {status}"
        );
        expect_error(
            response,
            status,
            None,
            "GET /ws without the upgrade handshake",
        )
        .await;
    });
}
