//! `recon open ID|URL`: the scan's report in the browser. The URL is printed too (stdout, or the
//! `--json` object), so the command is useful where no browser can be opened. The browser is
//! `$BROWSER` when set, else the system's opener (xdg-open, open, start).

use std::process::{Command, Stdio};

use crate::exit::{Exit, Failure};
use crate::outcome::print_json;
use crate::scan_ref::ScanRef;

pub async fn run(scan: ScanRef, json: bool, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let scan_id = scan.resolve(&client).await?;
    let view = client.scan(scan_id).await?;
    if json {
        print_json(view.id, view.status.as_str(), &view.report_url);
    } else {
        println!("{}", view.report_url);
    }
    if !view.status.is_finished() {
        eprintln!(
            "scan {scan_id} is {}: the report appears once it is complete",
            view.status.as_str()
        );
    }
    if let Err(reason) = open_in_browser(&view.report_url) {
        eprintln!("recon: warning: cannot open a browser ({reason}); open the URL above yourself");
    }
    update.print_if_ready();
    Ok(Exit::Complete)
}

/// Starts the browser on `url` without waiting for it to close.
fn open_in_browser(url: &str) -> Result<(), String> {
    let mut command = match std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        Some(browser) => {
            // $BROWSER may list several, separated by colons; the first is tried.
            let first = browser
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            let mut command = Command::new(first);
            command.arg(url);
            command
        }
        None if cfg!(target_os = "macos") => {
            let mut command = Command::new("open");
            command.arg(url);
            command
        }
        None if cfg!(windows) => {
            let mut command = Command::new("cmd");
            command.args(["/C", "start", "", url]);
            command
        }
        None => {
            let mut command = Command::new("xdg-open");
            command.arg(url);
            command
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|error| error.to_string())
}
