//! The server stays healthy under bad input: a scan that was sent bad captures still takes a
//! good one through every stage, watched over the WebSocket, and a valid capture whose bodies
//! are hostile goes through every stage too.

use recon_contracts::ScanStatus;
use recon_runtime::codec;
use recon_tests::fixtures;

use super::support::{expect_error, nested, shop_capture_json, Corner, SCAN_TIMEOUT};
use super::BARRAGE;

#[test]
fn a_scan_sent_bad_captures_then_takes_a_good_one_through_every_stage() {
    let world = BARRAGE.world();
    world.block_on(async {
        let stack = world.stack();
        let corner = Corner::new(stack).await;
        let fresh = corner.fresh;
        let gzipped = codec::gzip(&shop_capture_json());
        for (case, body, gzip) in [
            (
                "truncated gzip",
                gzipped[..gzipped.len() - 9].to_vec(),
                true,
            ),
            ("100k [", nested(100_000).into_bytes(), false),
            ("a list", b"[]".to_vec(), false),
        ] {
            let response = corner
                .upload(corner.capture_url(), body, gzip)
                .await
                .unwrap();
            expect_error(response, 400, None, case).await;
        }
        corner.assert_untouched_and_healthy().await;

        let socket = tokio::spawn(recon_tests::websocket_events(
            stack.api.clone(),
            stack.key.clone(),
            fresh,
            0,
        ));
        let accepted = stack.upload(fresh, &fixtures::shop_capture()).await;
        assert_eq!(accepted.status, "queued");
        let events = stack.wait_for_terminal(fresh, SCAN_TIMEOUT).await;
        assert_eq!(
            stack.scan(fresh).await.status,
            ScanStatus::Complete,
            "{events:?}"
        );
        let pushed = socket.await.expect("websocket task");
        assert_eq!(pushed.len(), events.len(), "the WebSocket saw every event");
    });
}

/// Every request and response body is JSON nested 100k deep. The api accepts it (the bodies
/// are strings); every stage must cope.
#[test]
fn a_capture_whose_bodies_are_deeply_nested_json_goes_through_every_stage() {
    let world = BARRAGE.world();
    world.block_on(async {
        let stack = world.stack();
        let deep = nested(100_000);
        let mut hostile = fixtures::shop_capture();
        let deep_objects_body = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        for (index, request) in hostile.requests.iter_mut().enumerate() {
            let data = if index % 2 == 0 {
                deep.clone()
            } else {
                deep_objects_body.clone()
            };
            if let Some(response) = request.response.as_mut() {
                response.mime_type = "application/json".to_owned();
                response.body = Some(recon_contracts::capture::Body {
                    encoding: recon_contracts::capture::BodyEncoding::Text,
                    data: data.clone(),
                    truncated: false,
                    size: Some(data.len() as u64),
                });
            }
            if request.method != "GET" {
                request.post_data = Some(recon_contracts::capture::Body {
                    encoding: recon_contracts::capture::BodyEncoding::Text,
                    size: Some(data.len() as u64),
                    data,
                    truncated: false,
                });
            }
        }
        let hostile_scan = stack.create_scan("prices").await.scan_id;
        stack.upload(hostile_scan, &hostile).await;
        let events = stack.wait_for_terminal(hostile_scan, SCAN_TIMEOUT).await;
        let view = stack.scan(hostile_scan).await;
        eprintln!(
            "capture with 100k-deep JSON bodies: {:?} {:?}",
            view.status, view.error
        );
        assert_eq!(view.status, ScanStatus::Complete, "{events:?}");
    });
}
