//! Every type that crosses a process boundary in browser-recon: the capture the CLI uploads, the
//! REST bodies of the api, the MessagePack messages stages pass over NATS, the progress events,
//! and the stage results that make up the report. The CLI and the server share nothing else.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod capture;
pub mod capture_bounds;
pub mod capture_decode;
pub mod drift;
pub mod events;
pub mod messages;
pub mod names;
pub mod quota;
pub mod report;
pub mod text_table;
pub mod version;

pub use accounts::*;
pub use api::*;
pub use capture::*;
pub use capture_bounds::{CaptureBounds, Limit, LimitExceeded};
pub use capture_decode::{decode_capture, decode_capture_from_reader, CaptureDecodeError};
pub use drift::*;
pub use events::*;
pub use messages::*;
pub use quota::*;
pub use report::*;
