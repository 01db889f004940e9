//! `recon watch ID|URL`: follow a scan's pipeline from its first event to its end, the same way
//! `recon scan` does after the upload.

use crate::display::Display;
use crate::exit::{Exit, Failure};
use crate::outcome::Outcome;
use crate::progress::Follower;
use crate::scan_ref::ScanRef;

pub async fn run(
    scan: ScanRef,
    no_progress: bool,
    json: bool,
    allow_http: bool,
) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let scan_id = scan.resolve(&client).await?;
    // The scan's answer names the pipeline's steps, so every line is drawn from the start.
    let steps = client.scan(scan_id).await?.steps;
    let mut display = Display::for_flags(no_progress, &steps);
    let follower = Follower::new(&client, scan_id);
    let end = tokio::select! {
        end = follower.follow(&mut display, true) => end,
        _ = tokio::signal::ctrl_c() => {
            display.finish();
            return Err(crate::scan::interrupted(scan_id));
        }
    };
    display.finish();
    let end = end?;
    let outcome = Outcome::conclude(&client, scan_id, end)
        .await?
        .with_headlines(display.take_headlines());
    update.print_if_ready();
    outcome.finish(json)
}
