//! Starting Chrome ourselves: in its own process group, so the Ctrl-C the user types at recon
//! (which asks whether to upload) does not also kill the browser that still holds the capture's
//! last bodies and cookies. chromiumoxide then connects to it over DevTools.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
const STDERR_LINES_KEPT: usize = 5;

pub struct LaunchedChrome {
    pub child: Child,
    pub websocket_url: String,
}

pub fn chrome_args(profile_dir: &Path, headless: bool, as_root: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "--remote-debugging-port=0",
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

pub async fn launch(executable: &Path, args: &[String]) -> Result<LaunchedChrome, String> {
    let mut command = Command::new(executable);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(windows)]
    {
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }
    let mut child = command.spawn().map_err(|error| error.to_string())?;
    let Some(stderr) = child.stderr.take() else {
        return Err("its error output could not be read".into());
    };
    let mut lines = BufReader::new(stderr).lines();
    let mut last_lines: Vec<String> = Vec::new();
    let found = tokio::time::timeout(LAUNCH_TIMEOUT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = websocket_url(&line) {
                return Some(url);
            }
            if !line.trim().is_empty() {
                last_lines.push(line);
                if last_lines.len() > STDERR_LINES_KEPT {
                    last_lines.remove(0);
                }
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(websocket_url)) => {
            // Chrome keeps logging; a full pipe would block it.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok(LaunchedChrome {
                child,
                websocket_url,
            })
        }
        Ok(None) => {
            let status = child.wait().await.ok();
            Err(format!(
                "it exited ({}) before opening DevTools{}",
                status.map_or("unknown status".into(), |status| status.to_string()),
                if last_lines.is_empty() {
                    String::new()
                } else {
                    format!(": {}", last_lines.join(" | "))
                }
            ))
        }
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "it did not open DevTools within {}s",
                LAUNCH_TIMEOUT.as_secs()
            ))
        }
    }
}

fn websocket_url(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("DevTools listening on ")?;
    rest.starts_with("ws://").then(|| rest.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_devtools_line_is_found() {
        assert_eq!(
            websocket_url("DevTools listening on ws://127.0.0.1:3456/devtools/browser/ab-cd"),
            Some("ws://127.0.0.1:3456/devtools/browser/ab-cd".into())
        );
        assert_eq!(websocket_url("[123:ERROR] something"), None);
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
