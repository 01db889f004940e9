//! The report of the bench's scan — the 2,000-request, 5 MB lamp-shop capture, every stage,
//! validation replaying against the live shop — compared with the one stored in
//! `tests/fixtures/golden/lamp-shop-report.json`. A change made for speed must leave every
//! result as it was; what differs from run to run (ids, times, the shop's port) is set aside
//! before comparing. After a change that is meant to alter results, rewrite the stored report
//! with `RECON_BLESS=1 cargo test -p recon-tests --test golden_report` and review its diff.

use std::path::PathBuf;
use std::time::Duration;

use recon_contracts::{Step, StepStatus};
use recon_tests::lamp_shop::{self, LampShop};
use serde_json::Value;

/// Stands for the shop's loopback address, whose port changes with every run.
const SHOP: &str = "lamp-shop.test";

fn stored_report() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/lamp-shop-report.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bench_scan_reports_what_the_stored_report_says() {
    let shop = LampShop::start(Duration::ZERO).await;
    let stack = shop.stack().await;
    let capture = lamp_shop::capture_of_size(&shop.base(), 2_000, 5 << 20);
    let scan_id = stack.create_scan("lamp prices").await.scan_id;
    stack.upload(scan_id, &capture).await;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(300))
        .await;
    let last = events.last().expect("events");
    assert_eq!(
        (last.step.clone(), last.status),
        (Step::named("render"), StepStatus::Complete),
        "{events:?}"
    );
    let report_url = stack.scan(scan_id).await.report_url;
    let mut report = stack.get_json(&format!("{report_url}.json")).await;
    stack.stop().await;

    normalize(&mut report, &shop.address.to_string(), &scan_id.to_string());
    let actual = serde_json::to_string_pretty(&report).unwrap() + "\n";
    let path = stored_report();
    if std::env::var_os("RECON_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; write it with RECON_BLESS=1",
            path.display()
        )
    });
    if stored != actual {
        let first = stored
            .lines()
            .zip(actual.lines())
            .position(|(stored, actual)| stored != actual)
            .unwrap_or_else(|| stored.lines().count().min(actual.lines().count()));
        let around = |text: &str| -> String {
            text.lines()
                .skip(first.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "the report differs from {} from line {}:\n--- stored\n{}\n--- now\n{}\n\
             (RECON_BLESS=1 rewrites it when the change is meant)",
            path.display(),
            first + 1,
            around(&stored),
            around(&actual)
        );
    }
}

/// Sets aside what differs between runs of the same scan: the scan's id, the shop's address,
/// and measured times. Everything else — vendors, endpoints, rankings, verdicts, code — stays.
fn normalize(value: &mut Value, shop: &str, scan_id: &str) {
    match value {
        Value::String(text) if text.contains(shop) || text.contains(scan_id) => {
            *text = text.replace(shop, SHOP).replace(scan_id, "<scan>");
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| normalize(item, shop, scan_id)),
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if is_measured(key) {
                    *field = Value::String("<measured>".to_owned());
                } else {
                    normalize(field, shop, scan_id);
                }
            }
        }
        _ => {}
    }
}

/// Fields that hold a clock reading or a duration.
fn is_measured(key: &str) -> bool {
    key.ends_with("_ms") || key.ends_with("_at") || key == "latency" || key == "elapsed"
}
