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
    let mut display = Display::for_flags(no_progress);
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
    let outcome = Outcome::conclude(&client, scan_id, end).await?;
    update.print_if_ready();
    outcome.finish(json)
}
