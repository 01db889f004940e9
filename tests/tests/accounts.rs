//! What a customer controls through the api (issue 20): their keys (created, listed with their
//! last use, revoked at once, also for an open WebSocket) and their scans (listed a page at a
//! time, deleted with everything made from them, and deleted by the report-retention sweep).
//! One test per scenario over shared stacks; each test keeps to accounts of its own.

use std::time::{Duration, Instant};

use recon_contracts::{CreatedKey, KeyList, ScanList};
use recon_tests::{connect_events, fixtures, read_until_closed, SharedStack, TestStack};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

/// Every role, with the housekeeping sweep every second (report retention runs in it).
static FULL: SharedStack = SharedStack::new("all", &[("RECON_SWEEP_INTERVAL_SECS", "1")]);
/// The api and recorder only: an uploaded scan stays in processing.
static NO_STAGES: SharedStack = SharedStack::new("api,events", &[]);

const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

async fn send(
    stack: &TestStack,
    key: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    stack
        .http
        .request(method, stack.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{path}: {err}"))
}

async fn get(stack: &TestStack, key: &str, path: &str) -> reqwest::Response {
    send(stack, key, reqwest::Method::GET, path).await
}

/// A 4xx with the JSON error body: its code.
async fn error_code(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("a JSON error body");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned()
}

/// A scan of `key`'s account for `site`, run to its end.
async fn complete_scan(stack: &TestStack, key: &str, site: &str) -> Uuid {
    let response = stack
        .http
        .post(stack.url("/scans"))
        .bearer_auth(key)
        .json(&serde_json::json!({ "target_url": site }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let scan_id: Uuid = response.json::<Value>().await.unwrap()["scan_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = recon_runtime::codec::to_gzip_json(&fixtures::shop_capture()).unwrap();
    let uploaded = stack
        .http
        .post(stack.url(&format!("/scans/{scan_id}/capture")))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 202, "{:?}", uploaded.text().await);
    let deadline = Instant::now() + SCAN_TIMEOUT;
    loop {
        let view: Value = get(stack, key, &format!("/scans/{scan_id}"))
            .await
            .json()
            .await
            .unwrap();
        if view["status"] == "complete" {
            return scan_id;
        }
        assert_ne!(view["status"], "errored", "{view}");
        assert!(Instant::now() < deadline, "scan {scan_id} did not complete");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn a_new_key_is_shown_once_and_listed_with_its_last_use_never_its_value() {
    let world = FULL.world();
    world.block_on(async {
        let stack = world.stack();
        let first = stack.account_key("keys-listed").await;
        let created = send(stack, &first, reqwest::Method::POST, "/account/keys").await;
        assert_eq!(created.status(), 201);
        let created: CreatedKey = created.json().await.unwrap();
        assert!(created.key.starts_with("rec_live_"));
        // The new key works, and its use is recorded.
        assert_eq!(get(stack, &created.key, "/account").await.status(), 200);
        let listed = get(stack, &first, "/account/keys").await;
        assert_eq!(listed.status(), 200);
        let text = listed.text().await.unwrap();
        assert!(
            !text.contains(&created.key),
            "a key's value is never shown again"
        );
        assert!(!text.contains(&first), "a key's value is never shown again");
        let list: KeyList = serde_json::from_str(&text).unwrap();
        assert_eq!(list.keys.len(), 2);
        let new = list
            .keys
            .iter()
            .find(|k| k.id == created.id)
            .expect("the new key");
        assert_eq!(new.prefix, created.key[..13]);
        assert!(new.last_used_at.is_some(), "its use was recorded");
        assert!(!new.current);
        let asking = list.keys.iter().find(|k| k.id != created.id).unwrap();
        assert!(asking.current, "the asking key is marked");
    });
}

#[test]
fn a_revoked_key_is_refused_at_once_and_revoking_again_changes_nothing() {
    let world = FULL.world();
    world.block_on(async {
        let stack = world.stack();
        let first = stack.account_key("keys-revoked").await;
        let created: CreatedKey = send(stack, &first, reqwest::Method::POST, "/account/keys")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(get(stack, &created.key, "/scans").await.status(), 200);
        let path = format!("/account/keys/{}", created.id);
        let revoked = send(stack, &first, reqwest::Method::DELETE, &path).await;
        assert_eq!(revoked.status(), 204);
        let code = error_code(
            get(stack, &created.key, "/scans").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(code, "unauthorized");
        let again = send(stack, &first, reqwest::Method::DELETE, &path).await;
        assert_eq!(again.status(), 204);
        let list: KeyList = get(stack, &first, "/account/keys")
            .await
            .json()
            .await
            .unwrap();
        let shown = list.keys.iter().find(|k| k.id == created.id).unwrap();
        assert!(shown.revoked_at.is_some());
    });
}

#[test]
fn another_accounts_key_cannot_be_revoked_and_is_not_revealed() {
    let world = FULL.world();
    world.block_on(async {
        let stack = world.stack();
        let mine = stack.account_key("keys-mine").await;
        let theirs = stack.account_key("keys-theirs").await;
        let their_keys: KeyList = get(stack, &theirs, "/account/keys")
            .await
            .json()
            .await
            .unwrap();
        let their_id = their_keys.keys[0].id;
        let path = format!("/account/keys/{their_id}");
        let code = error_code(
            send(stack, &mine, reqwest::Method::DELETE, &path).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(code, "not_found");
        assert_eq!(
            get(stack, &theirs, "/account").await.status(),
            200,
            "still works"
        );
        let code = error_code(
            send(stack, &mine, reqwest::Method::DELETE, "/account/keys/nope").await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(code, "not_found");
    });
}

#[test]
fn the_last_active_key_is_not_revoked() {
    let world = FULL.world();
    world.block_on(async {
        let stack = world.stack();
        let only = stack.account_key("keys-only-one").await;
        let list: KeyList = get(stack, &only, "/account/keys")
            .await
            .json()
            .await
            .unwrap();
        let path = format!("/account/keys/{}", list.keys[0].id);
        let code = error_code(
            send(stack, &only, reqwest::Method::DELETE, &path).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(code, "last_active_key");
        assert_eq!(get(stack, &only, "/account").await.status(), 200);
        // With a second key, the first may go, even by itself.
        let second: CreatedKey = send(stack, &only, reqwest::Method::POST, "/account/keys")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            send(stack, &only, reqwest::Method::DELETE, &path)
                .await
                .status(),
            204
        );
        assert_eq!(get(stack, &only, "/account").await.status(), 401);
        assert_eq!(get(stack, &second.key, "/account").await.status(), 200);
    });
}

#[test]
fn revoking_a_key_closes_its_open_websocket() {
    let world = NO_STAGES.world();
    world.block_on(async {
        let stack = world.stack();
        let keeper = stack.account_key("keys-websocket").await;
        let doomed: CreatedKey = send(stack, &keeper, reqwest::Method::POST, "/account/keys")
            .await
            .json()
            .await
            .unwrap();
        let created = stack
            .http
            .post(stack.url("/scans"))
            .bearer_auth(&doomed.key)
            .json(&serde_json::json!({ "target_url": "https://demo-shop.recon.test/" }))
            .send()
            .await
            .unwrap();
        let scan_id: Uuid = created.json::<Value>().await.unwrap()["scan_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let mut socket = connect_events(&stack.api, &doomed.key, scan_id, 0)
            .await
            .expect("the socket opens");
        // The socket has sent its (empty) backlog and waits for news.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let revoked_at = Instant::now();
        let path = format!("/account/keys/{}", doomed.id);
        assert_eq!(
            send(stack, &keeper, reqwest::Method::DELETE, &path)
                .await
                .status(),
            204
        );
        let (events, close) = read_until_closed(&mut socket, Duration::from_secs(5)).await;
        eprintln!(
            "socket closed {:?} after the revocation",
            revoked_at.elapsed()
        );
        assert!(events.is_empty());
        let close = close.expect("a close frame");
        assert_eq!(u16::from(close.code), 1008);
        assert!(close.reason.contains("revoked"), "{}", close.reason);
    });
}

#[test]
fn scans_are_listed_newest_first_a_page_at_a_time() {
    let world = NO_STAGES.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("scans-paged").await;
        let mut created = Vec::new();
        for site in [
            "https://a.paged.test/",
            "https://b.paged.test/x",
            "https://a.paged.test/y",
        ] {
            let response = stack
                .http
                .post(stack.url("/scans"))
                .bearer_auth(&key)
                .json(&serde_json::json!({ "target_url": site }))
                .send()
                .await
                .unwrap();
            created.push(
                response.json::<Value>().await.unwrap()["scan_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let first: ScanList = get(stack, &key, "/scans?limit=2")
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<String> = first.scans.iter().map(|s| s.id.to_string()).collect();
        assert_eq!(
            ids,
            vec![created[2].clone(), created[1].clone()],
            "newest first"
        );
        let cursor = first.next_cursor.expect("a next page");
        let second: ScanList = get(stack, &key, &format!("/scans?limit=2&cursor={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(second.scans.len(), 1);
        assert_eq!(second.scans[0].id.to_string(), created[0]);
        assert_eq!(second.next_cursor, None, "the last page");
        let by_site: ScanList = get(stack, &key, "/scans?site=A.paged.test")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(by_site.scans.len(), 2);
        let by_status: ScanList = get(stack, &key, "/scans?status=complete")
            .await
            .json()
            .await
            .unwrap();
        assert!(by_status.scans.is_empty());
        let created_ones: ScanList = get(stack, &key, "/scans?status=created")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(created_ones.scans.len(), 3);
        // Another account sees none of them.
        let other = stack.account_key("scans-paged-other").await;
        let theirs: ScanList = get(stack, &other, "/scans").await.json().await.unwrap();
        assert!(theirs.scans.is_empty());
    });
}

#[test]
fn bad_scan_list_parameters_get_400_with_a_json_error() {
    let world = NO_STAGES.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("scans-bad-params").await;
        for (query, code) in [
            ("status=done", "invalid_status"),
            ("limit=0", "invalid_limit"),
            ("limit=101", "invalid_limit"),
            ("limit=ten", "invalid_limit"),
            ("cursor=garbage", "invalid_cursor"),
        ] {
            let response = get(stack, &key, &format!("/scans?{query}")).await;
            assert_eq!(
                error_code(response, StatusCode::BAD_REQUEST).await,
                code,
                "{query}"
            );
        }
    });
}

#[test]
fn a_scan_in_the_pipeline_is_not_deleted() {
    let world = NO_STAGES.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("delete-processing").await;
        let created = stack
            .http
            .post(stack.url("/scans"))
            .bearer_auth(&key)
            .json(&serde_json::json!({ "target_url": "https://demo-shop.recon.test/" }))
            .send()
            .await
            .unwrap();
        let scan_id: Uuid = created.json::<Value>().await.unwrap()["scan_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = recon_runtime::codec::to_gzip_json(&fixtures::shop_capture()).unwrap();
        let uploaded = stack
            .http
            .post(stack.url(&format!("/scans/{scan_id}/capture")))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), 202);
        let path = format!("/scans/{scan_id}");
        let code = error_code(
            send(stack, &key, reqwest::Method::DELETE, &path).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(code, "scan_processing");
        let view: Value = get(stack, &key, &path).await.json().await.unwrap();
        assert_eq!(view["status"], "processing", "nothing was deleted");
    });
}

/// The blob files of a scan in the stack's file blob store.
fn blob_files(stack: &TestStack, scan_id: Uuid) -> Vec<std::path::PathBuf> {
    let root = stack.data_dir.path().join("blobs");
    [
        recon_contracts::names::capture_key(scan_id),
        recon_contracts::names::scrubbed_capture_key(scan_id),
    ]
    .into_iter()
    .map(|key| root.join(key))
    .filter(|path| path.exists())
    .collect()
}

async fn rows_of(stack: &TestStack, table: &str, scan_id: Uuid) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE scan_id = $1"))
        .bind(scan_id)
        .fetch_one(&stack.db)
        .await
        .unwrap()
}

/// Everything the user could reach of a deleted scan answers 404, and nothing of it is stored.
async fn assert_gone(stack: &TestStack, key: &str, scan_id: Uuid, report_url: &str) {
    assert_eq!(
        get(stack, key, &format!("/scans/{scan_id}")).await.status(),
        404
    );
    assert_eq!(
        get(stack, key, &format!("/scans/{scan_id}/events"))
            .await
            .status(),
        404
    );
    for url in [
        report_url.to_owned(),
        format!("{report_url}.json"),
        format!("{report_url}/openapi.json"),
        format!("{report_url}?download=1"),
    ] {
        assert_eq!(
            stack.http.get(&url).send().await.unwrap().status(),
            404,
            "{url}"
        );
    }
    assert_eq!(rows_of(stack, "stage_results", scan_id).await, 0);
    assert_eq!(rows_of(stack, "scan_events", scan_id).await, 0);
    assert!(
        blob_files(stack, scan_id).is_empty(),
        "{:?}",
        blob_files(stack, scan_id)
    );
}

#[test]
fn deleting_a_scan_removes_its_report_results_events_and_blobs_once() {
    let world = FULL.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("delete-complete").await;
        let scan_id = complete_scan(stack, &key, "https://demo-shop.recon.test/").await;
        let view: Value = get(stack, &key, &format!("/scans/{scan_id}"))
            .await
            .json()
            .await
            .unwrap();
        let report_url = view["report_url"].as_str().unwrap().to_owned();
        assert_eq!(
            stack.http.get(&report_url).send().await.unwrap().status(),
            200
        );
        assert!(rows_of(stack, "stage_results", scan_id).await > 0);
        assert!(
            !blob_files(stack, scan_id).is_empty(),
            "the scrubbed capture is kept until now"
        );
        // Another account cannot delete it.
        let other = stack.account_key("delete-complete-other").await;
        let path = format!("/scans/{scan_id}");
        assert_eq!(
            send(stack, &other, reqwest::Method::DELETE, &path)
                .await
                .status(),
            404
        );
        assert_eq!(
            stack.http.get(&report_url).send().await.unwrap().status(),
            200
        );

        assert_eq!(
            send(stack, &key, reqwest::Method::DELETE, &path)
                .await
                .status(),
            204
        );
        assert_gone(stack, &key, scan_id, &report_url).await;
        let again = send(stack, &key, reqwest::Method::DELETE, &path).await;
        assert_eq!(error_code(again, StatusCode::NOT_FOUND).await, "not_found");
    });
}

#[test]
fn report_retention_deletes_scans_that_ended_more_than_90_days_ago() {
    let world = FULL.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("retention").await;
        let kept = complete_scan(stack, &key, "https://kept.retention.test/").await;
        let expired = complete_scan(stack, &key, "https://expired.retention.test/").await;
        let view: Value = get(stack, &key, &format!("/scans/{expired}"))
            .await
            .json()
            .await
            .unwrap();
        let report_url = view["report_url"].as_str().unwrap().to_owned();
        let stored = (
            rows_of(stack, "stage_results", expired).await,
            rows_of(stack, "scan_events", expired).await,
            blob_files(stack, expired).len(),
        );
        assert!(stored.0 > 0 && stored.1 > 0, "{stored:?}");
        eprintln!(
            "RETENTION: scan {expired} holds {} stage results, {} events and {} blobs before the sweep",
            stored.0, stored.1, stored.2
        );
        // 89 days ago is kept, 91 days ago is past the default retention of 90 days.
        for (scan_id, days) in [(kept, 89), (expired, 91)] {
            sqlx::query(
                "UPDATE scans SET completed_at = now() - make_interval(days => $2) WHERE id = $1",
            )
            .bind(scan_id)
            .bind(days)
            .execute(&stack.db)
            .await
            .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(stack, &key, &format!("/scans/{expired}"))
            .await
            .status()
            != 404
        {
            assert!(
                Instant::now() < deadline,
                "the sweep did not delete the expired scan"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_gone(stack, &key, expired, &report_url).await;
        assert_eq!(
            get(stack, &key, &format!("/scans/{kept}")).await.status(),
            200
        );
    });
}
