//! Raw captures hold live cookies and tokens: one stored for a scan that never started (its
//! upload was stored, then could not be queued) is swept after the grace period like one of a
//! finished scan, a scan's upload in flight is never swept under it, and the file backend keeps
//! every blob readable by its owner only.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use recon_contracts::{names, ScanStatus};
use recon_server::Role;
use recon_tests::{fixtures, TestStack};
use uuid::Uuid;

const GRACE: Duration = Duration::from_secs(3600);

/// Only the api: no stage consumes what it queues, so a scan stays where the test puts it.
async fn api_stack() -> TestStack {
    TestStack::start_with(&[Role::Api], &[("RECON_RAW_CAPTURE_GRACE_SECS", "3600")]).await
}

fn blob_path(stack: &TestStack, scan_id: Uuid) -> std::path::PathBuf {
    stack
        .data_dir
        .path()
        .join("blobs")
        .join(names::capture_key(scan_id))
}

async fn sweep(stack: &TestStack) -> usize {
    let deps = stack.deps().await;
    recon_runtime::retention::sweep_once(&stack.db, deps.blob_store().unwrap(), GRACE)
        .await
        .expect("sweep")
}

/// Moves the scan's last change `hours` into the past.
async fn backdate(stack: &TestStack, scan_id: Uuid, hours: i32) {
    sqlx::query(
        "UPDATE scans SET updated_at = now() - make_interval(hours => $2), \
         completed_at = completed_at - make_interval(hours => $2) WHERE id = $1",
    )
    .bind(scan_id)
    .bind(hours)
    .execute(&stack.db)
    .await
    .expect("backdate");
}

async fn swept_at(stack: &TestStack, scan_id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT raw_capture_deleted_at::text FROM scans WHERE id = $1")
        .bind(scan_id)
        .fetch_one(&stack.db)
        .await
        .expect("raw_capture_deleted_at")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_stored_for_a_scan_that_could_not_be_queued_is_swept_after_the_grace_period() {
    let mut stack = api_stack().await;
    let scan_id = stack.create_scan("prices").await.scan_id;

    // NATS is down: the api stores the blob, cannot queue the scan, and answers 503.
    stack.nats.stop().await;
    let response = stack.post_capture(scan_id, &fixtures::shop_capture()).await;
    assert_eq!(response.status(), 503, "{:?}", response.text().await);
    stack.nats.start_again().await;
    let orphan = blob_path(&stack, scan_id);
    assert_eq!(stack.scan(scan_id).await.status, ScanStatus::Created);
    assert!(orphan.exists(), "the failed upload left its raw capture");
    assert_eq!(mode(&orphan), 0o600, "a raw capture is owner-only");
    assert_eq!(mode(orphan.parent().expect("captures dir")), 0o700);
    assert_eq!(mode(&stack.data_dir.path().join("blobs")), 0o700);

    assert_eq!(sweep(&stack).await, 0, "within the grace period it stays");
    assert!(orphan.exists());
    backdate(&stack, scan_id, 2).await;
    assert_eq!(sweep(&stack).await, 1);
    assert!(!orphan.exists(), "past the grace period it is deleted");
    assert!(swept_at(&stack, scan_id).await.is_some());
    assert_eq!(sweep(&stack).await, 0, "a scan is swept once");

    // The user retries: the scan starts after all, and its new raw capture is again due for
    // deletion once the scan ends.
    stack.upload(scan_id, &fixtures::shop_capture()).await;
    assert!(orphan.exists());
    assert_eq!(swept_at(&stack, scan_id).await, None);
    sqlx::query("UPDATE scans SET status = 'complete', completed_at = now() WHERE id = $1")
        .bind(scan_id)
        .execute(&stack.db)
        .await
        .expect("complete");
    backdate(&stack, scan_id, 2).await;
    assert_eq!(sweep(&stack).await, 1);
    assert!(!orphan.exists(), "deleted after the scan ended");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_in_flight_is_not_swept_under_it() {
    let stack = api_stack().await;
    let scan_id = stack.create_scan("prices").await.scan_id;
    backdate(&stack, scan_id, 2).await;

    // What capture ingest does: lock the scan's row, store the blob, … (not yet committed).
    let mut upload = stack.db.begin().await.expect("begin");
    sqlx::query("SELECT id FROM scans WHERE id = $1 FOR UPDATE")
        .bind(scan_id)
        .execute(&mut *upload)
        .await
        .expect("lock");
    let deps = stack.deps().await;
    deps.blob_store()
        .unwrap()
        .put(
            &names::capture_key(scan_id),
            bytes::Bytes::from_static(b"raw"),
        )
        .await
        .expect("put");
    assert_eq!(sweep(&stack).await, 0, "the locked scan is skipped");
    assert!(blob_path(&stack, scan_id).exists());

    // The upload gave up (rolled back): the next sweep takes the blob.
    upload.rollback().await.expect("rollback");
    assert_eq!(sweep(&stack).await, 1);
    assert!(!blob_path(&stack, scan_id).exists());
    stack.stop().await;
}
