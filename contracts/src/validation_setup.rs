//! What the validation stage needs from the operator, as plain data: its replay settings
//! (parsed from the environment by the server's config) and the proxy secret (DESIGN.md §
//! Configuration: one JSON object, parsed by the server's secrets store). Defined here so the
//! stage crate reads them without depending on the runtime that fills them.

use std::fmt;
use std::time::Duration;

/// How the validation stage replays endpoints (DESIGN.md § Validation, § Safety).
#[derive(Debug, Clone)]
pub struct ValidationSettings {
    /// Lets replay reach 127.0.0.0/8 (tests only); every other private range stays refused.
    pub allow_loopback: bool,
    /// The only ports replays connect to, directly or through a proxy.
    pub allowed_ports: Vec<u16>,
    /// How many of the top-ranked endpoints are replayed.
    pub top_endpoints: usize,
    /// Run every profile × tier instead of stopping at the cheapest pass.
    pub full_matrix: bool,
    /// Replay requests one scan may send, diagnosis included.
    pub max_requests_per_scan: u32,
    /// Replay requests one scan may send to one host.
    pub max_requests_per_host: u32,
    /// Replay requests in flight at once for one scan.
    pub concurrency: usize,
    /// Timeout of one replay request, connect to last byte.
    pub request_timeout: Duration,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        ValidationSettings {
            allow_loopback: false,
            allowed_ports: vec![80, 443],
            top_endpoints: 5,
            full_matrix: false,
            max_requests_per_scan: 80,
            max_requests_per_host: 40,
            concurrency: 4,
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// Whether a proxy keeps one exit IP for a session or changes it per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationMode {
    Sticky,
    Rotating,
}

impl RotationMode {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "sticky" => Some(Self::Sticky),
            "rotating" => Some(Self::Rotating),
            _ => None,
        }
    }
}

/// The operator's proxy secret (DESIGN.md: one JSON object with keys DATACENTER_PROXY,
/// RESIDENTIAL_PROXY, DATACENTER_PROXY_ROTATION_MODE (default sticky),
/// RESIDENTIAL_PROXY_ROTATION_MODE (default rotating)).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySecrets {
    pub datacenter_proxy: Option<String>,
    pub residential_proxy: Option<String>,
    pub datacenter_rotation: RotationMode,
    pub residential_rotation: RotationMode,
}

impl Default for ProxySecrets {
    /// No proxies, default rotation modes: what a development machine without secrets gets.
    fn default() -> Self {
        Self {
            datacenter_proxy: None,
            residential_proxy: None,
            datacenter_rotation: RotationMode::Sticky,
            residential_rotation: RotationMode::Rotating,
        }
    }
}

impl fmt::Debug for ProxySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySecrets")
            .field("datacenter_proxy", &Redacted(&self.datacenter_proxy))
            .field("residential_proxy", &Redacted(&self.residential_proxy))
            .field("datacenter_rotation", &self.datacenter_rotation)
            .field("residential_rotation", &self.residential_rotation)
            .finish()
    }
}

/// Shows whether a secret is set, never what it is.
struct Redacted<'a>(&'a Option<String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "<set>" } else { "<unset>" })
    }
}
