//! Ctrl-C and SIGTERM become a flag, so that a run that started Postgres still stops it, plus the
//! two other libc calls std does not wrap (signalling a pid, the effective uid).

use std::sync::atomic::{AtomicBool, Ordering};

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;
const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn kill(pid: i32, sig: i32) -> i32;
    fn geteuid() -> u32;
}

extern "C" fn on_signal(_signum: i32) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// A handler (not SIG_IGN) so that the programs we start get the default disposition back on
/// exec: Ctrl-C still stops `cargo test`, and we clean up once it has exited.
pub fn install_handlers() {
    for signum in [SIGINT, SIGTERM, SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal(signum, on_signal);
        }
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The error returned once Ctrl-C or SIGTERM arrived; `main` turns it into exit code 130.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Fails with [`Interrupted`] once a stop signal has arrived.
pub fn check() -> Result<(), Interrupted> {
    if interrupted() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// Sends `sig` to `pid`; false when no such process exists (or it is not ours to signal).
pub fn send(pid: u32, sig: i32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; pid > 0 targets exactly one process.
    unsafe { kill(pid, sig) == 0 }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { geteuid() == 0 }
}
