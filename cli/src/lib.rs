//! The parts of `recon` that read untrusted input (HAR files, Chrome's DevTools messages, the
//! server's answers) as a library, so the fuzz targets under `fuzz/` run the same code the binary
//! does. It is no public API: the `recon` binary (main.rs) is the product, and these modules are
//! the closure the capture, HAR and client code need (their errors go through [`exit`], which
//! knows the client's and the config's errors; every text from outside goes through
//! [`terminal_text`] before it is printed).

pub mod capture;
pub mod client;
pub mod config;
mod config_migration;
pub mod exit;
pub mod har;
pub mod kept;
pub mod terminal_text;
