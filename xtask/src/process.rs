//! Running programs: in the foreground with clear errors, or in the background with a log and a
//! pid file, and stopping them again.

use crate::paths::Paths;
use crate::signals::{self, SIGKILL, SIGTERM};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `cargo`, with the shared `CARGO_TARGET_DIR`, run in the repository.
pub fn cargo(paths: &Paths) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(&paths.repo)
        .env("CARGO_TARGET_DIR", &paths.target);
    cmd
}

/// The command line, for messages.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` with inherited stdio and returns its status. On Ctrl-C the child gets the signal
/// from the terminal itself; on SIGTERM to us it is passed on, so we never exit before the child.
pub fn status(cmd: &mut Command) -> Result<ExitStatus> {
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{}`", describe(cmd)))?;
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if signals::interrupted() && !forwarded {
            signals::send(child.id(), SIGTERM);
            forwarded = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `cmd` in the foreground and fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = status(cmd)?;
    signals::check()?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs `cmd` with captured output and returns its stdout; on failure the error carries both
/// streams, so a quiet tool (initdb, pg_ctl, pip) still explains itself. It does not check for
/// Ctrl-C, so clean-up code can use it after one.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{}`", describe(cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}{}",
            describe(cmd),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// True when `cmd` starts and exits 0; its output is discarded.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The exit code a shell would report for `status`.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

/// Starts `cmd` detached from the terminal: its own process group (Ctrl-C in this shell or a
/// later one does not reach it), stdin from /dev/null, stdout and stderr to `log` (truncated).
pub fn spawn_background(cmd: &mut Command, log: &Path) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let file = fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start `{}`", describe(cmd)))
}

/// Polls `check` every 100 ms until it returns true; fails after `timeout` or on Ctrl-C.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if check()? {
            return Ok(());
        }
        signals::check()?;
        if Instant::now() >= deadline {
            bail!("timed out after {}s waiting for {what}", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `lines` lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(err) => format!("(cannot read {}: {err})", path.display()),
    }
}

/// A pid file for a background process of the dev stack. A pid only counts as ours while it is
/// alive and still runs `program`, so a stale file never makes us signal an unrelated process.
pub struct PidFile {
    pub path: PathBuf,
    pub program: &'static str,
}

impl PidFile {
    pub fn new(path: PathBuf, program: &'static str) -> PidFile {
        PidFile { path, program }
    }

    /// The pid recorded in the file, if that process is alive and is `program`.
    pub fn running(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(&self.path).ok()?.trim().parse().ok()?;
        is_running(pid, self.program).then_some(pid)
    }

    pub fn write(&self, pid: u32) -> Result<()> {
        fs::write(&self.path, format!("{pid}\n"))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Stops the process (SIGTERM, then SIGKILL after `grace`) and removes the file. Returns the
    /// pid that was stopped, or None when nothing was running.
    pub fn stop(&self, grace: Duration) -> Result<Option<u32>> {
        let stopped = match self.running() {
            Some(pid) => {
                terminate(pid, self.program, grace)?;
                Some(pid)
            }
            None => None,
        };
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).context(format!("cannot remove {}", self.path.display())),
        }
        Ok(stopped)
    }
}

/// SIGTERM, wait up to `grace` for a clean exit, then SIGKILL.
pub fn terminate(pid: u32, program: &str, grace: Duration) -> Result<()> {
    signals::send(pid, SIGTERM);
    let deadline = Instant::now() + grace;
    while is_running(pid, program) {
        if Instant::now() >= deadline {
            eprintln!(
                "{program} (pid {pid}) did not exit within {}s: killing it",
                grace.as_secs()
            );
            signals::send(pid, SIGKILL);
            std::thread::sleep(Duration::from_millis(200));
            if is_running(pid, program) {
                bail!("cannot stop {program} (pid {pid}); stop it by hand");
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Alive (not a zombie) and running a binary named `program`, read from /proc.
fn is_running(pid: u32, program: &str) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z" | "X") | None) {
        return false;
    }
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|byte| *byte == 0).next().unwrap_or_default();
    Path::new(&*String::from_utf8_lossy(argv0))
        .file_name()
        .is_some_and(|name| name == program)
}
