//! Recording a site with the user: says what is happening, stops on the duration, on Enter or
//! when the window closes, and on Ctrl-C asks whether what was captured should be uploaded.
//! Shared by `recon scan` and the hidden `recon capture --out FILE`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use recon_contracts::Capture;
use tokio::sync::mpsc;

use crate::capture::{self, BodyLimits, CaptureOptions, Recording, StopReason};
use crate::exit::Failure;

/// Headless recording needs an end; this one when none is given.
pub const DEFAULT_HEADLESS_DURATION: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct RecordArgs {
    pub headless: bool,
    pub duration: Option<Duration>,
    pub profile: Option<PathBuf>,
}

/// The capture, or `None` when the user stopped with Ctrl-C and chose not to upload.
pub async fn record_site(
    target_url: &str,
    args: &RecordArgs,
) -> Result<Option<Recording>, Failure> {
    let duration = match (args.headless, args.duration) {
        (true, None) => Some(DEFAULT_HEADLESS_DURATION),
        (_, duration) => duration,
    };
    capture::preflight(args.headless)?;
    let mut stdin = StdinLines::start();
    if args.headless {
        eprintln!(
            "recording {target_url} in headless Chrome for {}s…",
            duration.unwrap_or(DEFAULT_HEADLESS_DURATION).as_secs()
        );
    } else {
        let limit = duration.map_or(String::new(), |d| format!(" (at most {}s)", d.as_secs()));
        eprintln!(
            "recording {target_url} in Chrome{limit}: use the site as you would, then press \
             Enter here or close the browser window to finish"
        );
    }
    let interactive = !args.headless;
    let stop = async {
        let elapsed = async {
            match duration {
                Some(duration) => tokio::time::sleep(duration).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = elapsed => StopReason::DurationElapsed,
            _ = stdin.next_line(), if interactive => StopReason::EnterPressed,
            _ = tokio::signal::ctrl_c() => StopReason::Interrupted,
        }
    };
    let options = CaptureOptions {
        target_url: target_url.to_owned(),
        headless: args.headless,
        profile: args.profile.clone(),
        limits: BodyLimits::default(),
    };
    let recording = capture::record(&options, stop).await?;
    if let Some(error) = &recording.navigation_error {
        eprintln!(
            "recon: warning: Chrome could not open {target_url}: {}",
            crate::exit::one_line(error)
        );
    }
    eprintln!(
        "recording stopped after {:.1}s ({})",
        recording.elapsed.as_secs_f64(),
        recording.stopped_by.describe()
    );
    if recording.stopped_by == StopReason::Interrupted
        && !ask_upload(&recording.capture, &mut stdin).await
    {
        return Ok(None);
    }
    Ok(Some(recording))
}

/// Ctrl-C during a capture: upload what was captured? Only a terminal can answer; without
/// one nothing is uploaded.
async fn ask_upload(capture: &Capture, stdin: &mut StdinLines) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!(
        "upload the {} requests captured so far? [y/N] ",
        capture.requests.len()
    );
    let _ = std::io::stderr().flush();
    let answer = tokio::select! {
        line = stdin.next_line() => line.unwrap_or_default(),
        _ = tokio::signal::ctrl_c() => String::new(),
    };
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Lines typed on stdin, read on a thread of their own (reading stdin blocks). End of input
/// is not a line: a script's closed stdin must not stop a recording.
struct StdinLines {
    lines: Option<mpsc::UnboundedReceiver<String>>,
}

impl StdinLines {
    fn start() -> StdinLines {
        let (sender, lines) = mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let mut line = String::new();
                while let Ok(read) = stdin.lock().read_line(&mut line) {
                    if read == 0 || sender.send(std::mem::take(&mut line)).is_err() {
                        break;
                    }
                }
            });
        StdinLines {
            lines: spawned.ok().map(|_| lines),
        }
    }

    async fn next_line(&mut self) -> Option<String> {
        match &mut self.lines {
            Some(lines) => match lines.recv().await {
                Some(line) => Some(line),
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}
