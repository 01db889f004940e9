//! What an operator sees of the whole service (DESIGN.md § Accounts and operators): the CLI
//! version banner, scans by status and the errored ones, and usage per account. The same shapes
//! answer `/admin/api/*` and print as `recon-server admin versions|accounts|scans --json`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AccountQuotas;

/// `/admin/api/versions`: the version banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionReport {
    pub latest: String,
    pub minimum: String,
    /// The last 7 and the last 30 days (today included).
    pub windows: Vec<VersionWindow>,
    pub legacy: LegacyUse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionWindow {
    pub days: u32,
    /// Most requests first. `other` counts non-CLI clients and versions that are not releases.
    pub versions: Vec<VersionUse>,
    pub below_minimum: VersionTotals,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionUse {
    pub version: String,
    /// Distinct accounts whose keys sent this version (unauthenticated requests not counted).
    pub accounts: u64,
    pub requests: u64,
    pub below_minimum: bool,
}

/// Versions, accounts and requests below the minimum supported version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionTotals {
    pub versions: u64,
    pub accounts: u64,
    pub requests: u64,
}

/// Whether 0.2.x clients still call their legacy `POST /scans/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyUse {
    pub sunset: DateTime<Utc>,
    /// The endpoint still answers (the sunset is ahead).
    pub before_sunset: bool,
    pub requests_7d: u64,
    pub requests_30d: u64,
    pub accounts_30d: u64,
    /// A 0.2.x client called it in the last 7 days while it still answers.
    pub still_called: bool,
}

/// `/admin/api/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsReport {
    pub accounts: Vec<AccountUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUsage {
    pub id: Uuid,
    pub name: String,
    pub admin: bool,
    pub active_keys: u64,
    pub scans: u64,
    pub quotas: AccountQuotas,
}

/// `/admin/api/scans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScansReport {
    /// Scans now in each status.
    pub by_status: Vec<StatusCount>,
    /// Scans created per day of the last 30 days, by their status now.
    pub by_day: Vec<DayStatusCount>,
    /// The latest errored scans, newest first.
    pub errored: Vec<ErroredScan>,
    pub orphan_sweeps: OrphanSweeps,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStatusCount {
    pub day: NaiveDate,
    pub status: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErroredScan {
    pub id: Uuid,
    pub account: String,
    pub target_url: String,
    /// The step whose `errored` event ended the scan, when there is one.
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

/// Sweeps that marked scans stuck in processing as errored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrphanSweeps {
    pub sweeps_7d: u64,
    pub scans_7d: u64,
    pub scans_30d: u64,
    #[serde(default)]
    pub last_at: Option<DateTime<Utc>>,
}
