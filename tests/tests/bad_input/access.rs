//! Who may see what: unknown ids on every route that takes one, another account's ids
//! (indistinguishable from unknown ones), and missing or forged keys on every authenticated
//! route.

use uuid::Uuid;

use super::support::{completed_scan, expect_error, in_corner, shop_capture_json};
use super::BARRAGE;

#[test]
fn unknown_ids_are_404_on_every_route_that_takes_one() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let unknown = Uuid::new_v4();
        corner.watch_too(&[unknown]).await;
        let http = &stack.http;
        let capture_json = shop_capture_json();
        for (method, path) in [
            ("GET", format!("/scans/{unknown}")),
            ("GET", format!("/scans/{unknown}/events")),
            ("GET", format!("/scans/{unknown}/ws")),
            ("POST", format!("/scans/{unknown}/capture")),
            ("POST", format!("/scans/{unknown}/complete")),
            ("GET", "/scans/12345".to_owned()),
            ("GET", "/r/no-such-report".to_owned()),
            ("GET", "/r/no-such-report/openapi.json".to_owned()),
        ] {
            let request = match method {
                "GET" => http.get(stack.url(&path)),
                _ => http.post(stack.url(&path)).body(capture_json.clone()),
            };
            let response = stack.authed(request).send().await.unwrap();
            // A WebSocket route asked without the upgrade handshake may refuse for that first.
            let status = response.status().as_u16();
            assert!(
                status == 404 || (path.ends_with("/ws") && status == 400),
                "{method} {path}: {status}"
            );
            expect_error(response, status, None, &format!("{method} {path}")).await;
        }
    });
}

#[test]
fn another_accounts_scans_are_404_as_if_unknown() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let completed = completed_scan(stack).await;
        corner.watch_too(&[completed]).await;
        let http = &stack.http;
        let fresh = corner.fresh;
        let capture_json = shop_capture_json();
        for (method, path) in [
            ("GET", format!("/scans/{fresh}")),
            ("GET", format!("/scans/{fresh}/events")),
            ("POST", format!("/scans/{fresh}/capture")),
            ("POST", format!("/scans/{fresh}/complete")),
            ("GET", format!("/scans/{completed}")),
        ] {
            let request = match method {
                "GET" => http.get(stack.url(&path)),
                _ => http.post(stack.url(&path)).body(capture_json.clone()),
            };
            let response = request.bearer_auth(&corner.own_key).send().await.unwrap();
            expect_error(
                response,
                404,
                Some("not_found"),
                &format!("other account {method} {path}"),
            )
            .await;
        }
    });
}

#[test]
fn missing_and_forged_keys_are_401_on_every_authenticated_route() {
    in_corner(&BARRAGE, async |corner| {
        let stack = corner.stack;
        let http = &stack.http;
        let fresh = corner.fresh;
        let capture_json = shop_capture_json();
        let long_key = format!("Bearer rec_live_{}", "A".repeat(10_000));
        let authorizations: [Option<&str>; 6] = [
            None,
            Some("Bearer "),
            Some("Bearer rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Some("Basic Zm9vOmJhcg=="),
            Some("rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Some(long_key.as_str()),
        ];
        for authorization in authorizations {
            for (method, path) in [
                ("POST", "/scans".to_owned()),
                ("GET", "/account".to_owned()),
                ("GET", format!("/scans/{fresh}")),
                ("GET", format!("/scans/{fresh}/events")),
                ("POST", format!("/scans/{fresh}/capture")),
                ("POST", format!("/scans/{fresh}/complete")),
            ] {
                let mut request = match method {
                    "GET" => http.get(stack.url(&path)),
                    _ => http.post(stack.url(&path)).body(capture_json.clone()),
                };
                if let Some(authorization) = authorization {
                    request = request.header("authorization", authorization);
                }
                let case = format!(
                    "{method} {path} with {:?}",
                    authorization.map(|a| &a[..a.len().min(24)])
                );
                expect_error(
                    request.send().await.unwrap(),
                    401,
                    Some("unauthorized"),
                    &case,
                )
                .await;
            }
        }
    });
}
