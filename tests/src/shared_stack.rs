//! A [`TestStack`] shared by the tests of one test binary, so a suite can be one test per
//! scenario (the first failure no longer hides the rest) without starting a stack per test.
//!
//! The stack is started by the first test that asks for it, on a runtime of its own: a test's
//! own runtime ends with the test, and with it every task spawned on it. Each test then runs on
//! that runtime with [`SharedWorld::block_on`] and keeps to its own scans and accounts, so the
//! tests cannot disturb one another. A `static` is never dropped, so the stack is torn down
//! (roles, `nats-server`, database, directories: see [`TestStack`]'s drop) when the test binary
//! exits, whether its tests passed or failed.

use std::future::Future;
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use recon_server::Role;
use tokio::runtime::Runtime;

use crate::TestStack;

/// How long the runtime's tasks get to finish when the binary exits.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(10);

/// Declared as a `static`; started on first use.
pub struct SharedStack {
    /// The roles to run, as `recon-server --target` takes them.
    targets: &'static str,
    /// Extra environment settings, as [`TestStack::start_with`] takes them.
    overrides: &'static [(&'static str, &'static str)],
    world: Mutex<Option<Arc<SharedWorld>>>,
}

/// The running stack and the runtime its roles run on.
pub struct SharedWorld {
    stack: Option<TestStack>,
    runtime: Option<Runtime>,
}

/// Every shared stack this binary started, for the exit handler.
static STARTED: Mutex<Vec<&'static SharedStack>> = Mutex::new(Vec::new());
static EXIT_HANDLER: Once = Once::new();

impl SharedStack {
    pub const fn new(
        targets: &'static str,
        overrides: &'static [(&'static str, &'static str)],
    ) -> SharedStack {
        SharedStack {
            targets,
            overrides,
            world: Mutex::new(None),
        }
    }

    /// The world, started now if no test started it yet. Tests that ask while it starts wait;
    /// if starting fails (a panic), the next test tries again.
    pub fn world(&'static self) -> Arc<SharedWorld> {
        let mut world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(started) = world.as_ref() {
            return started.clone();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("shared-stack")
            .enable_all()
            .build()
            .expect("a runtime for the shared stack");
        let roles: Vec<Role> = recon_server::parse_targets(self.targets).expect("known targets");
        let stack = runtime.block_on(TestStack::start_with(&roles, self.overrides));
        let started = Arc::new(SharedWorld {
            stack: Some(stack),
            runtime: Some(runtime),
        });
        *world = Some(started.clone());
        STARTED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self);
        EXIT_HANDLER.call_once(register_exit_handler);
        started
    }

    fn tear_down(&self) {
        let world = self
            .world
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // At exit no test holds a clone any more; if one did, its drop would do this.
        drop(world);
    }
}

impl SharedWorld {
    pub fn stack(&self) -> &TestStack {
        self.stack.as_ref().expect("the stack runs until exit")
    }

    /// Runs one test's async body on the stack's runtime.
    pub fn block_on<F: Future>(&self, test: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime runs until exit")
            .block_on(test)
    }
}

impl Drop for SharedWorld {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        {
            // The stack's pools and tasks belong to this runtime.
            let _inside = runtime.enter();
            drop(self.stack.take());
        }
        runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    }
}

fn register_exit_handler() {
    // SAFETY: `atexit` only records the function; `tear_down_all` takes no arguments, uses
    // only Rust-side state and does not unwind into C (panics are caught).
    let registered = unsafe { libc::atexit(tear_down_all) };
    if registered != 0 {
        eprintln!("shared stack: cannot register the exit handler; the stack will leak");
    }
}

/// Runs when the test binary exits: every shared stack goes, as a `TestStack` goes on drop.
extern "C" fn tear_down_all() {
    let result = std::panic::catch_unwind(|| {
        let started = std::mem::take(&mut *STARTED.lock().unwrap_or_else(PoisonError::into_inner));
        for shared in started {
            shared.tear_down();
        }
    });
    if result.is_err() {
        eprintln!("shared stack: tearing down at exit panicked");
    }
}
