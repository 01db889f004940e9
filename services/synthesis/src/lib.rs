//! Synthesis (target `synthesis`): starter code for the top endpoints, from the scrubbed capture
//! and the earlier stage results only. Per endpoint: Python (requests, or curl_cffi when
//! validation needed the impersonating profile), a curl command and a Rust reqwest example;
//! plus notes (caveats) and drivers (why). Deterministic; no network.

mod curl;
pub mod escape;
mod notes;
mod plan;
mod python;
mod rust;
mod template;

use std::collections::HashMap;

use recon_contracts::{
    Capture, Detection, IntentRanking, Inventory, RequestRecord, Snippet, Synthesis, Validation,
};

pub use template::env_name;

/// How many of the ranked endpoints get starter code.
pub const TOP_ENDPOINTS: usize = 5;

/// Everything synthesis reads: the scrubbed capture and the earlier results.
pub struct SynthesisInputs<'a> {
    pub scrubbed: &'a Capture,
    pub detection: &'a Detection,
    pub inventory: &'a Inventory,
    pub ranking: &'a IntentRanking,
    pub validation: &'a Validation,
}

pub fn synthesize(inputs: &SynthesisInputs<'_>) -> Synthesis {
    let requests: HashMap<&str, &RequestRecord> = inputs
        .scrubbed
        .requests
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut snippets = Vec::new();
    let mut drivers = Vec::new();
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for ranked in inputs.ranking.ranked.iter().take(TOP_ENDPOINTS) {
        let Some(endpoint) = inputs
            .inventory
            .endpoints
            .iter()
            .find(|e| e.id == ranked.endpoint_id)
        else {
            continue;
        };
        let validation = inputs
            .validation
            .results
            .iter()
            .find(|v| v.endpoint_id == endpoint.id);
        let Some(sample) = plan::sample(endpoint, &requests) else {
            skipped.push(plan::endpoint_label(endpoint));
            entries.push((endpoint, validation, None));
            continue;
        };
        let plan = plan::build(endpoint, sample, validation, &requests);
        let why = notes::drivers(&plan, validation);
        // curl first: the quickest to try; the page shows the Python code first.
        snippets.push(Snippet {
            endpoint_id: endpoint.id.clone(),
            language: "curl".to_owned(),
            code: curl::render(&plan),
            library: Some("curl".to_owned()),
        });
        snippets.push(Snippet {
            endpoint_id: endpoint.id.clone(),
            language: "python".to_owned(),
            code: python::render(&plan, &why),
            library: Some(plan.library.name().to_owned()),
        });
        snippets.push(Snippet {
            endpoint_id: endpoint.id.clone(),
            language: "rust".to_owned(),
            code: rust::render(&plan),
            library: Some("reqwest".to_owned()),
        });
        drivers.extend(why);
        entries.push((endpoint, validation, Some(plan)));
    }
    let chosen: Vec<_> = entries
        .iter()
        .map(|(endpoint, validation, plan)| (*endpoint, *validation, plan.as_ref()))
        .collect();
    let mut notes = notes::notes(inputs.detection, &chosen, &inputs.validation.notes);
    for label in &skipped {
        notes.push(format!(
            "{label}: no sample request of this endpoint is in the capture, so no code was written for it."
        ));
    }
    if snippets.is_empty() {
        notes.push("No endpoint matched the intent, so no starter code was written.".to_owned());
    }
    Synthesis {
        snippets,
        notes,
        drivers,
    }
}

/// The step's summary line: how many endpoints got starter code, and the notes.
pub fn summary_line(synthesis: &Synthesis) -> String {
    let endpoints = synthesis
        .snippets
        .iter()
        .map(|s| s.endpoint_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    format!(
        "starter code for {endpoints} endpoint(s), {} note(s)",
        synthesis.notes.len()
    )
}

#[cfg(test)]
mod tests;
