//! What a [`TestStack`] made outside the test process (its `nats-server`, its database, its
//! directories), recorded while it runs so a test can check that all of it is gone afterwards.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::{harness_env, TestStack};

/// What a stack made outside this process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackTraces {
    nats_pid: u32,
    database: String,
    data_dir: PathBuf,
    store_dir: PathBuf,
}

impl StackTraces {
    pub fn of(stack: &TestStack) -> StackTraces {
        StackTraces {
            nats_pid: stack.nats.pid().expect("nats-server runs"),
            database: stack.database_name().to_owned(),
            data_dir: stack.data_dir.path().to_owned(),
            store_dir: stack.nats.store_dir().to_owned(),
        }
    }

    /// Our nats-server still exists, running or as a zombie nobody waited for. Pids are handed
    /// out in increasing order, so within a test no other nats-server takes this one over.
    pub fn nats_exists(&self) -> bool {
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

    pub async fn database_exists(&self) -> bool {
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

    pub async fn assert_all_present(&self) {
        assert!(self.nats_exists(), "no nats-server: {self:?}");
        assert!(self.database_exists().await, "no database: {self:?}");
        assert!(
            exists(&self.data_dir) && exists(&self.store_dir),
            "{self:?}"
        );
    }

    pub async fn assert_all_gone(&self) {
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
