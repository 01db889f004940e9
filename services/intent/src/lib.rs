//! Intent filter (target `intent_filter`): ranks endpoints by how well they match what the user
//! said they want. For now: words of the intent found in the endpoint's path, and data
//! endpoints before assets; the full ranking comes with the recon-intelligence work.

use recon_contracts::{IntentRanking, Inventory, RankedEndpoint, Step};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

pub fn rank(inventory: &Inventory, intent_text: &str, starter_template: &str) -> IntentRanking {
    let words: Vec<String> = intent_text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.len() >= 3)
        .map(|word| word.to_lowercase())
        .collect();
    let mut ranked: Vec<RankedEndpoint> = inventory
        .endpoints
        .iter()
        .map(|endpoint| {
            let path = endpoint.path_template.to_lowercase();
            let mut score = 0.0;
            let mut reasons = Vec::new();
            for word in &words {
                let stem = word.trim_end_matches('s');
                if !stem.is_empty() && path.contains(stem) {
                    score += 1.0;
                    reasons.push(format!("path mentions {word:?}"));
                }
            }
            match endpoint.kind.as_str() {
                "json-api" | "graphql" => {
                    score += 0.5;
                    reasons.push("returns structured data".to_owned());
                }
                "html-document" => score += 0.1,
                _ => {}
            }
            RankedEndpoint {
                endpoint_id: endpoint.id.clone(),
                score,
                reasons,
            }
        })
        .filter(|ranked| ranked.score > 0.0)
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.endpoint_id.cmp(&b.endpoint_id))
    });
    IntentRanking {
        intent_text: intent_text.to_owned(),
        starter_template: starter_template.to_owned(),
        ranked,
    }
}

pub struct IntentStage;

impl Stage for IntentStage {
    const STEP: Step = Step::IntentFilter;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let inventory: Inventory = ctx.result(Step::Analysis).await?;
        let ranking = rank(
            &inventory,
            &ctx.scan.intent_text,
            &ctx.scan.starter_template,
        );
        let summary = format!("{} endpoint(s) ranked", ranking.ranked.len());
        StageOutput::new(&ranking, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recon_contracts::Endpoint;

    fn endpoint(id: &str, path: &str, kind: &str) -> Endpoint {
        Endpoint {
            id: id.into(),
            method: "GET".into(),
            host: "shop.example".into(),
            path_template: path.into(),
            graphql_operation: None,
            kind: kind.into(),
            bucket: "other".into(),
            sample_count: 1,
            request_ids: vec![],
            ..Default::default()
        }
    }

    #[test]
    fn matching_data_endpoints_rank_first() {
        let inventory = Inventory {
            endpoints: vec![
                endpoint("a", "/static/app.js", "static"),
                endpoint("b", "/api/reviews", "json-api"),
                endpoint("c", "/api/products", "json-api"),
            ],
        };
        let ranking = rank(&inventory, "product prices", "");
        assert_eq!(ranking.ranked[0].endpoint_id, "c");
        assert_eq!(ranking.ranked[1].endpoint_id, "b");
        assert!(ranking.ranked.iter().all(|r| r.endpoint_id != "a"));
        assert!(ranking.ranked[0].reasons[0].contains("product"));
    }
}
