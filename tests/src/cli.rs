//! Running the real `recon` binary (RECON_TEST_CLI) as a user's shell would, but with nothing
//! of the developer's environment: HOME, PATH and the variables a test names, in the tests
//! directory (so `fixtures/…` paths work).

use std::path::Path;
use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// `recon ARGS` with only HOME, PATH and `env` set, its output piped.
pub fn recon_command(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(crate::harness_env("RECON_TEST_CLI"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(crate::crate_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `recon ARGS` to its end, feeding it `stdin`.
pub async fn run_recon(home: &Path, env: &[(&str, &str)], stdin: &str, args: &[&str]) -> Output {
    let mut child = recon_command(home, env, args).spawn().expect("run recon");
    let mut input = child.stdin.take().expect("piped stdin");
    // recon may exit without reading its input.
    let _ = input.write_all(stdin.as_bytes()).await;
    drop(input);
    child.wait_with_output().await.expect("recon's output")
}

/// The single `recon: error: …` line a failure prints, checked to be exactly that.
pub fn one_error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("recon: error: "), "{stderr}");
    stderr
}
