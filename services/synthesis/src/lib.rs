//! Synthesis (target `synthesis`): starter code for the top endpoints, from the scrubbed
//! capture only. For now a curl command per endpoint; the Python and Rust templates come
//! with the synthesis work.

use recon_contracts::{
    Capture, IntentRanking, Inventory, ScrubSummary, Snippet, Step, Synthesis, Validation,
};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

const TOP_ENDPOINTS: usize = 5;
/// Headers curl sets itself or that only make sense inside a browser.
const SKIPPED_HEADERS: [&str; 4] = ["host", "content-length", "connection", "accept-encoding"];

pub fn synthesize(
    scrubbed: &Capture,
    inventory: &Inventory,
    ranking: &IntentRanking,
    validation: &Validation,
) -> Synthesis {
    let mut snippets = Vec::new();
    for ranked in ranking.ranked.iter().take(TOP_ENDPOINTS) {
        let Some(endpoint) = inventory
            .endpoints
            .iter()
            .find(|e| e.id == ranked.endpoint_id)
        else {
            continue;
        };
        let Some(sample) = endpoint
            .request_ids
            .first()
            .and_then(|id| scrubbed.requests.iter().find(|r| &r.id == id))
        else {
            continue;
        };
        snippets.push(Snippet {
            endpoint_id: endpoint.id.clone(),
            language: "curl".to_owned(),
            code: curl_command(sample),
            library: Some("curl".to_owned()),
        });
    }
    let mut notes = validation.notes.clone();
    if snippets.is_empty() {
        notes.push("No endpoint matched the intent, so no starter code was written.".to_owned());
    }
    Synthesis {
        snippets,
        notes,
        drivers: Vec::new(),
    }
}

fn curl_command(request: &recon_contracts::RequestRecord) -> String {
    let mut lines = vec![format!(
        "curl -X {} {}",
        request.method,
        shell_quote(&request.url)
    )];
    for header in &request.request_headers {
        let name = header.name.to_ascii_lowercase();
        if name.starts_with(':') || SKIPPED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        lines.push(format!(
            "  -H {}",
            shell_quote(&format!("{}: {}", header.name, header.value))
        ));
    }
    if let Some(text) = request.post_data.as_ref().and_then(|body| body.as_text()) {
        lines.push(format!("  --data-raw {}", shell_quote(text)));
    }
    lines.join(" \\\n")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub struct SynthesisStage;

impl Stage for SynthesisStage {
    const STEP: Step = Step::Synthesis;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let scrub: ScrubSummary = ctx.result(Step::Scrub).await?;
        let scrubbed = ctx.load_capture(&scrub.scrubbed_capture_key).await?;
        let inventory: Inventory = ctx.result(Step::Analysis).await?;
        let ranking: IntentRanking = ctx.result(Step::IntentFilter).await?;
        let validation: Validation = ctx.result(Step::Validation).await?;
        let synthesis = synthesize(&scrubbed, &inventory, &ranking, &validation);
        let summary = format!("{} snippet(s) written", synthesis.snippets.len());
        StageOutput::new(&synthesis, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
