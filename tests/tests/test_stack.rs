//! `TestStack` leaves nothing behind: once a stack is dropped (after its test passed, after
//! `stop()`, or while its test panics) its `nats-server` no longer runs, its database no longer
//! exists and its directories are gone, so a long test run does not pile up servers and
//! databases.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use recon_server::Role;
use recon_tests::{harness_env, TestStack};
use sqlx::PgPool;

/// What a stack made outside this process.
#[derive(Debug, Clone)]
struct Traces {
    nats_pid: u32,
    database: String,
    data_dir: PathBuf,
    store_dir: PathBuf,
}

impl Traces {
    fn of(stack: &TestStack) -> Traces {
        Traces {
            nats_pid: stack.nats.pid().expect("nats-server runs"),
            database: stack.database_name().to_owned(),
            data_dir: stack.data_dir.path().to_owned(),
            store_dir: stack.nats.store_dir().to_owned(),
        }
    }

    /// Our nats-server still exists, running or as a zombie nobody waited for. Pids are handed
    /// out in increasing order, so within a test no other nats-server takes this one over.
    fn nats_exists(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.nats_pid)) else {
            return false;
        };
        // `pid (comm) state …`; the command name may itself hold parentheses.
        let command = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(command, _)| command);
        command == Some("nats-server")
    }

    async fn database_exists(&self) -> bool {
        let admin = PgPool::connect(&harness_env("RECON_TEST_DATABASE_URL"))
            .await
            .expect("connect to the test cluster");
        let exists =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&self.database)
                .fetch_one(&admin)
                .await
                .expect("look up the database");
        admin.close().await;
        exists
    }

    async fn assert_all_present(&self) {
        assert!(self.nats_exists(), "no nats-server: {self:?}");
        assert!(self.database_exists().await, "no database: {self:?}");
        assert!(
            exists(&self.data_dir) && exists(&self.store_dir),
            "{self:?}"
        );
    }

    async fn assert_all_gone(&self) {
        assert!(
            !self.nats_exists(),
            "nats-server (pid {}) still exists",
            self.nats_pid
        );
        assert!(
            !self.database_exists().await,
            "database {} still exists",
            self.database
        );
        assert!(
            !exists(&self.data_dir),
            "{} remains",
            self.data_dir.display()
        );
        assert!(
            !exists(&self.store_dir),
            "{} remains",
            self.store_dir.display()
        );
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

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
