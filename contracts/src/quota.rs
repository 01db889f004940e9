//! Per-account quotas as clients see them: their names, the usage `GET /account` shows, and the
//! body of the 429 that refuses work over a quota (DESIGN.md § Trust boundary).

use serde::{Deserialize, Serialize};

use crate::ErrorDetail;

/// One quota of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    /// Scans in processing at once.
    ConcurrentScans,
    /// Scans created in the last hour.
    ScansPerHour,
    /// Bytes of captures accepted in the last 24 hours, as stored (gzip).
    CaptureBytesPerDay,
    /// Replay requests validation sent for the account in the last 24 hours.
    ValidationRequestsPerDay,
    /// WebSockets open at once.
    Websockets,
}

impl Quota {
    pub const ALL: [Quota; 5] = [
        Quota::ConcurrentScans,
        Quota::ScansPerHour,
        Quota::CaptureBytesPerDay,
        Quota::ValidationRequestsPerDay,
        Quota::Websockets,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Quota::ConcurrentScans => "concurrent_scans",
            Quota::ScansPerHour => "scans_per_hour",
            Quota::CaptureBytesPerDay => "capture_bytes_per_day",
            Quota::ValidationRequestsPerDay => "validation_requests_per_day",
            Quota::Websockets => "websockets",
        }
    }

    /// The sliding window a use counts in; `None` for quotas on what is open at once.
    pub fn window_secs(self) -> Option<u64> {
        match self {
            Quota::ScansPerHour => Some(3600),
            Quota::CaptureBytesPerDay | Quota::ValidationRequestsPerDay => Some(86_400),
            Quota::ConcurrentScans | Quota::Websockets => None,
        }
    }
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A quota's limit and what the account uses of it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUse {
    pub limit: u64,
    pub used: u64,
    /// The sliding window of `used`; absent for quotas on what is open at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
}

/// Every quota of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountQuotas {
    pub concurrent_scans: QuotaUse,
    pub scans_per_hour: QuotaUse,
    pub capture_bytes_per_day: QuotaUse,
    pub validation_requests_per_day: QuotaUse,
    pub websockets: QuotaUse,
}

/// `GET /account`: whose key this is, and the account's quotas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub account: String,
    /// `rec_live_` and the next four characters of the key that asked.
    pub key_prefix: String,
    pub quotas: AccountQuotas,
}

/// The body of a 429 over a quota: the usual `{error: {code, message}}` with the quota named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaErrorBody {
    pub error: QuotaErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaErrorDetail {
    /// `code` is `quota_exceeded`.
    #[serde(flatten)]
    pub detail: ErrorDetail,
    pub quota: Quota,
    /// How much of the quota an account has (named apart from `error.limit`, which names the
    /// bound a refused capture crossed).
    pub allowed: u64,
    pub used: u64,
    /// When the quota frees enough for this request; the same figure as `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorBody;

    #[test]
    fn quota_names_are_their_wire_names() {
        for quota in Quota::ALL {
            let json = serde_json::to_value(quota).unwrap();
            assert_eq!(json, quota.as_str());
        }
    }

    #[test]
    fn a_quota_error_is_also_a_plain_error_body() {
        let body = QuotaErrorBody {
            error: QuotaErrorDetail {
                detail: ErrorDetail {
                    code: "quota_exceeded".into(),
                    message: "60 scans in the last hour".into(),
                    limit: None,
                },
                quota: Quota::ScansPerHour,
                allowed: 60,
                used: 60,
                retry_after_secs: Some(42),
            },
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["error"]["quota"], "scans_per_hour");
        assert_eq!(json["error"]["retry_after_secs"], 42);
        let plain: ErrorBody = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(plain.error.code, "quota_exceeded");
        assert_eq!(
            plain.error.limit, None,
            "error.limit only names a capture bound"
        );
        assert_eq!(
            serde_json::from_value::<QuotaErrorBody>(json).unwrap(),
            body
        );
    }
}
