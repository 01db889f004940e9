//! Redaction, owned by no stage: what counts as a secret ([`secrets`], rules as data in
//! `rules/secrets.json`), the per-scan [`Vault`] of placeholders, and the [`Scrubber`] that
//! replaces live values in headers, URLs, bodies and text with typed placeholders
//! (`<cookie:_abck>`, `Bearer <bearer>`, `<jwt>`). The scrub stage runs it over a whole
//! capture; analysis, synthesis and render use the same classifier on what they show, so no
//! two parts of the pipeline can disagree on what is secret.

mod body;
mod headers;
mod json;
pub mod rules;
pub mod secrets;
mod text;
mod vault;

pub use text::Scrubber;
pub use vault::Vault;
