//! The monitoring that ships with the chart (issue 20): the Grafana dashboard in a ConfigMap for
//! the sidecar and the PrometheusRule, both off by default. Checked as rendered by `helm
//! template`: the dashboard is a well-formed Grafana dashboard, every query of the dashboard and
//! the alerts names only metrics, labels and label values that a running server exports on its
//! `/metrics` (after a scan, a refused request and a failed message), and promtool accepts the
//! rules and shows each alert firing on the series it is for and silent on the others.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use recon_contracts::{names, CreateScanRequest, Step};
use recon_server::parse_targets;
use recon_tests::chart::{self, all_features, documents, of_kind, render};
use recon_tests::exposition::Exposition;
use recon_tests::{fixtures, harness_env, promql, run_ok, TestStack};
use serde_json::{json, Value};

const DASHBOARD_FILE: &str = "dashboards/browser-recon.json";

fn dashboard() -> Value {
    let text =
        std::fs::read_to_string(chart::chart().join(DASHBOARD_FILE)).expect("read the dashboard");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every panel, those inside rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner);
        }
    }
    all
}

fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    panels(dashboard)
        .into_iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| target["expr"].as_str().expect("an expr").to_owned())
        .collect()
}

/// The PrometheusRule's spec with the alerts on and every other value at its default.
fn rule_spec() -> Value {
    let docs = documents(&render(&[], &["monitoring.alerts.enabled=true"]));
    let rules = of_kind(&docs, "PrometheusRule");
    assert_eq!(rules.len(), 1);
    rules[0]["spec"].clone()
}

fn rules(spec: &Value) -> Vec<&Value> {
    spec["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().expect("rules"))
        .collect()
}

fn rule<'a>(spec: &'a Value, alert: &str) -> &'a Value {
    rules(spec)
        .into_iter()
        .find(|rule| rule["alert"] == alert)
        .unwrap_or_else(|| panic!("no alert {alert}"))
}

#[test]
fn nothing_is_rendered_by_default_and_both_follow_their_values() {
    let defaults = documents(&render(&[], &[]));
    assert!(of_kind(&defaults, "PrometheusRule").is_empty());
    assert!(!defaults
        .iter()
        .any(|doc| chart::name(doc).ends_with("-dashboard")));

    let docs = documents(&render(&[&all_features()], &[]));
    let dashboards: Vec<&Value> = of_kind(&docs, "ConfigMap")
        .into_iter()
        .filter(|doc| chart::name(doc) == "recon-browser-recon-dashboard")
        .collect();
    assert_eq!(dashboards.len(), 1);
    let config_map = dashboards[0];
    assert_eq!(
        config_map["metadata"]["labels"]["grafana_dashboard"], "1",
        "the sidecar's label"
    );
    assert_eq!(
        config_map["metadata"]["annotations"]["grafana_folder"],
        "browser-recon"
    );
    let shipped: Value = serde_json::from_str(
        config_map["data"]["browser-recon.json"]
            .as_str()
            .expect("the dashboard's data"),
    )
    .expect("the ConfigMap holds JSON");
    assert_eq!(
        shipped,
        dashboard(),
        "the ConfigMap holds the checked-in file"
    );

    let rules = of_kind(&docs, "PrometheusRule");
    assert_eq!(rules.len(), 1);
    assert_eq!(
        rules[0]["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    let relabelled = documents(&render(
        &[&all_features()],
        &[
            "monitoring.dashboard.sidecarLabel=dashboards",
            "monitoring.dashboard.sidecarLabelValue=recon",
        ],
    ));
    let config_map = of_kind(&relabelled, "ConfigMap")
        .into_iter()
        .find(|doc| chart::name(doc) == "recon-browser-recon-dashboard")
        .expect("the dashboard");
    assert_eq!(config_map["metadata"]["labels"]["dashboards"], "recon");
}

#[test]
fn the_values_schema_refuses_malformed_alert_settings() {
    for bad in [
        "monitoring.alerts.consumerLag.window=ten minutes",
        "monitoring.alerts.erroredScans.ratio=2",
        "monitoring.alerts.erroredScans.minScans=0",
        "monitoring.dashboard.colour=red",
    ] {
        let output = Command::new(harness_env("RECON_TEST_HELM"))
            .arg("template")
            .arg("recon")
            .arg(chart::chart())
            .args(["--set", bad])
            .output()
            .expect("run helm");
        assert!(!output.status.success(), "helm accepted {bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("values don't meet the specifications"),
            "{stderr}"
        );
    }
}

#[test]
fn the_dashboard_is_a_well_formed_grafana_dashboard() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "browser-recon");
    assert!(dashboard["schemaVersion"].as_u64().is_some());
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    let datasource = variables
        .iter()
        .find(|variable| variable["name"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    let expected_source = json!({"type": "prometheus", "uid": "${datasource}"});

    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for panel in panels(&dashboard) {
        let id = panel["id"].as_u64().expect("a numeric panel id");
        assert!(ids.insert(id), "panel id {id} twice");
        let title = panel["title"].as_str().expect("a title");
        assert!(!title.is_empty());
        let grid = &panel["gridPos"];
        let (x, y, w, h) = (
            grid["x"].as_u64().expect("x"),
            grid["y"].as_u64().expect("y"),
            grid["w"].as_u64().expect("w"),
            grid["h"].as_u64().expect("h"),
        );
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: {grid}");
        for row in y..y + h {
            for column in x..x + w {
                assert!(cells.insert((row, column)), "{title} overlaps a panel");
            }
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"], expected_source, "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} queries nothing");
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            assert!(
                ref_ids.insert(target["refId"].as_str().expect("refId")),
                "{title}: refId twice"
            );
            assert_eq!(target["datasource"], expected_source, "{title}");
            assert!(!target["expr"].as_str().expect("expr").trim().is_empty());
        }
    }

    // What the dashboard is for: each of these is queried.
    let queries = dashboard_queries(&dashboard);
    let used: BTreeSet<String> = queries
        .iter()
        .flat_map(|expr| promql::names(expr).expect("names").metrics)
        .collect();
    for metric in [
        "recon_stage_duration_seconds_bucket",
        "recon_stage_messages_total",
        "recon_consumer_pending_messages",
        "recon_scans",
        "recon_orphans_swept_total",
        "recon_http_request_duration_seconds_bucket",
        "recon_client_requests_total",
    ] {
        assert!(used.contains(metric), "the dashboard never shows {metric}");
    }
    assert!(
        queries.iter().any(|expr| expr.contains("by (route, le)")),
        "HTTP latency by route"
    );
}

/// A scan through every stage, a request over a quota and a message the first stage cannot
/// read: samples of every metric the chart's queries use, then the exposition.
async fn exposition_of_a_busy_server() -> Exposition {
    let stack = TestStack::start_with(
        &parse_targets("all").expect("all"),
        &[
            ("RECON_OPS_LISTEN", "127.0.0.1:0"),
            ("RECON_QUOTA_SCANS_PER_HOUR", "1"),
        ],
    )
    .await;
    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    stack
        .wait_for_terminal(scan_id, Duration::from_secs(60))
        .await;
    let refused = stack
        .authed(stack.http.post(stack.url("/scans")))
        .json(&CreateScanRequest {
            target_url: "https://demo-shop.recon.test/".to_owned(),
            intent_text: None,
            starter_template: None,
        })
        .send()
        .await
        .expect("POST /scans");
    assert_eq!(refused.status(), 429, "the second scan of the hour");
    let jetstream =
        async_nats::jetstream::new(async_nats::connect(&stack.nats.url).await.expect("NATS"));
    jetstream
        .publish(names::SCAN_CAPTURED, "not a pipeline message".into())
        .await
        .expect("publish")
        .await
        .expect("stored in the stream");

    let failed = format!(
        "recon_stage_messages_total{{stage=\"{}\",outcome=\"failed\"}}",
        Step::ALL[0].as_str()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = stack.ops_metrics().await;
        if text.contains(&failed) {
            break text;
        }
        assert!(Instant::now() < deadline, "no {failed} in\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stack.stop().await;
    Exposition::parse(&text).expect("the exposition parses")
}

/// Whether `value` of a matcher with `op` can match something the exposition holds.
fn matcher_values(op: &str, value: &str) -> Vec<String> {
    match op {
        "=" => vec![value.to_owned()],
        "=~" => {
            let alternatives: Vec<String> = value.split('|').map(str::to_owned).collect();
            for alternative in &alternatives {
                assert!(
                    alternative
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "only alternatives of plain words are checked: {value}"
                );
            }
            alternatives
        }
        _ => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_query_names_only_what_a_running_server_exports() {
    let exposition = exposition_of_a_busy_server().await;
    let spec = rule_spec();
    let mut queries: Vec<(String, String)> = dashboard_queries(&dashboard())
        .into_iter()
        .map(|expr| ("the dashboard".to_owned(), expr))
        .collect();
    for rule in rules(&spec) {
        let alert = rule["alert"].as_str().expect("an alert name");
        let expr = rule["expr"].as_str().expect("an expr");
        queries.push((alert.to_owned(), expr.to_owned()));
    }
    assert!(queries.len() > 10, "{queries:?}");

    for (source, expr) in &queries {
        let found = promql::names(expr).unwrap_or_else(|err| panic!("{source}: {err}"));
        assert!(
            !found.metrics.is_empty(),
            "{source} queries no metric: {expr}"
        );
        let mut labels = BTreeSet::new();
        for metric in &found.metrics {
            assert!(
                exposition.series.contains(metric),
                "{source} queries {metric}, which the server does not export: {expr}"
            );
            let sampled = exposition
                .labels
                .get(metric)
                .unwrap_or_else(|| panic!("{metric} had no sample to check labels against"));
            labels.extend(sampled.keys().cloned());
        }
        for label in &found.labels {
            assert!(
                labels.contains(label),
                "{source} uses the label {label}, which {:?} do not have: {expr}",
                found.metrics
            );
        }
        for matcher in &found.matchers {
            let metric = matcher.metric.as_deref().expect("selectors name a metric");
            let seen = exposition.values(metric, &matcher.label);
            for value in matcher_values(&matcher.op, &matcher.value) {
                assert!(
                    seen.contains(&value),
                    "{source} matches {}=\"{value}\" on {metric}, which has only {seen:?}",
                    matcher.label
                );
            }
        }
    }

    // The errored ratio's denominator is the scans entering the pipeline: its first stage.
    let errored =
        promql::names(rule(&spec, "ReconScansErroring")["expr"].as_str().unwrap()).expect("names");
    for matcher in errored.matchers.iter().filter(|m| m.label == "stage") {
        assert_eq!(matcher.value, Step::ALL[0].as_str());
    }
}

/// The annotations of `rule` as Prometheus fills them in for an alert with `labels`.
fn expanded_annotations(rule: &Value, labels: &[(&str, &str)]) -> Value {
    let mut annotations = rule["annotations"].clone();
    for (_, text) in annotations.as_object_mut().expect("annotations") {
        let mut filled = text.as_str().expect("an annotation").to_owned();
        for (label, value) in labels {
            filled = filled.replace(&format!("{{{{ $labels.{label} }}}}"), value);
        }
        assert!(!filled.contains("{{"), "unfilled: {filled}");
        *text = Value::String(filled);
    }
    annotations
}

/// The alert `alert` expected firing with `labels` (besides its own).
fn firing(spec: &Value, alert: &str, labels: &[(&str, &str)]) -> Value {
    let rule = rule(spec, alert);
    let mut all = rule["labels"].clone();
    for (label, value) in labels {
        all[*label] = Value::String((*value).to_owned());
    }
    json!({ "exp_labels": all, "exp_annotations": expanded_annotations(rule, labels) })
}

fn case(name: &str, series: &[(&str, &str)], checks: &[(&str, &str, Vec<Value>)]) -> Value {
    json!({
        "name": name,
        "interval": "1m",
        "input_series": series
            .iter()
            .map(|(series, values)| json!({"series": series, "values": values}))
            .collect::<Vec<_>>(),
        "alert_rule_test": checks
            .iter()
            .map(|(at, alert, expected)| json!({"eval_time": at, "alertname": alert, "exp_alerts": expected}))
            .collect::<Vec<_>>(),
    })
}

#[test]
fn promtool_accepts_the_rules_and_each_alert_fires_only_when_it_should() {
    let spec = rule_spec();
    let dir = tempfile::tempdir().expect("temp dir");
    // JSON is YAML: promtool reads both.
    let rules_file = dir.path().join("rules.json");
    std::fs::write(&rules_file, spec.to_string()).expect("write rules");
    let promtool = harness_env("RECON_TEST_PROMTOOL");
    let checked = run_ok(
        Command::new(&promtool)
            .arg("check")
            .arg("rules")
            .arg(&rules_file),
    );
    assert!(String::from_utf8_lossy(&checked.stdout).contains("SUCCESS: 3 rules found"));

    let lag = "ReconConsumerLagGrowing";
    let errored = "ReconScansErroring";
    let orphans = "ReconOrphanSweeps";
    let validation_lag = [("stream", names::SCANS_STREAM), ("consumer", "validation")];
    let pending = |consumer: &str, pod: &str| {
        format!(
            "recon_consumer_pending_messages{{stream=\"SCANS\",consumer=\"{consumer}\",pod=\"{pod}\"}}"
        )
    };
    let messages = |stage: &str, outcome: &str| {
        format!("recon_stage_messages_total{{stage=\"{stage}\",outcome=\"{outcome}\",pod=\"a\"}}")
    };
    let (validation_a, validation_b, detection_a) = (
        pending("validation", "a"),
        pending("validation", "b"),
        pending("detection", "a"),
    );
    let (detection_ok, detection_failed, validation_failed, validation_ok) = (
        messages("detection", "processed"),
        messages("detection", "failed"),
        messages("validation", "failed"),
        messages("validation", "processed"),
    );
    let tests = vec![
        case(
            "a stage's lag that keeps growing (both replicas report it); a high but flat one",
            &[
                (&validation_a, "0+3x120"),
                (&validation_b, "0+3x120"),
                (&detection_a, "50x120"),
            ],
            &[
                ("5m", lag, vec![]),
                ("60m", lag, vec![firing(&spec, lag, &validation_lag)]),
            ],
        ),
        case(
            "a lag that drains",
            &[(&validation_a, "300-2x120")],
            &[("60m", lag, vec![])],
        ),
        case(
            "every scan errors in validation",
            &[(&detection_ok, "0+2x120"), (&validation_failed, "0+2x120")],
            &[
                ("60m", errored, vec![firing(&spec, errored, &[])]),
                ("60m", orphans, vec![]),
            ],
        ),
        case(
            "scans complete; one message in a hundred fails",
            &[
                (&detection_ok, "0+2x120"),
                (&validation_ok, "0+2x120"),
                (&detection_failed, "0+0.02x120"),
            ],
            &[("60m", errored, vec![])],
        ),
        case(
            "too few scans to judge",
            &[(&detection_failed, "0+0.05x120")],
            &[("60m", errored, vec![])],
        ),
        case(
            "one orphan sweep at 20 minutes",
            &[("recon_orphans_swept_total{pod=\"a\"}", "0x20 1x100")],
            &[
                ("10m", orphans, vec![]),
                ("25m", orphans, vec![firing(&spec, orphans, &[])]),
                ("90m", orphans, vec![]),
            ],
        ),
    ];
    let unit = json!({
        "rule_files": ["rules.json"],
        "evaluation_interval": "1m",
        "tests": tests,
    });
    let unit_file = dir.path().join("tests.json");
    std::fs::write(&unit_file, unit.to_string()).expect("write the unit tests");
    run_ok(
        Command::new(&promtool)
            .current_dir(dir.path())
            .arg("test")
            .arg("rules")
            .arg(Path::new("tests.json")),
    );
}
