//! Bodies of the endpoints a customer controls their account with (DESIGN.md § Accounts and
//! operators): their API keys and their scans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ScanView;

/// One API key as its owner sees it: never its value after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: Uuid,
    /// `rec_live_` and the next four characters, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// When the key was last used (to the minute), if ever.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// This is the key that asked.
    #[serde(default)]
    pub current: bool,
}

/// `GET /account/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// `201` answer to `POST /account/keys`: the key in clear text, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub id: Uuid,
    pub key: String,
}

/// `GET /scans`: the account's scans, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanList {
    pub scans: Vec<ScanView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}
