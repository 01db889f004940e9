//! `TestStack` leaves nothing behind: once a stack is dropped (after its test passed, after
//! `stop()`, or while its test panics) or, for a [`recon_tests::SharedStack`], once its test
//! binary exits, its `nats-server` no longer runs, its database no longer exists and its
//! directories are gone, so a long test run does not pile up servers and databases.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use recon_server::Role;
use recon_tests::{StackTraces as Traces, TestStack};

#[tokio::test]
async fn a_dropped_stack_leaves_no_process_database_or_directory() {
    let stack = TestStack::start_roles(&[Role::Api]).await;
    let traces = Traces::of(&stack);
    traces.assert_all_present().await;
    drop(stack);
    traces.assert_all_gone().await;
}

#[tokio::test]
async fn a_stopped_stack_leaves_no_process_database_or_directory() {
    let stack = TestStack::start_roles(&[Role::Api]).await;
    let traces = Traces::of(&stack);
    traces.assert_all_present().await;
    stack.stop().await;
    traces.assert_all_gone().await;
}

/// The same as `#[tokio::test]` does with a test body that panics: the panic unwinds out of
/// `block_on`, dropping the stack on the way.
#[test]
fn a_stack_whose_test_panics_is_cleaned_up_too() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let seen: Arc<Mutex<Option<Traces>>> = Arc::default();
    let record = seen.clone();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async move {
            let stack = TestStack::start_roles(&[Role::Api]).await;
            let traces = Traces::of(&stack);
            traces.assert_all_present().await;
            *record.lock().expect("lock") = Some(traces);
            panic!("a failing test (this panic is expected)");
        })
    }));
    assert!(outcome.is_err(), "the test body panicked");
    let traces = seen
        .lock()
        .expect("lock")
        .clone()
        .expect("the stack started");
    runtime.block_on(traces.assert_all_gone());
}

/// A shared stack lives in a `static`, which is never dropped: it is torn down when its binary
/// exits. `shared-stack-probe` starts one, prints what it made and exits.
#[tokio::test]
async fn a_shared_stack_is_torn_down_when_its_binary_exits() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_shared-stack-probe"))
        .output()
        .await
        .expect("run shared-stack-probe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let traces: Traces = stdout
        .lines()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no traces in the probe's output: {stdout}"));
    traces.assert_all_gone().await;
}
