//! Slow clients: silence, headers or bodies trickled in, 200 such connections at once, and the
//! same on the operations listener. Each is cut off by a deadline, and prompt clients are
//! served meanwhile.

use std::time::{Duration, Instant};

use super::support::{expect_error, in_corner, raw_exchange};
use super::BARRAGE;

/// Silence, trickled headers, a stalled body and a steadily trickled body.
#[test]
fn slow_loris_connections_are_closed() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let fresh = corner.fresh;
        let address = corner.address();
        let outcome = raw_exchange(address, Vec::new(), Vec::new(), Duration::ZERO).await;
        eprintln!(
            "silent connection: closed {} after {:?}",
            outcome.closed, outcome.elapsed
        );
        assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");
        let trickled_headers: Vec<Vec<u8>> = (0..200)
            .map(|index| format!("X-Slow-{index}: x\r\n").into_bytes())
            .collect();
        let outcome = raw_exchange(
            address,
            format!("POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\n").into_bytes(),
            trickled_headers,
            Duration::from_millis(300),
        )
        .await;
        eprintln!(
            "headers trickled every 300 ms: closed {} after {:?}",
            outcome.closed, outcome.elapsed
        );
        assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");
        let stalled_head = format!(
            "POST /scans/{fresh}/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"format_version\": 1,",
            stack.key
        );
        let outcome = raw_exchange(
            address,
            stalled_head.into_bytes(),
            Vec::new(),
            Duration::ZERO,
        )
        .await;
        eprintln!(
            "stalled capture body: {:?}, closed {} after {:?}",
            outcome.status, outcome.closed, outcome.elapsed
        );
        assert_eq!(outcome.status, Some(408), "{outcome:?}");
        assert_eq!(outcome.json_error().error.code, "timeout");
        assert!(outcome.closed, "{outcome:?}");
        let steady_head = format!(
            "POST /scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
            stack.key
        );
        let steady: Vec<Vec<u8>> = (0..200).map(|_| b" ".to_vec()).collect();
        let outcome = raw_exchange(
            address,
            steady_head.into_bytes(),
            steady,
            Duration::from_millis(250),
        )
        .await;
        eprintln!(
            "body trickled 1 byte / 250 ms: {:?}, closed {} after {:?}",
            outcome.status, outcome.closed, outcome.elapsed
        );
        assert_eq!(outcome.status, Some(408), "{outcome:?}");
        assert!(
            outcome
                .json_error()
                .error
                .message
                .contains("not complete within"),
            "{}",
            outcome.text
        );
        assert!(outcome.closed, "{outcome:?}");
    });
}

#[test]
fn a_route_that_reads_no_body_does_not_wait_for_a_stalled_one() {
    in_corner(&BARRAGE, async |corner| {
        let address = corner.address();
        let outcome = raw_exchange(
            address,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{".to_vec(),
            Vec::new(),
            Duration::ZERO,
        )
        .await;
        eprintln!(
            "stalled body on GET /healthz: {:?}, closed {} after {:?}",
            outcome.status, outcome.closed, outcome.elapsed
        );
        assert_eq!(outcome.status, Some(200), "{outcome:?}");
        assert!(outcome.closed, "{outcome:?}");
    });
}

/// A prompt client is still served meanwhile, and every one of them is closed.
#[test]
fn two_hundred_slow_loris_connections_are_closed_while_prompt_clients_are_served() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let http = &stack.http;
        let address = corner.address();
        let lorises: Vec<_> = (0..200)
            .map(|_| {
                tokio::spawn(raw_exchange(
                    address,
                    b"POST /scans HTTP/1.1\r\nHost: x\r\n".to_vec(),
                    vec![b"X-Slow: x\r\n".to_vec(); 100],
                    Duration::from_millis(500),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let response = http.get(stack.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        eprintln!(
            "/healthz with 200 slow-loris connections open: 200 in {:?}",
            started.elapsed()
        );
        let mut longest = Duration::ZERO;
        for loris in lorises {
            let outcome = loris.await.expect("loris task");
            assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");
            longest = longest.max(outcome.elapsed);
        }
        eprintln!("200 slow-loris connections all closed; the last after {longest:?}");
    });
}

/// The operations listener shares the api's accept loop: the same head deadline, the same caps
/// and the same error shape.
#[test]
fn the_ops_listener_refuses_slow_and_oversized_requests_too() {
    let world = BARRAGE.world();
    world.block_on(async {
        let stack = world.stack();
        let ops = stack.servers[0].ops_address.expect("ops listener bound");
        let outcome = raw_exchange(
            ops,
            b"GET /healthz HTTP/1.1\r\n".to_vec(),
            vec![b"Host: x\r\n".to_vec(); 100],
            Duration::from_millis(200),
        )
        .await;
        eprintln!(
            "ops, headers trickled every 200 ms: closed {} after {:?}",
            outcome.closed, outcome.elapsed
        );
        assert!(outcome.closed && outcome.status.is_none(), "{outcome:?}");

        let mut big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ".to_vec();
        big.extend_from_slice(&vec![b'a'; 64 << 10]);
        big.extend_from_slice(b"\r\n\r\n");
        let outcome = raw_exchange(ops, big, Vec::new(), Duration::ZERO).await;
        assert!(matches!(outcome.status, None | Some(431)), "{outcome:?}");
        assert!(outcome.closed, "{outcome:?}");

        let base = format!("http://{ops}");
        expect_error(
            stack
                .http
                .get(format!("{base}/nowhere"))
                .send()
                .await
                .unwrap(),
            404,
            Some("not_found"),
            "ops unknown path",
        )
        .await;
        expect_error(
            stack
                .http
                .post(format!("{base}/healthz"))
                .send()
                .await
                .unwrap(),
            405,
            Some("method_not_allowed"),
            "ops POST /healthz",
        )
        .await;
        let healthy = stack
            .http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(healthy.status(), 200);
    });
}
