//! From rule hits to vendor findings: weak signals count only in combination, and confidence
//! grows with independent observations (distinct signal types), never with repeats.

use std::collections::{BTreeMap, BTreeSet};

use recon_contracts::{Evidence, VendorFinding};

use crate::observe::Hit;
use recon_knowledge::rules::{RuleSet, Signal, Strength};

/// Evidence lines kept per rule; the count of the rest is appended.
const EVIDENCE_PER_RULE: usize = 1;

pub fn findings(rules: &RuleSet, hits: &[Hit<'_>]) -> Vec<VendorFinding> {
    let mut by_vendor: BTreeMap<&str, Vec<&Hit<'_>>> = BTreeMap::new();
    for hit in hits {
        by_vendor
            .entry(hit.rule.vendor.as_str())
            .or_default()
            .push(hit);
    }
    let mut findings: Vec<VendorFinding> = by_vendor
        .into_iter()
        .filter_map(|(vendor, hits)| finding(rules, vendor, &hits))
        .collect();
    findings.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.id.cmp(&b.id)));
    findings
}

fn finding(rules: &RuleSet, vendor: &str, hits: &[&Hit<'_>]) -> Option<VendorFinding> {
    let counted: Vec<&&Hit<'_>> = hits
        .iter()
        .filter(|hit| hit.rule.strength != Strength::Context)
        .collect();
    let strong = counted
        .iter()
        .any(|hit| hit.rule.strength == Strength::Strong);
    let signal_types: BTreeSet<Signal> = counted.iter().map(|hit| hit.rule.signal).collect();
    if !strong && signal_types.len() < 2 {
        return None;
    }
    // Best weight per independent signal type, combined as independent evidence.
    let mut best: BTreeMap<Signal, f64> = BTreeMap::new();
    for hit in &counted {
        let weight = best.entry(hit.rule.signal).or_insert(0.0);
        *weight = weight.max(hit.rule.weight);
    }
    let doubt: f64 = best.values().map(|weight| 1.0 - weight).product();
    let confidence = ((1.0 - doubt).min(0.99) * 100.0).round() / 100.0;

    let entry = rules.vendor(vendor)?;
    let top = counted
        .iter()
        .max_by(|a, b| a.rule.weight.total_cmp(&b.rule.weight))?;
    let product = top
        .rule
        .product
        .clone()
        .unwrap_or_else(|| entry.product.clone());
    let category = top
        .rule
        .category
        .clone()
        .unwrap_or_else(|| entry.category.clone());

    // One evidence line per rule (its first hit), strongest rules first, with a repeat count.
    let mut per_rule: BTreeMap<&str, (f64, Vec<&Hit<'_>>)> = BTreeMap::new();
    for hit in hits {
        per_rule
            .entry(hit.rule.id.as_str())
            .or_insert((hit.rule.weight, Vec::new()))
            .1
            .push(hit);
    }
    let mut rules_seen: Vec<(&str, (f64, Vec<&Hit<'_>>))> = per_rule.into_iter().collect();
    rules_seen.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let evidence = rules_seen
        .into_iter()
        .flat_map(|(rule, (_, hits))| {
            let total = hits.len();
            hits.into_iter()
                .take(EVIDENCE_PER_RULE)
                .map(move |hit| Evidence {
                    rule: rule.to_owned(),
                    detail: if total > EVIDENCE_PER_RULE {
                        format!("{} (seen {total} times)", hit.detail)
                    } else {
                        hit.detail.clone()
                    },
                    request_id: hit.request_id.clone(),
                })
        })
        .collect();
    Some(VendorFinding {
        id: vendor.to_owned(),
        product,
        category,
        confidence,
        evidence,
    })
}
