//! Scrub's adapter: the raw capture in, the scrubbed copy written to the blob store and its
//! summary out. Decoding, scrubbing and encoding share one blocking thread; the capture is
//! parsed as it is inflated, which keeps the stage's peak memory within its bound.

use recon_contracts::{names, ScrubSummary, StageResult};
use recon_runtime::stage::StageOutput;
use recon_runtime::{codec, Stage, StageContext, StageError};
use recon_scrub::Scrubbed;

#[derive(Clone, Copy)]
pub struct ScrubStage;

impl Stage for ScrubStage {
    const STEP: &'static str = ScrubSummary::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let stored = ctx.stored_capture(&names::capture_key(ctx.scan.id)).await?;
        // Decoded, scrubbed and written on one blocking thread: the scrubbed strings reuse the
        // memory the raw ones free instead of filling a second allocator arena, and the capture
        // is gone before the upload.
        let (replacements, by_kind, bytes) = tokio::task::spawn_blocking(move || {
            let Scrubbed {
                capture,
                replacements,
                by_kind,
            } = recon_scrub::scrub(stored.decode()?);
            let bytes = codec::to_gzip_json(&capture).map_err(|err| {
                StageError::permanent_from("cannot encode the scrubbed capture", err)
            })?;
            Ok::<_, StageError>((replacements, by_kind, bytes))
        })
        .await
        .map_err(|err| StageError::permanent_from("scrub panicked", err))??;
        let key = names::scrubbed_capture_key(ctx.scan.id);
        ctx.blob()?.put(&key, bytes.into()).await?;
        let summary = ScrubSummary {
            scrubbed_capture_key: key,
            replacements,
            by_kind,
        };
        StageOutput::new(&summary, recon_scrub::summary_line(&summary))
    }
}
