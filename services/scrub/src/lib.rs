//! Scrub (target `scrub`): a copy of the capture in which every live secret is replaced by a
//! typed placeholder that keeps the structure (`<cookie:_abck>`, `Bearer <bearer>`, `<jwt>`,
//! `<api-key>`, `<email>`, …). Everything after this step reads only the scrubbed copy, and the
//! raw capture is deleted once the scan ends (the runtime's retention).
//!
//! The pass is structured first (headers, cookies, URLs, JSON/form/multipart bodies, HTML forms,
//! shapes in text: the [`Scrubber`] of `recon-redaction`) and then sweeps every secret it found
//! out of the rest of the capture.

mod sweep;

use recon_contracts::{header_value, Capture, ScrubSummary};
use recon_redaction::secrets;

pub use recon_redaction::Scrubber;

/// The scrubbed capture and what was replaced.
pub struct Scrubbed {
    pub capture: Capture,
    pub replacements: u64,
    pub by_kind: std::collections::BTreeMap<String, u64>,
}

/// Scrubs `capture` in place and returns it; deterministic for a given capture. It takes the
/// capture rather than copying it: the stage holds one capture at a time, not two.
pub fn scrub(capture: Capture) -> Scrubbed {
    let mut scrubber = Scrubber::default();
    let mut scrubbed = capture;
    // The cookie jar first: its names give cookie values their placeholders everywhere.
    for cookie in &mut scrubbed.cookies {
        cookie.value = scrubber.vault.replace(
            secrets::SecretKind::Cookie,
            Some(&cookie.name),
            &cookie.value,
        );
    }
    for request in &mut scrubbed.requests {
        scrubber.headers(&mut request.request_headers);
        request.url = scrubber.url(&request.url);
        if let Some(initiator) = request.initiator.as_mut() {
            if let Some(url) = initiator.url.as_mut() {
                *url = scrubber.url(url);
            }
        }
        if let Some(body) = request.post_data.as_mut() {
            let content_type = header_value(&request.request_headers, "content-type");
            scrubber.body(body, content_type);
        }
        if let Some(failure) = request.failure.as_mut() {
            *failure = scrubber.text(failure, false).into_owned();
        }
        if let Some(response) = request.response.as_mut() {
            scrubber.headers(&mut response.headers);
            let mime = Some(response.mime_type.clone())
                .filter(|mime| !mime.is_empty())
                .or_else(|| response.header("content-type").map(str::to_owned));
            if let Some(body) = response.body.as_mut() {
                scrubber.body(body, mime.as_deref());
            }
        }
    }
    scrubbed.target_url = scrubber.url(&scrubbed.target_url);
    for page in &mut scrubbed.pages {
        page.url = scrubber.url(&page.url);
        if let Some(title) = page.title.as_mut() {
            *title = scrubber.text(title, true).into_owned();
        }
    }
    for stream in &mut scrubbed.streams {
        stream.url = scrubber.url(&stream.url);
        for sample in &mut stream.samples {
            *sample = match scrubber.json_text(sample) {
                Some(json) => json,
                None => scrubber.text(sample, true).into_owned(),
            };
        }
    }
    sweep::sweep(&mut scrubbed, &mut scrubber.vault);
    Scrubbed {
        capture: scrubbed,
        replacements: scrubber.vault.replacements(),
        by_kind: scrubber.vault.by_kind().clone(),
    }
}

/// The step's summary line: how many values were replaced, by kind.
pub fn summary_line(summary: &ScrubSummary) -> String {
    let kinds: Vec<String> = summary
        .by_kind
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    if kinds.is_empty() {
        "no secret values found".to_owned()
    } else {
        format!(
            "{} secret value(s) replaced ({})",
            summary.replacements,
            kinds.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;
