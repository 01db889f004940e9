//! The pipeline's shape is the server's: the `recon` built from this tree, run against a server
//! whose registry has one more stage than the standard pipeline (inserted through the same
//! registry API the real stages use), draws that step and ends the scan as complete, because
//! it knows no step name of its own.

use recon_contracts::{Detection, StepStatus};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Needs, Stage, StageContext, StageError};
use recon_server::{Pipeline, StageEntry};
use recon_tests::cli::run_recon;
use recon_tests::TestStack;

/// A stage no server ships: it reads a real result and stores a count.
#[derive(Clone)]
struct VendorTally;

impl Stage for VendorTally {
    const STEP: &'static str = "vendor_tally";

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let detection = ctx.result::<Detection>().await?;
        let vendors = detection.vendors.len();
        StageOutput::new(
            &serde_json::json!({ "vendors": vendors }),
            format!("{vendors} vendor(s) tallied"),
        )
    }
}

fn pipeline_with_a_tally() -> Pipeline {
    let mut pipeline = Pipeline::standard();
    pipeline
        .insert_after(
            "synthesis",
            StageEntry::new(VendorTally, "scan.tallied", Needs::DATABASE_AND_NATS),
        )
        .expect("the tally fits between synthesis and render");
    pipeline
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_draws_a_step_it_has_never_heard_of_and_the_scan_completes() {
    let stack = TestStack::start_pipeline(pipeline_with_a_tally()).await;
    let home = tempfile::TempDir::new().unwrap();
    let env = [
        ("RECON_SERVER", stack.api.as_str()),
        ("RECON_API_KEY", stack.key.as_str()),
    ];
    let output = run_recon(
        home.path(),
        &env,
        "",
        &[
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            "fixtures/demo.har",
            "--no-progress",
            "--json",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let result: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    assert_eq!(result["status"], "complete", "{stdout}");

    // The step lines, in the order the server ran them: the tally between synthesis and render.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with('['))
        .collect();
    let position = |wanted: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(wanted))
            .unwrap_or_else(|| panic!("no line {wanted:?} in:\n{stderr}"))
    };
    let tally = position("[vendor_tally] complete: ");
    assert!(position("[vendor_tally] started") < tally);
    assert!(position("[synthesis] complete") < position("[vendor_tally] started"));
    assert!(tally < position("[render] started"));
    assert!(
        lines[tally].ends_with("vendor(s) tallied"),
        "{}",
        lines[tally]
    );

    // The server names the step to every client: in the scan's answer and with its events.
    let scan_id = result["scan_id"].as_str().expect("scan_id");
    let view = stack.scan(scan_id.parse().expect("a uuid")).await;
    let served: Vec<&str> = view.steps.iter().map(|step| step.as_str()).collect();
    let mut expected: Vec<String> = recon_tests::steps()
        .iter()
        .map(|step| step.as_str().to_owned())
        .collect();
    let synthesis = expected
        .iter()
        .position(|step| step == "synthesis")
        .unwrap();
    expected.insert(synthesis + 1, "vendor_tally".to_owned());
    assert_eq!(served, expected);
    assert_eq!(served.last(), Some(&"render"));
    let page = stack.events_page(view.id, 0).await;
    let terminal: Vec<_> = page.events.iter().filter(|e| e.terminal).collect();
    assert_eq!(terminal.len(), 1, "{:?}", page.events);
    assert_eq!(terminal[0].step.as_str(), "render");
    assert_eq!(terminal[0].status, StepStatus::Complete);
    let tally_complete = page
        .events
        .iter()
        .find(|e| e.step.as_str() == "vendor_tally" && e.status == StepStatus::Complete)
        .expect("the tally's complete event");
    assert!(!tally_complete.terminal);
    stack.stop().await;
}
