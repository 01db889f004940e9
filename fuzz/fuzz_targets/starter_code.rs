//! Starter code for the hostile shop capture of the tests (`tests/src/hostile.rs`) with the
//! fuzzer's site text in every slot, through the real stages (validation against a scripted
//! site, so every profile, tier and minimal set comes up): each snippet must lex, hold no raw
//! line break or control character, and keep the site's text in literals and comments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::hostile::{self, MARKER, SLOTS};
use recon_fuzz::hostile_text::HostileText;
use recon_fuzz::pipeline::{self, Results, SiteScript};
use recon_fuzz::snippet_syntax::{marker_stays_quoted, Language};

fuzz_target!(|input: (Vec<HostileText>, u16, SiteScript)| {
    let (texts, seed, script) = input;
    let strings: Vec<String> = texts.iter().take(SLOTS).map(HostileText::render).collect();
    let capture = hostile::capture_with(&strings, usize::from(seed)).capture;
    if capture.validate().is_err() {
        return;
    }
    let detection = recon_detection::detect(&capture);
    let inventory = recon_analysis::analyze(&capture, &detection);
    let ranking = hostile::rank_every_endpoint(&inventory);
    let validation = pipeline::validate(&capture, &inventory, &ranking, &script);
    let results = Results {
        detection,
        inventory,
        ranking,
        validation,
        scrubbed: recon_scrub::scrub(capture),
    };
    for snippet in results.synthesize().snippets {
        let language = Language::of(&snippet.language).expect("a snippet language the lexers know");
        if let Err(err) = marker_stays_quoted(language, &snippet.code, MARKER) {
            panic!("{} snippet: {err}\n{}", snippet.language, snippet.code);
        }
    }
});
