//! Small hand-made scan results for the unit tests: one world per scan, built up a vendor, an
//! endpoint or a replay result at a time, with endpoint ids derived as analysis derives them.

use chrono::{DateTime, TimeZone, Utc};
use recon_contracts::{
    Change, Detection, Drift, Endpoint, EndpointValidation, Inventory, NetworkTier, ReplayAttempt,
    ReplayChoice, ReplayProfile, Validation, VendorFinding, Verdict,
};
use uuid::Uuid;

use crate::{drift, ScanFacts};

pub const HOST: &str = "api.shop.test";

pub struct World {
    pub scan_id: Uuid,
    pub completed_at: DateTime<Utc>,
    pub detection: Detection,
    pub inventory: Inventory,
    pub validation: Validation,
}

impl Default for World {
    fn default() -> World {
        World {
            scan_id: Uuid::new_v4(),
            completed_at: Utc
                .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
                .single()
                .unwrap(),
            detection: Detection::default(),
            inventory: Inventory::default(),
            validation: Validation::default(),
        }
    }
}

impl World {
    pub fn with_vendor(mut self, finding: VendorFinding) -> World {
        self.detection.vendors.push(finding);
        self
    }

    pub fn with_endpoint(mut self, endpoint: Endpoint) -> World {
        self.inventory.endpoints.push(endpoint);
        self
    }

    pub fn with_result(mut self, result: EndpointValidation) -> World {
        self.validation.results.push(result);
        self
    }

    pub fn facts(&self) -> ScanFacts<'_> {
        ScanFacts {
            scan_id: self.scan_id,
            completed_at: Some(self.completed_at),
            detection: &self.detection,
            inventory: &self.inventory,
            validation: &self.validation,
        }
    }
}

pub fn drift_between(before: &World, after: &World) -> Drift {
    drift(Some(&before.facts()), &after.facts())
}

/// The one change between two worlds (fails the test when there are more or none).
pub fn only_change(before: &World, after: &World) -> Change {
    let mut changes = drift_between(before, after).changes;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    changes.remove(0)
}

pub fn vendor(id: &str, confidence: f64) -> VendorFinding {
    VendorFinding {
        id: id.to_owned(),
        product: id.to_owned(),
        category: "bot-management".to_owned(),
        confidence,
        evidence: Vec::new(),
    }
}

/// A JSON API endpoint on [`HOST`].
pub fn endpoint(method: &str, path_template: &str) -> Endpoint {
    Endpoint {
        id: recon_analysis::endpoint_id(method, HOST, path_template),
        method: method.to_owned(),
        host: HOST.to_owned(),
        path_template: path_template.to_owned(),
        kind: "json-api".to_owned(),
        bucket: "other".to_owned(),
        sample_count: 1,
        ..Endpoint::default()
    }
}

pub fn choice(profile: ReplayProfile, tier: NetworkTier) -> ReplayChoice {
    ReplayChoice { profile, tier }
}

/// A validation result for `endpoint` whose cascade ran and settled on `best`.
pub fn replayed(endpoint: &Endpoint, best: Option<ReplayChoice>) -> EndpointValidation {
    let last = match best {
        Some(passed) => ReplayAttempt::outcome(passed, Some(200), Verdict::Pass),
        None => ReplayAttempt::outcome(
            choice(ReplayProfile::Impersonate, NetworkTier::Residential),
            Some(403),
            Verdict::Blocked,
        ),
    };
    EndpointValidation {
        endpoint_id: endpoint.id.clone(),
        attempts: vec![last],
        best,
        ..EndpointValidation::default()
    }
}
