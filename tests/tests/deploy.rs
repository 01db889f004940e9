//! The deployment artefacts checked with the real tools: `helm lint` and `helm template` (helm
//! 3.17), `kubernetes-validate --strict` on the rendered manifests (default values and every
//! optional feature on) and on the dev cluster's NATS (a three-node JetStream cluster), one
//! Deployment per `recon-server` target (the chart's targets are the server's roles, registry
//! stages included), and a Tiltfile that names only files and resources that exist and takes its
//! targets from the chart.

use std::collections::BTreeSet;
use std::process::Command;

use recon_contracts::names;
use recon_server::Role;
use recon_tests::chart::{all_features, chart, documents, name, of_kind, render, repo};
use recon_tests::{harness_env, run_ok};
use serde_json::Value;

fn helm() -> Command {
    Command::new(harness_env("RECON_TEST_HELM"))
}

fn kubernetes_validate(yaml: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, yaml).expect("write manifests");
    let output = run_ok(
        Command::new(harness_env("RECON_TEST_KUBERNETES_VALIDATE"))
            .args(["--strict", "--quiet"])
            .arg(&file),
    );
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!report.contains("ERROR"), "{report}");
}

#[test]
fn helm_lint_passes_with_default_values_and_every_feature_on() {
    run_ok(helm().args(["lint", "--strict"]).arg(chart()));
    run_ok(
        helm()
            .args(["lint", "--strict"])
            .arg(chart())
            .arg("--values")
            .arg(all_features()),
    );
}

#[test]
fn rendered_manifests_pass_strict_kubernetes_validation() {
    kubernetes_validate(&render(&[], &[]));
    let everything = render(&[&all_features()], &[]);
    kubernetes_validate(&everything);
    let docs = documents(&everything);
    for kind in [
        "Deployment",
        "Service",
        "Ingress",
        "Job",
        "ServiceAccount",
        "ConfigMap",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ScaledObject",
    ] {
        assert!(
            !of_kind(&docs, kind).is_empty(),
            "no {kind} with every feature on"
        );
    }
    // An existing Secret replaces the chart's own.
    assert!(of_kind(&docs, "Secret").is_empty());
}

#[test]
fn every_target_of_the_binary_has_a_deployment_with_probes() {
    let docs = documents(&render(&[], &[]));
    let deployments = of_kind(&docs, "Deployment");
    assert_eq!(deployments.len(), Role::all().len());
    for role in Role::all() {
        let expected = format!("recon-browser-recon-{}", role.name().replace('_', "-"));
        let deployment = deployments
            .iter()
            .find(|doc| name(doc) == expected)
            .unwrap_or_else(|| panic!("no Deployment {expected}"));
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["args"],
            serde_json::json!(["--target", role.name()])
        );
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
            true
        );
    }
    let job = of_kind(&docs, "Job")
        .into_iter()
        .find(|doc| name(doc) == "recon-browser-recon-migrate")
        .expect("migrations job");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["args"],
        serde_json::json!(["migrate"])
    );
    let hook = job["metadata"]["annotations"]["helm.sh/hook"]
        .as_str()
        .unwrap_or_default();
    assert!(
        hook.contains("pre-install") && hook.contains("pre-upgrade"),
        "{hook}"
    );
}

/// The `targets` of the chart's default values, in file order.
fn chart_targets() -> Vec<String> {
    let values = std::fs::read_to_string(chart().join("values.yaml")).expect("read values.yaml");
    let docs = documents(&values);
    docs[0]["targets"]
        .as_object()
        .expect("targets is a map")
        .keys()
        .cloned()
        .collect()
}

/// The chart deploys exactly the server's roles: its default targets and the schema's list of
/// accepted targets are the names `recon-server targets` prints (the api, the events recorder
/// and the stages of the pipeline registry).
#[test]
fn the_charts_targets_are_the_servers_roles() {
    let roles: BTreeSet<String> = Role::all()
        .into_iter()
        .map(|role| role.name().to_owned())
        .collect();
    let defaults: BTreeSet<String> = chart_targets().into_iter().collect();
    assert_eq!(defaults, roles, "helm/browser-recon/values.yaml targets");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(chart().join("values.schema.json")).expect("read the schema"),
    )
    .expect("the schema is JSON");
    let accepted: BTreeSet<String> = schema["properties"]["targets"]["propertyNames"]["enum"]
        .as_array()
        .expect("the schema lists the accepted targets")
        .iter()
        .map(|name| name.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(accepted, roles, "values.schema.json targets.propertyNames");
}

#[test]
fn keda_scales_each_stage_on_its_own_jetstream_consumer() {
    let docs = documents(&render(&[&all_features()], &[]));
    let scaled = of_kind(&docs, "ScaledObject");
    let stages: Vec<_> = scaled
        .iter()
        .filter(|object| object["spec"]["scaleTargetRef"]["name"] != "recon-browser-recon-events")
        .collect();
    assert!(!stages.is_empty());
    for object in stages {
        let triggers = object["spec"]["triggers"].as_array().expect("triggers");
        assert_eq!(triggers.len(), 1, "a stage has one consumer");
        let trigger = &triggers[0];
        assert_eq!(trigger["type"], "nats-jetstream");
        let consumer = trigger["metadata"]["consumer"].as_str().unwrap_or_default();
        let step = recon_tests::steps()
            .into_iter()
            .find(|step| step.as_str() == consumer)
            .unwrap_or_else(|| panic!("{consumer} is not a stage's consumer"));
        assert_eq!(trigger["metadata"]["stream"], names::SCANS_STREAM);
        assert_eq!(
            object["spec"]["scaleTargetRef"]["name"],
            format!("recon-browser-recon-{}", step.as_str().replace('_', "-"))
        );
    }
}

/// The events recorder's lag is spread over its partition consumers: one trigger per
/// partition of the configured layout (all-features-values.yaml sets 4).
#[test]
fn keda_scales_the_events_recorder_on_every_partition_consumer() {
    let docs = documents(&render(&[&all_features()], &[]));
    let scaled = of_kind(&docs, "ScaledObject");
    let [events] = scaled
        .iter()
        .filter(|object| object["spec"]["scaleTargetRef"]["name"] == "recon-browser-recon-events")
        .collect::<Vec<_>>()[..]
    else {
        panic!("one ScaledObject for the events target");
    };
    let triggers = events["spec"]["triggers"].as_array().expect("triggers");
    let consumers: Vec<&str> = triggers
        .iter()
        .map(|trigger| {
            assert_eq!(trigger["type"], "nats-jetstream");
            assert_eq!(trigger["metadata"]["stream"], names::SCAN_EVENTS_STREAM);
            trigger["metadata"]["consumer"].as_str().unwrap_or_default()
        })
        .collect();
    let expected: Vec<String> = (0..4)
        .map(|partition| names::events_partition_consumer(4, partition))
        .collect();
    assert_eq!(consumers, expected);
}

#[test]
fn the_values_schema_refuses_unknown_targets_and_bad_settings() {
    for bad in [
        "targets.crawler.replicas=1",
        "image.pullPolicy=Sometimes",
        "defaults.autoscaling.maxReplicas=0",
        "config.RECON_EVENT_PARTITIONS=0",
        "config.RECON_EVENT_PARTITIONS=65",
    ] {
        let output = helm()
            .arg("template")
            .arg("recon")
            .arg(chart())
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
fn the_dev_nats_is_a_three_node_jetstream_cluster_the_chart_uses_with_three_replicas() {
    let nats = std::fs::read_to_string(repo().join("k8s/nats.yaml")).expect("read k8s/nats.yaml");
    kubernetes_validate(&nats);
    let docs = documents(&nats);
    let statefulsets = of_kind(&docs, "StatefulSet");
    let [statefulset] = statefulsets.as_slice() else {
        panic!("one NATS StatefulSet, got {}", statefulsets.len());
    };
    let replicas = statefulset["spec"]["replicas"].as_u64().unwrap_or_default();
    assert_eq!(replicas, 3);
    let headless = statefulset["spec"]["serviceName"]
        .as_str()
        .unwrap_or_default();
    assert!(
        of_kind(&docs, "Service")
            .iter()
            .any(|service| name(service) == headless && service["spec"]["clusterIP"] == "None"),
        "the StatefulSet's service {headless} is headless"
    );
    let config = of_kind(&docs, "ConfigMap")[0]["data"]["nats.conf"]
        .as_str()
        .unwrap_or_default();
    for ordinal in 0..replicas {
        let route = format!("nats://nats-{ordinal}.{headless}:6222");
        assert!(config.contains(&route), "no route {route} in:\n{config}");
    }
    assert!(config.contains("jetstream") && config.contains("server_name: $SERVER_NAME"));

    // The chart, installed with the dev values, lists every server and asks for three replicas.
    let rendered = documents(&render(&[&repo().join("k8s/values-dev.yaml")], &[]));
    let env = &of_kind(&rendered, "ConfigMap")[0]["data"];
    let urls = env["NATS_URL"].as_str().unwrap_or_default();
    assert_eq!(urls.split(',').count(), 3, "{urls}");
    assert_eq!(env["RECON_NATS_REPLICAS"], "3");
}

/// Quoted strings of a line, in order.
fn quoted(line: &str) -> Vec<&str> {
    line.split('\'').skip(1).step_by(2).collect()
}

#[test]
fn the_tiltfile_names_only_files_and_resources_that_exist() {
    let tiltfile = std::fs::read_to_string(repo().join("Tiltfile")).expect("read Tiltfile");
    let code: Vec<&str> = tiltfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();

    let mut paths = BTreeSet::new();
    for line in &code {
        for text in quoted(line) {
            if text.contains('/') || text == "Dockerfile" || text.ends_with(".yaml") {
                paths.insert(text.to_owned());
            }
        }
    }
    assert!(paths.contains("helm/browser-recon") && paths.contains("Dockerfile"));
    for path in &paths {
        assert!(
            repo().join(path).exists(),
            "the Tiltfile names {path}, which does not exist"
        );
    }

    let mut workloads = BTreeSet::new();
    let mut manifests = render(&[&repo().join("k8s/values-dev.yaml")], &[]);
    for file in [
        "k8s/nats.yaml",
        "k8s/postgres.yaml",
        "k8s/aws-emulator.yaml",
    ] {
        manifests.push_str("\n---\n");
        manifests.push_str(&std::fs::read_to_string(repo().join(file)).expect("read manifest"));
    }
    for doc in documents(&manifests) {
        if ["Deployment", "StatefulSet", "Job"].contains(&doc["kind"].as_str().unwrap_or_default())
        {
            workloads.insert(name(&doc).to_owned());
        }
    }
    let joined = code.join("\n");
    let mut named = BTreeSet::new();
    // Resources named literally; the targets' resources come from the chart's values below.
    for call in joined.split("k8s_resource(").skip(1) {
        let args = call.split(')').next().unwrap_or_default();
        if args.trim_start().starts_with('\'') {
            named.insert(quoted(args)[0].to_owned());
        }
    }
    for list in joined
        .split("resource_deps=[")
        .skip(1)
        .chain(joined.split("stage_deps = [").skip(1))
    {
        let list = list.split(']').next().unwrap_or_default();
        named.extend(quoted(list).into_iter().map(str::to_owned));
    }
    assert!(
        joined.contains("read_yaml('helm/browser-recon/values.yaml')")
            && joined.contains("['targets'].keys()"),
        "the Tiltfile takes its targets from the chart's values"
    );
    for target in chart_targets() {
        named.insert(format!("recon-browser-recon-{}", target.replace('_', "-")));
    }
    for resource in &named {
        assert!(
            workloads.contains(resource),
            "the Tiltfile names {resource}, which no manifest defines (have {workloads:?})"
        );
    }
}

#[test]
fn the_dockerfile_ships_only_the_server_binary_as_a_non_root_user() {
    // No image registry is reachable here, so the image is not built in the tests; this checks
    // the Dockerfile's shape against the workspace it builds.
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("read Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 3, "multi-stage: {stages:?}");
    assert!(
        dockerfile.contains("cargo chef cook"),
        "a cached dependency layer"
    );
    let runtime = dockerfile.rsplit("\nFROM ").next().expect("a last stage");
    assert!(runtime.contains("COPY --from=builder /recon-server /usr/local/bin/recon-server"));
    assert_eq!(
        runtime.matches("COPY").count(),
        1,
        "the runtime image holds one binary"
    );
    let user = runtime
        .lines()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "runs as {user}"
    );
    let manifest = std::fs::read_to_string(repo().join("services/server/Cargo.toml"))
        .expect("read the server manifest");
    assert!(manifest.contains("name = \"recon-server\""));
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|line| line.trim() == "target/"));
}
