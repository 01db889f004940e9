//! The hand-written regression corpus (`corpus/regression.toml`): made-up captures on `.test`
//! hosts, written to pin each rule down. Every case must report exactly its vendors and
//! challenges, every rule must fire somewhere, and near-miss cases must stay silent. Its
//! precision and recall say that the rules do what they were written for; accuracy on real
//! traffic is measured apart, by the real-traffic corpus (`tests/corpus/real/`).

use std::collections::{BTreeMap, BTreeSet};

use recon_contracts::VENDOR_IDS;
use recon_detection::capture_spec::parse_corpus;
use recon_detection::rules::try_rules;
use recon_detection::{detect, observe, services};

const CORPUS: &str = include_str!("../corpus/regression.toml");

#[derive(Default)]
struct Counts {
    true_positive: u32,
    false_positive: u32,
    false_negative: u32,
}

#[test]
fn regression_corpus_precision_and_recall_per_vendor() {
    let cases = parse_corpus(CORPUS).unwrap();
    let rules = try_rules().unwrap();
    let mut counts: BTreeMap<&str, Counts> =
        VENDOR_IDS.iter().map(|v| (*v, Counts::default())).collect();
    let mut fired: BTreeSet<String> = BTreeSet::new();
    let mut mismatches = Vec::new();
    for case in &cases {
        let capture = case.capture().unwrap();
        let detection = detect(&capture);
        let (_, observations) = observe::observe(rules, services::services(), &capture);
        fired.extend(observations.hits.iter().map(|hit| hit.rule.id.clone()));

        let expected: BTreeSet<&str> = case.vendors.iter().map(String::as_str).collect();
        let found: BTreeSet<&str> = detection.vendors.iter().map(|v| v.id.as_str()).collect();
        for vendor in VENDOR_IDS {
            let counts = counts.get_mut(vendor).unwrap();
            match (expected.contains(vendor), found.contains(vendor)) {
                (true, true) => counts.true_positive += 1,
                (false, true) => counts.false_positive += 1,
                (true, false) => counts.false_negative += 1,
                (false, false) => {}
            }
        }
        if expected != found {
            mismatches.push(format!(
                "{}: expected {expected:?}, found {:?}",
                case.name, detection.vendors
            ));
        }
        let expected_challenges: BTreeSet<String> = case.challenges.iter().cloned().collect();
        let found_challenges: BTreeSet<String> = detection
            .challenges
            .iter()
            .map(|c| {
                let index = c.request_id.trim_start_matches('r');
                let kind = serde_json::to_value(c.kind).unwrap();
                format!("{index}:{}:{}", c.vendor, kind.as_str().unwrap())
            })
            .collect();
        if expected_challenges != found_challenges {
            mismatches.push(format!(
                "{}: challenges expected {expected_challenges:?}, found {found_challenges:?}",
                case.name
            ));
        }
        for finding in &detection.vendors {
            assert!(
                finding.confidence > 0.0 && finding.confidence < 1.0,
                "{finding:?}"
            );
            assert!(!finding.evidence.is_empty(), "{finding:?}");
            // Evidence names cookies and headers but never their values.
            for evidence in &finding.evidence {
                for secret in ["0A1B2C", "9F8E7D", "Zx.9", "5hJ~AbC", "AbCd;", "Yq.8"] {
                    assert!(
                        !evidence.detail.contains(secret),
                        "{} leaks a value: {}",
                        case.name,
                        evidence.detail
                    );
                }
            }
        }
    }

    println!(
        "\n{:<18} {:>4} {:>4} {:>4} {:>9} {:>7}",
        "vendor", "TP", "FP", "FN", "precision", "recall"
    );
    let mut failures = Vec::new();
    for (vendor, c) in &counts {
        let precision =
            f64::from(c.true_positive) / f64::from((c.true_positive + c.false_positive).max(1));
        let recall =
            f64::from(c.true_positive) / f64::from((c.true_positive + c.false_negative).max(1));
        println!(
            "{vendor:<18} {:>4} {:>4} {:>4} {precision:>9.2} {recall:>7.2}",
            c.true_positive, c.false_positive, c.false_negative
        );
        if c.true_positive == 0 {
            failures.push(format!("{vendor}: no positive case in the corpus"));
        }
        if precision < 1.0 || recall < 1.0 {
            failures.push(format!(
                "{vendor}: precision {precision:.2}, recall {recall:.2}"
            ));
        }
    }
    let near_misses = cases.iter().filter(|c| c.vendors.is_empty()).count();
    println!(
        "{} cases ({near_misses} near misses), {} rules, rules version {}",
        cases.len(),
        rules.rules.len(),
        rules.version
    );

    let never: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !fired.contains(*id))
        .collect();
    assert!(
        never.is_empty(),
        "rules that fire on no corpus sample: {never:?}"
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(near_misses >= 5);
}

#[test]
fn cloudflare_without_bot_signals_is_reported_with_lower_confidence() {
    let cases = parse_corpus(CORPUS).unwrap();
    let finding = |name: &str| {
        let case = cases.iter().find(|c| c.name.starts_with(name)).unwrap();
        detect(&case.capture().unwrap())
            .vendors
            .into_iter()
            .find(|v| v.id == "cloudflare")
            .unwrap()
    };
    let cdn = finding("cloudflare CDN only");
    let bot = finding("cloudflare bot management");
    println!(
        "cdn only: {} {:.2}; bot management: {} {:.2}",
        cdn.product, cdn.confidence, bot.product, bot.confidence
    );
    assert!(cdn.confidence < bot.confidence);
    assert!(cdn.confidence <= 0.5);
    assert_eq!(cdn.category, "cdn");
    assert_eq!(bot.category, "bot-management");
}

#[test]
fn repeating_one_signal_adds_no_confidence() {
    let cases = parse_corpus(CORPUS).unwrap();
    let case = cases
        .iter()
        .find(|c| c.name.starts_with("netacea"))
        .unwrap();
    let once = detect(&case.capture().unwrap());
    let mut repeated = case.clone();
    for _ in 0..20 {
        repeated.requests.push(case.requests[1].clone());
    }
    let many = detect(&repeated.capture().unwrap());
    assert_eq!(once.vendors[0].confidence, many.vendors[0].confidence);
    assert!(many.vendors[0]
        .evidence
        .iter()
        .any(|e| e.detail.contains("times")));
}
