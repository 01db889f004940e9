//! Starts a stack shared the way a test binary shares one, prints what it made (one JSON line)
//! and exits, for the test that checks that a shared stack is torn down at exit
//! (tests/tests/test_stack.rs). Needs the environment `cargo xtask test` sets.

use recon_tests::{SharedStack, StackTraces};

static SHARED: SharedStack = SharedStack::new("api", &[]);

fn main() {
    let world = SHARED.world();
    let traces = StackTraces::of(world.stack());
    world.block_on(traces.assert_all_present());
    println!(
        "{}",
        serde_json::to_string(&traces).expect("traces as JSON")
    );
}
