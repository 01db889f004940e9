//! Accuracy on real traffic: every capture of the real-traffic corpus (`tests/corpus/real/`)
//! through detection, analysis and intent, scored against the labels a reviewer decided from
//! each capture's evidence. Prints the tables and asserts the floors reached: precision and
//! recall 1.00 for every vendor on first-party hosts, no third-party trap reported, the
//! labelled endpoint in the top three for every intent, and no endpoint left raw where its
//! siblings show the pattern. The hand-written regression corpus is scored apart
//! (services/detection/tests/regression_corpus.rs).

use std::collections::{BTreeMap, BTreeSet};

use recon_contracts::{Capture, Detection, Inventory};
use recon_tests::real_corpus::{corpus_dir, labelled, Labelled};

struct Scanned {
    label: Labelled,
    capture: Capture,
    detection: Detection,
    inventory: Inventory,
}

fn scanned() -> Vec<Scanned> {
    labelled()
        .into_iter()
        .map(|label| {
            let capture = label.capture();
            let detection = recon_detection::detect(&capture);
            let inventory = recon_analysis::analyze(&capture, &detection);
            Scanned {
                label,
                capture,
                detection,
                inventory,
            }
        })
        .collect()
}

#[derive(Default)]
struct Counts {
    true_positive: u32,
    false_positive: u32,
    false_negative: u32,
}

impl Counts {
    fn precision(&self) -> f64 {
        f64::from(self.true_positive) / f64::from((self.true_positive + self.false_positive).max(1))
    }

    fn recall(&self) -> f64 {
        f64::from(self.true_positive) / f64::from((self.true_positive + self.false_negative).max(1))
    }
}

#[test]
fn the_corpus_table() {
    let scanned = scanned();
    println!(
        "\n{:<18} {:>7} {:<44} {:<30}",
        "capture", "entries", "vendors found (confidence)", "site"
    );
    for s in &scanned {
        let found: Vec<String> = s
            .detection
            .vendors
            .iter()
            .map(|v| format!("{} ({:.2})", v.id, v.confidence))
            .collect();
        println!(
            "{:<18} {:>7} {:<44} {:<30}",
            s.label.name,
            s.capture.requests.len(),
            found.join(", "),
            s.label.site
        );
    }
    assert!(scanned.len() >= 20, "{} captures", scanned.len());
    let sources = std::fs::read_to_string(corpus_dir().join("SOURCES.md")).unwrap();
    for s in &scanned {
        let file = format!("captures/{}.json.gz", s.label.name);
        assert!(sources.contains(&file), "SOURCES.md does not name {file}");
    }
}

#[test]
fn first_party_vendors_are_found_and_third_party_traps_are_not() {
    let scanned = scanned();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut traps_flagged = Vec::new();
    let mut traps = 0;
    let mut mismatches = Vec::new();
    for s in &scanned {
        let expected: BTreeSet<&str> = s.label.vendors.iter().map(|v| v.id.as_str()).collect();
        let found: BTreeSet<&str> = s.detection.vendors.iter().map(|v| v.id.as_str()).collect();
        for vendor in expected.union(&found) {
            let entry = counts.entry((*vendor).to_owned()).or_default();
            match (expected.contains(vendor), found.contains(vendor)) {
                (true, true) => entry.true_positive += 1,
                (false, true) => entry.false_positive += 1,
                (true, false) => entry.false_negative += 1,
                (false, false) => {}
            }
        }
        if expected != found {
            let evidence: Vec<String> = s
                .detection
                .vendors
                .iter()
                .flat_map(|v| {
                    v.evidence
                        .iter()
                        .map(move |e| format!("{}: {}", v.id, e.detail))
                })
                .collect();
            mismatches.push(format!(
                "{}: expected {expected:?}, found {found:?}\n    {}",
                s.label.name,
                evidence.join("\n    ")
            ));
        }
        for trap in &s.label.traps {
            traps += 1;
            if found.contains(trap.id.as_str()) {
                traps_flagged.push(format!("{}: {} ({})", s.label.name, trap.id, trap.evidence));
            }
        }
    }
    println!(
        "\n{:<18} {:>4} {:>4} {:>4} {:>9} {:>7}",
        "vendor", "TP", "FP", "FN", "precision", "recall"
    );
    for (vendor, c) in &counts {
        println!(
            "{vendor:<18} {:>4} {:>4} {:>4} {:>9.2} {:>7.2}",
            c.true_positive,
            c.false_positive,
            c.false_negative,
            c.precision(),
            c.recall()
        );
    }
    let clean = scanned
        .iter()
        .filter(|s| s.label.vendors.is_empty())
        .count();
    println!(
        "{} captures ({clean} with no vendor), {traps} third-party traps, {} flagged",
        scanned.len(),
        traps_flagged.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        traps_flagged.is_empty(),
        "traps reported: {traps_flagged:?}"
    );
    for (vendor, c) in &counts {
        assert!(
            c.precision() == 1.0 && c.recall() == 1.0,
            "{vendor}: precision {:.2}, recall {:.2}",
            c.precision(),
            c.recall()
        );
    }
}

#[test]
fn the_labelled_endpoint_ranks_in_the_top_three_for_every_intent() {
    let scanned = scanned();
    let (mut total, mut top1, mut top3) = (0, 0, 0);
    let mut misses = Vec::new();
    println!("\n{:<14} {:<34} {:>5}  wanted", "capture", "intent", "rank");
    for s in &scanned {
        for intent in &s.label.intents {
            total += 1;
            let ranking = recon_intent::rank(&s.inventory, &intent.text, "");
            let rank = ranking.ranked.iter().position(|ranked| {
                s.inventory
                    .endpoints
                    .iter()
                    .find(|e| e.id == ranked.endpoint_id)
                    .is_some_and(|e| intent.matches(e))
            });
            let shown = rank.map_or("-".to_owned(), |r| (r + 1).to_string());
            println!(
                "{:<14} {:<34} {:>5}  {}",
                s.label.name,
                intent.text,
                shown,
                intent.label()
            );
            top1 += u32::from(rank == Some(0));
            top3 += u32::from(rank.is_some_and(|r| r < 3));
            if rank.is_none_or(|r| r >= 3) {
                let above: Vec<String> = ranking
                    .ranked
                    .iter()
                    .take(3)
                    .filter_map(|r| s.inventory.endpoints.iter().find(|e| e.id == r.endpoint_id))
                    .map(|e| format!("{} {}{}", e.method, e.host, e.path_template))
                    .collect();
                misses.push(format!(
                    "{} / {:?}: {} is at {shown}; top three: {above:?}",
                    s.label.name,
                    intent.text,
                    intent.label()
                ));
            }
        }
    }
    println!("intent top-1 {top1}/{total}, top-3 {top3}/{total}");
    assert!(total >= 10, "{total} labelled intents");
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// A path segment that carries a value rather than a name: a number, or a part (between dots,
/// dashes and underscores) that is a run of five or more digits or eight or more letters and
/// digits mixed: ids, UUIDs, codes and content hashes of asset names (`app.4cba9c82.js`).
fn value_like(segment: &str) -> bool {
    let number = segment.len() >= 3 && segment.bytes().all(|b| b.is_ascii_digit());
    number
        || segment.split(['.', '-', '_']).any(|part| {
            let digits = part.bytes().filter(u8::is_ascii_digit).count();
            let alphanumeric = part.bytes().all(|b| b.is_ascii_alphanumeric());
            (part.len() >= 8 && alphanumeric && digits > 0 && digits < part.len())
                || (part.len() >= 5 && digits == part.len())
        })
}

#[test]
fn endpoints_left_raw_where_their_siblings_show_the_pattern() {
    let scanned = scanned();
    println!(
        "\n{:<18} {:>9} {:>9} {:>9} {:>8} {:>10}",
        "capture", "requests", "endpoints", "templated", "graphql", "raw sibl."
    );
    let mut raw_total = Vec::new();
    for s in &scanned {
        let endpoints = &s.inventory.endpoints;
        let templated = endpoints
            .iter()
            .filter(|e| e.path_template.contains('{'))
            .count();
        let graphql = endpoints
            .iter()
            .filter(|e| e.graphql_operation.is_some())
            .count();
        // Endpoints of one host and method whose paths differ in one segment only, a value in
        // each: the analysis should have made them one template.
        let mut siblings: BTreeMap<(String, String, usize, String), Vec<String>> = BTreeMap::new();
        for endpoint in endpoints {
            let segments: Vec<&str> = endpoint.path_template.split('/').collect();
            for (i, segment) in segments.iter().enumerate() {
                if value_like(segment) {
                    let mut shape = segments.clone();
                    shape[i] = "*";
                    siblings
                        .entry((
                            endpoint.host.clone(),
                            endpoint.method.clone(),
                            i,
                            shape.join("/"),
                        ))
                        .or_default()
                        .push(endpoint.path_template.clone());
                }
            }
        }
        let raw: Vec<String> = siblings
            .into_iter()
            .filter(|(_, paths)| paths.len() > 1)
            .map(|((host, method, _, shape), paths)| {
                format!("{method} {host}{shape}: {}", paths.len())
            })
            .collect();
        println!(
            "{:<18} {:>9} {:>9} {:>9} {:>8} {:>10}",
            s.label.name,
            s.capture.requests.len(),
            endpoints.len(),
            templated,
            graphql,
            raw.len()
        );
        raw_total.extend(raw.into_iter().map(|r| format!("{}: {r}", s.label.name)));
    }
    assert!(
        raw_total.is_empty(),
        "left raw beside siblings of the same shape:\n{}",
        raw_total.join("\n")
    );
}

/// Whether a value is the scrubber's placeholder (`<cookie:_abck>`), or nothing at all.
fn scrubbed(value: &str) -> bool {
    let value = value.trim().trim_matches('"');
    value.is_empty() || (value.starts_with('<') && value.ends_with('>'))
}

#[test]
fn no_cookie_or_credential_is_left_in_clear() {
    let mut clear = Vec::new();
    for label in labelled() {
        let capture = label.capture();
        for cookie in &capture.cookies {
            if !scrubbed(&cookie.value) {
                clear.push(format!("{}: jar cookie {}", label.name, cookie.name));
            }
        }
        for request in &capture.requests {
            let response_headers = request.response.iter().flat_map(|r| &r.headers);
            for header in request.request_headers.iter().chain(response_headers) {
                let name = header.name.to_ascii_lowercase();
                let values: Vec<&str> = match name.as_str() {
                    "cookie" => header
                        .value
                        .split(';')
                        .filter_map(|pair| pair.split_once('=').map(|(_, v)| v))
                        .collect(),
                    "set-cookie" => header
                        .value
                        .lines()
                        .filter_map(|line| line.split(';').next()?.split_once('=').map(|(_, v)| v))
                        .collect(),
                    "authorization" | "proxy-authorization" => {
                        header.value.split_whitespace().last().into_iter().collect()
                    }
                    _ => Vec::new(),
                };
                for value in values {
                    if !scrubbed(value) {
                        clear.push(format!(
                            "{}: {} in {} {}",
                            label.name, name, request.method, request.url
                        ));
                    }
                }
            }
        }
    }
    assert!(
        clear.is_empty(),
        "values left in clear:\n{}",
        clear.join("\n")
    );
}
