//! Imports a HAR 1.2 file (as Chrome DevTools and Firefox export it) into a [`Capture`], so a
//! site recorded in any browser can be scanned without `recon` driving Chrome.
//!
//! `import` turns the file into a capture, reading the shapes in `model` one entry at a time
//! through `outline`; `bodies`, `resource_type` and `cookies` each handle one part of an entry.
//!
//! [`Capture`]: recon_contracts::Capture

mod bodies;
mod cookies;
mod import;
mod model;
mod outline;
mod resource_type;
#[cfg(test)]
mod test_support;

pub use import::{import_bytes, import_file, HarError, Import};
