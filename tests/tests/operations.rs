//! Operations: the orphan sweep (alone and with two sweepers racing), the operations
//! listener's /healthz, /readyz and Prometheus /metrics after a real scan, and what of that the
//! public api port does not show: no /metrics, no dependency error text, no made-up versions.

use std::collections::BTreeSet;
use std::time::Duration;

use recon_contracts::{ScanStatus, Step, StepStatus};
use recon_runtime::sweep::sweep_orphans;
use recon_server::{parse_targets, Role};
use recon_tests::{fixtures, TestStack};

const IDLE: Duration = Duration::from_secs(600);

/// A scan whose capture was accepted while no stage runs: it stays `processing`.
async fn stuck_scan(stack: &TestStack) -> uuid::Uuid {
    let created = stack.create_scan("prices").await;
    stack
        .upload(created.scan_id, &fixtures::shop_capture())
        .await;
    created.scan_id
}

async fn backdate(stack: &TestStack, scan_id: uuid::Uuid, minutes: i32) {
    sqlx::query("UPDATE scans SET updated_at = now() - make_interval(mins => $2) WHERE id = $1")
        .bind(scan_id)
        .bind(minutes)
        .execute(&stack.db)
        .await
        .expect("backdate scan");
}

#[tokio::test]
async fn two_sweepers_mark_an_orphaned_scan_errored_once() {
    let stack = TestStack::start_roles(&[Role::Api, Role::Events]).await;
    let orphan = stuck_scan(&stack).await;
    let recent = stuck_scan(&stack).await;
    backdate(&stack, orphan, 11).await;
    backdate(&stack, recent, 2).await;

    // Two sweepers with their own connections, as two api replicas would have.
    let (first, second) = (stack.deps().await, stack.deps().await);
    let steps = recon_tests::steps();
    let (a, b) = tokio::join!(
        sweep_orphans(&first.db, &first.bus, &steps, IDLE),
        sweep_orphans(&second.db, &second.bus, &steps, IDLE)
    );
    let swept: Vec<_> = a
        .expect("sweep a")
        .into_iter()
        .chain(b.expect("sweep b"))
        .collect();
    assert_eq!(swept.len(), 1, "exactly one sweeper wins: {swept:?}");
    assert_eq!(swept[0].scan_id, orphan);
    assert_eq!(swept[0].step, Step::named("detection"));

    let events = stack
        .wait_for_terminal(orphan, Duration::from_secs(20))
        .await;
    let errored: Vec<_> = events
        .iter()
        .filter(|event| event.status == StepStatus::Errored)
        .collect();
    assert_eq!(errored.len(), 1, "{events:?}");
    assert_eq!(errored[0].step, Step::named("detection"));
    assert!(errored[0]
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("no progress"));
    assert_eq!(stack.scan(orphan).await.status, ScanStatus::Errored);
    assert_eq!(stack.scan(recent).await.status, ScanStatus::Processing);

    // A later sweep finds nothing more to do, and the events stay as they were.
    let again = sweep_orphans(&first.db, &first.bus, &recon_tests::steps(), IDLE)
        .await
        .expect("sweep again");
    assert!(again.is_empty());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stack.events_page(orphan, 0).await.events.len(),
        events.len()
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_stuck_step_is_named_after_the_last_completed_one() {
    // Detection and analysis run; intent_filter does not, so the scan stalls there.
    let roles = [
        Role::Api,
        Role::Events,
        Role::Stage("detection"),
        Role::Stage("analysis"),
    ];
    let stack = TestStack::start_roles(&roles).await;
    let scan_id = stuck_scan(&stack).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let events = stack.events_page(scan_id, 0).await.events;
        if events
            .iter()
            .any(|e| e.step == Step::named("analysis") && e.status == StepStatus::Complete)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "analysis did not complete"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query(
        "UPDATE scan_events SET created_at = now() - interval '20 minutes' WHERE scan_id = $1",
    )
    .bind(scan_id)
    .execute(&stack.db)
    .await
    .expect("age events");
    backdate(&stack, scan_id, 20).await;
    let deps = stack.deps().await;
    let swept = sweep_orphans(&deps.db, &deps.bus, &recon_tests::steps(), IDLE)
        .await
        .expect("sweep");
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].step, Step::named("intent_filter"));
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(20))
        .await;
    assert_eq!(
        events.last().map(|e| e.step.clone()),
        Some(Step::named("intent_filter"))
    );
    stack.stop().await;
}

#[tokio::test]
async fn every_role_serves_health_readiness_and_metrics_on_the_ops_listener() {
    let roles = parse_targets("all").expect("all");
    let stack = TestStack::start_with(&roles, &[("RECON_OPS_LISTEN", "127.0.0.1:0")]).await;
    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    stack
        .wait_for_terminal(scan_id, Duration::from_secs(60))
        .await;

    assert_eq!(stack.ops_get("/healthz").await.status(), 200);
    let ready = stack.ops_get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("readyz json");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["nats"], "ok");
    assert_eq!(body["checks"]["blob_store"], "ok");

    let metrics = stack.ops_metrics().await;
    for step in recon_tests::steps() {
        let series = format!(
            "recon_stage_messages_total{{stage=\"{}\",outcome=\"processed\"}}",
            step.as_str()
        );
        assert!(metrics.contains(&series), "no {series} in\n{metrics}");
    }
    for expected in [
        "recon_stage_duration_seconds_bucket{",
        "recon_http_request_duration_seconds_count{method=\"POST\",route=\"/scans/{id}/capture\",status=\"202\"}",
        "recon_client_requests_total{version=",
        "recon_consumer_pending_messages{",
        "recon_scans{status=\"complete\"}",
    ] {
        assert!(metrics.contains(expected), "no {expected} in\n{metrics}");
    }
    // Not on the public port.
    let api_metrics = stack
        .http
        .get(stack.url("/metrics"))
        .send()
        .await
        .expect("api metrics");
    assert_eq!(api_metrics.status(), 404);
    stack.stop().await;
}

/// The `version` labels of the client-requests series in an exposition.
fn version_labels(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("recon_client_requests_total{version=\""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_made_up_user_agents_add_no_version_label() {
    let stack = TestStack::start_with(&[Role::Api], &[("RECON_OPS_LISTEN", "127.0.0.1:0")]).await;
    let version = |agent: String| {
        let request = stack
            .http
            .get(stack.url("/version"))
            .header("user-agent", agent);
        async move { request.send().await.expect("GET /version").status() }
    };
    // A real CLI and a browser first: their labels are the ones expected.
    assert_eq!(version(recon_contracts::version::user_agent()).await, 200);
    assert_eq!(version("Mozilla/5.0".to_owned()).await, 200);
    let before = version_labels(&stack.ops_metrics().await);
    assert!(
        before.contains(recon_contracts::version::VERSION),
        "{before:?}"
    );
    assert!(before.contains("other"), "{before:?}");

    let agents: Vec<String> = (0..1000)
        .map(|index| match index % 8 {
            0 => format!("browser-recon/{}.0.0", 1 + index),
            1 => format!("browser-recon/0.3.{}", 1 + index),
            2 => format!("browser-recon/0.3.0-rc.{index}"),
            3 => format!("browser-recon/0.2.{index}+build"),
            4 => format!("browser-recon/0.2.0{index}"),
            5 => format!("browser-recon/0.{index}"),
            6 => format!("browser-recon/{index}"),
            _ => format!("scraper-{index}/1.0"),
        })
        .collect();
    let distinct: BTreeSet<&String> = agents.iter().collect();
    assert_eq!(distinct.len(), 1000);
    for chunk in agents.chunks(50) {
        let statuses = futures::future::join_all(chunk.iter().cloned().map(version)).await;
        assert!(statuses.iter().all(|status| status.is_success()));
    }
    let after = version_labels(&stack.ops_metrics().await);
    assert_eq!(after, before, "new version labels appeared");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_public_readiness_probe_names_failing_checks_without_their_error_text() {
    let stack = TestStack::start_with(&[Role::Api], &[("RECON_OPS_LISTEN", "127.0.0.1:0")]).await;
    // The blob store's directory disappears under the running server.
    let blobs = stack.data_dir.path().join("blobs");
    std::fs::remove_dir_all(&blobs).expect("remove the blob directory");
    let public = stack
        .http
        .get(stack.url("/readyz"))
        .send()
        .await
        .expect("public readyz");
    assert_eq!(public.status(), 503);
    let public: serde_json::Value = public.json().await.expect("json");
    assert_eq!(public["checks"]["blob_store"], "failing", "{public}");
    assert_eq!(public["checks"]["database"], "ok", "{public}");
    let path = blobs.display().to_string();
    assert!(!public.to_string().contains(&path), "{public}");

    let detailed = stack.ops_get("/readyz").await;
    assert_eq!(detailed.status(), 503);
    let detailed: serde_json::Value = detailed.json().await.expect("json");
    let text = detailed["checks"]["blob_store"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains(&path),
        "the operations listener keeps the details: {detailed}"
    );
    stack.stop().await;
}
