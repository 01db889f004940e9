//! Turns a public HAR file into a capture of the real-traffic corpus (`tests/corpus/real/`):
//! imported by the CLI's own `--from-har` importer, then scrubbed by the scrub stage, so no
//! live cookie or token of anyone is ever written into the repository.
//!
//! `corpus-import HAR TARGET_URL OUT.json` writes the scrubbed capture as JSON and prints how
//! many entries it holds and how many values the scrubber replaced.

use std::path::PathBuf;

use anyhow::{bail, Context};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [har, target_url, out] = args.as_slice() else {
        bail!("usage: corpus-import HAR TARGET_URL OUT.json");
    };
    let import = browser_recon::har::import_file(&PathBuf::from(har), Some(target_url))?;
    for warning in &import.warnings {
        eprintln!("warning: {warning}");
    }
    let requests = import.capture.requests.len();
    let scrubbed = recon_scrub::scrub(import.capture);
    let json = serde_json::to_vec(&scrubbed.capture).context("the capture as JSON")?;
    std::fs::write(out, json).with_context(|| format!("cannot write {out}"))?;
    println!(
        "{out}: {requests} requests ({} skipped), {} values scrubbed {:?}",
        import.skipped, scrubbed.replacements, scrubbed.by_kind
    );
    Ok(())
}
