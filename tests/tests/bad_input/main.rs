//! The API bad-input suite: malformed, hostile and slow requests each get a clear 4xx with a
//! JSON error body (or, where HTTP allows no answer, a closed connection), nothing is half
//! written, and the server stays healthy: a scan that was sent bad captures then takes a good
//! one through every stage.
//!
//! One test per kind of bad input, over one stack shared by the whole binary ([`BARRAGE`]), so
//! the first failure no longer hides the rest. Tests run at the same time, so each keeps to its
//! own corner of the world ([`support::Corner`]): its own fresh scan, its own account for the
//! requests that could create scans, and any scans it adds. What was stored for them is
//! recorded before its bad requests and compared after, and the probes must still answer: the
//! "nothing half-written, healthy after" check holds for every test on its own, whatever ran
//! beside it, with no order between tests to rely on.

mod access;
mod capture_bounds;
mod healthy;
mod json;
mod sizes;
mod slow;
mod state;
mod support;
mod utf8;

use recon_tests::SharedStack;

/// Every role, with small limits and short deadlines so that refusals come quickly.
static BARRAGE: SharedStack = SharedStack::new(
    "all",
    &[
        ("RECON_MAX_CAPTURE_BYTES", "2000000"),
        ("RECON_MAX_CAPTURE_DECODED_BYTES", "4000000"),
        ("RECON_HEADER_READ_TIMEOUT_SECS", "2"),
        ("RECON_BODY_IDLE_TIMEOUT_SECS", "2"),
        ("RECON_BODY_TIMEOUT_SECS", "4"),
        ("RECON_MAX_HEADER_BYTES", "16384"),
        ("RECON_OPS_LISTEN", "127.0.0.1:0"),
    ],
);
