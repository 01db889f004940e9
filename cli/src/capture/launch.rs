//! Starting Chrome ourselves, with DevTools on a pipe instead of a TCP port
//! (`--remote-debugging-pipe`: Chrome reads commands on its file descriptor 3 and writes
//! replies and events on 4). A debugging port would let any local user, or any page that can
//! reach 127.0.0.1, attach to the browser holding the user's session; a pipe is reachable only
//! by recon. Chrome also runs in its own process group, so the Ctrl-C the user types at recon
//! (which asks whether to upload) does not also kill the browser that still holds the capture's
//! last bodies and cookies.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cdp::{CdpClient, CdpError, CdpEvent};

/// How long a browser that exited at once gets to report its exit status.
const EXIT_WAIT: Duration = Duration::from_secs(5);
const STDERR_LINES_KEPT: usize = 5;

/// A running Chrome and the DevTools connection to it.
pub struct LaunchedChrome {
    pub child: Child,
    pub cdp: CdpClient,
    pub events: mpsc::UnboundedReceiver<CdpEvent>,
    /// Chrome's product string (`Chrome/131.0.6778.85`), from its first answer.
    pub browser_version: Option<String>,
}

pub fn chrome_args(profile_dir: &Path, headless: bool, as_root: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "--remote-debugging-pipe",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-breakpad",
        "--disable-dev-shm-usage",
        "--disable-features=TranslateUI,MediaRouter",
        "--password-store=basic",
        "--use-mock-keychain",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile_dir.display()));
    if headless {
        args.extend(["--headless=new", "--hide-scrollbars", "--mute-audio"].map(String::from));
    }
    if as_root {
        // Chrome refuses to run its sandbox as root (containers, CI).
        args.extend(["--no-sandbox", "--disable-setuid-sandbox"].map(String::from));
    }
    args.push("about:blank".into());
    args
}

/// Starts Chrome with its DevTools pipe and waits for its first answer; the error says why it
/// did not start (its exit status and last lines of error output).
pub async fn launch(executable: &Path, args: &[String]) -> Result<LaunchedChrome, String> {
    let mut command = Command::new(executable);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let (mut child, cdp, events) = pipe::spawn(command)?;
    let stderr_tail = StderrTail::collect(child.stderr.take());
    let version = cdp.call("Browser.getVersion", json!({}), None).await;
    match version {
        Ok(version) => Ok(LaunchedChrome {
            child,
            cdp,
            events,
            browser_version: version["product"].as_str().map(str::to_owned),
        }),
        Err(error) => {
            let status = match tokio::time::timeout(EXIT_WAIT, child.wait()).await {
                Ok(Ok(status)) => format!("it exited ({status})"),
                _ => {
                    let _ = child.kill().await;
                    match error {
                        CdpError::Timeout { seconds, .. } => {
                            format!("it did not answer on its DevTools pipe within {seconds}s")
                        }
                        other => format!("its DevTools pipe failed ({other})"),
                    }
                }
            };
            Err(format!("{status}{}", stderr_tail.describe().await))
        }
    }
}

/// The last lines Chrome wrote to stderr, kept for the error message when it fails to start;
/// the rest is read and dropped, since a full pipe would block Chrome.
struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl StderrTail {
    fn collect(stderr: Option<ChildStderr>) -> StderrTail {
        let lines: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let lines_kept = lines.clone();
        let reader = stderr.map(|stderr| {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.trim().is_empty() {
                        continue;
                    }
                    if let Ok(mut kept) = lines_kept.lock() {
                        if kept.len() == STDERR_LINES_KEPT {
                            kept.pop_front();
                        }
                        kept.push_back(line);
                    }
                }
            })
        });
        StderrTail { lines, reader }
    }

    /// `: line | line` once Chrome (which has exited or been killed) has said its last words,
    /// or nothing.
    async fn describe(self) -> String {
        if let Some(reader) = self.reader {
            let _ = tokio::time::timeout(EXIT_WAIT, reader).await;
        }
        let lines: Vec<String> = self
            .lines
            .lock()
            .map(|kept| kept.iter().cloned().collect())
            .unwrap_or_default();
        if lines.is_empty() {
            String::new()
        } else {
            format!(": {}", lines.join(" | "))
        }
    }
}

#[cfg(unix)]
mod pipe {
    //! The pipe on Unix: two pipes whose child ends become Chrome's descriptors 3 and 4.

    use std::os::fd::{AsRawFd, OwnedFd, RawFd};

    use tokio::net::unix::pipe;
    use tokio::process::{Child, Command};
    use tokio::sync::mpsc;

    use crate::capture::cdp::{CdpClient, CdpEvent};

    /// The descriptors Chrome reads commands from and writes messages to.
    const CHROME_READS: RawFd = 3;
    const CHROME_WRITES: RawFd = 4;
    /// Where the child's pipe ends are moved first, so that placing one on 3 or 4 can never
    /// overwrite the other.
    const ABOVE_CHROME_FDS: RawFd = 5;

    pub fn spawn(
        mut command: Command,
    ) -> Result<(Child, CdpClient, mpsc::UnboundedReceiver<CdpEvent>), String> {
        let failed = |what: &str, error: std::io::Error| format!("{what}: {error}");
        let (to_chrome, chrome_reads) =
            pipe::pipe().map_err(|error| failed("cannot create its DevTools pipe", error))?;
        let (chrome_writes, from_chrome) =
            pipe::pipe().map_err(|error| failed("cannot create its DevTools pipe", error))?;
        // Chrome does blocking reads and writes on its ends.
        let chrome_reads: OwnedFd = chrome_reads
            .into_blocking_fd()
            .map_err(|error| failed("cannot set up its DevTools pipe", error))?;
        let chrome_writes: OwnedFd = chrome_writes
            .into_blocking_fd()
            .map_err(|error| failed("cannot set up its DevTools pipe", error))?;
        let (reads, writes) = (chrome_reads.as_raw_fd(), chrome_writes.as_raw_fd());
        command.process_group(0);
        // SAFETY: the closure runs in the forked child before exec and calls only fcntl(2) and
        // dup2(2), which are async-signal-safe, on descriptors that stay open in the parent
        // until spawn() has returned (`chrome_reads` and `chrome_writes` live past it). It
        // allocates nothing and touches no lock.
        unsafe {
            command.pre_exec(move || {
                let reads = libc::fcntl(reads, libc::F_DUPFD_CLOEXEC, ABOVE_CHROME_FDS);
                let writes = libc::fcntl(writes, libc::F_DUPFD_CLOEXEC, ABOVE_CHROME_FDS);
                if reads < 0
                    || writes < 0
                    || libc::dup2(reads, CHROME_READS) < 0
                    || libc::dup2(writes, CHROME_WRITES) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|error| error.to_string())?;
        // Chrome holds its ends now; ours must close, or Chrome's exit would never read as the
        // end of the pipe.
        drop(chrome_reads);
        drop(chrome_writes);
        let (cdp, events) = CdpClient::start(from_chrome, to_chrome);
        Ok((child, cdp, events))
    }
}

#[cfg(not(unix))]
mod pipe {
    //! Chrome on Windows takes its pipe as inheritable handles named on the command line
    //! (`--remote-debugging-io-pipes`); recon does not set that up yet.

    use tokio::process::{Child, Command};
    use tokio::sync::mpsc;

    use crate::capture::cdp::{CdpClient, CdpEvent};

    pub fn spawn(
        _command: Command,
    ) -> Result<(Child, CdpClient, mpsc::UnboundedReceiver<CdpEvent>), String> {
        Err(
            "recording needs Chrome's DevTools pipe, which this version of recon sets up on \
             Linux and macOS only; import a HAR file exported from Chrome with --from-har instead"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devtools_is_on_the_pipe_and_never_on_a_port() {
        for (headless, as_root) in [(true, true), (false, false)] {
            let args = chrome_args(Path::new("/tmp/p"), headless, as_root);
            assert!(args.contains(&"--remote-debugging-pipe".to_owned()));
            assert!(
                !args
                    .iter()
                    .any(|arg| arg.starts_with("--remote-debugging-port")),
                "{args:?}"
            );
        }
    }

    #[test]
    fn headless_and_root_change_the_flags() {
        let args = chrome_args(Path::new("/tmp/p"), true, true);
        assert!(args.contains(&"--headless=new".to_owned()));
        assert!(args.contains(&"--no-sandbox".to_owned()));
        assert!(args.contains(&"--user-data-dir=/tmp/p".to_owned()));
        let args = chrome_args(Path::new("/tmp/p"), false, false);
        assert!(!args.iter().any(|arg| arg.starts_with("--headless")));
        assert!(!args.contains(&"--no-sandbox".to_owned()));
    }
}
