//! `cargo xtask demo`: the stack, the bundled demo shop served on loopback, one headless
//! Chromium capture of it through the real CLI, and the report URL it ends with.

use crate::demo_site;
use crate::http;
use crate::paths::Paths;
use crate::signals;
use crate::stack;
use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};
use std::time::Instant;

const SITE: &str = "tests/fixtures/demo-site";
const INTENT: &str = "product prices and reviews";
/// Long enough for the shop's page and its API calls, on a slow machine too.
const DURATION: &str = "8s";

pub fn run(paths: &Paths) -> Result<()> {
    let root = paths.repo.join(SITE);
    if !root.join("index.html").is_file() {
        bail!("{SITE}/index.html is missing: the demo captures that site");
    }
    // The site first: validation may replay only to the ports the stack is started with.
    let site = demo_site::serve(&root)?;
    let stack = stack::up(paths, &[site.port])?;
    let recon = paths.binary("recon");
    if !recon.is_file() {
        bail!("{} is missing after the build", recon.display());
    }

    println!(
        "\ndemo: recon scan {} --headless --duration {DURATION}   (the bundled demo shop, {SITE})",
        site.url
    );
    let started = Instant::now();
    let mut cmd = Command::new(&recon);
    cmd.current_dir(&paths.repo)
        .env("RECON_SERVER", &stack.server_url)
        .env("RECON_API_KEY", &stack.api_key)
        .args([
            "scan",
            &site.url,
            "--headless",
            "--duration",
            DURATION,
            "--intent",
            INTENT,
            "--no-progress",
            "--json",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {}", recon.display()))?;
    signals::check()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`recon scan` failed ({}); it printed:\n{stdout}\nserver log: {}",
            out.status,
            paths.show(&stack.server_log)
        );
    }
    let report_url = json_string_field(&stdout, "report_url")
        .with_context(|| format!("`recon scan --json` printed no report_url:\n{stdout}"))?;

    let status = http::get_status(&report_url)
        .with_context(|| format!("cannot fetch the report {report_url}"))?;
    if status != 200 {
        bail!("the report {report_url} answered {status}, not 200");
    }

    let line = "=".repeat(report_url.len() + 8);
    println!(
        "\ncapture, upload and pipeline took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    println!("\n{line}\nReport: {report_url}\n{line}\n");
    println!(
        "The stack keeps running (env: . {}); stop it with: cargo xtask stack down",
        paths.show(&stack.env_file)
    );
    Ok(())
}

/// The string value of `"field": "..."` in a JSON text, with the escapes a URL can carry.
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let after_key = &json[json.find(&key)? + key.len()..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let body = after_colon.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::json_string_field;

    #[test]
    fn finds_the_report_url() {
        let json =
            r#"{"scan_id":"0b0e","status":"complete","report_url":"http://127.0.0.1:8080/r/abc"}"#;
        assert_eq!(
            json_string_field(json, "report_url").as_deref(),
            Some("http://127.0.0.1:8080/r/abc")
        );
    }

    #[test]
    fn handles_spacing_and_escapes() {
        let json = "{\n  \"report_url\" : \"http:\\/\\/h\\u002fr\\/x\"\n}";
        assert_eq!(
            json_string_field(json, "report_url").as_deref(),
            Some("http://h/r/x")
        );
        assert_eq!(json_string_field(json, "scan_id"), None);
        assert_eq!(
            json_string_field(r#"{"report_url":null}"#, "report_url"),
            None
        );
    }
}
