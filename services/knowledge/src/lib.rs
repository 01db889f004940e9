//! Shared knowledge of the pipeline, owned by no stage: the vendor fingerprints and well-known
//! service hosts (data files under `rules/`), the challenge-page classifier that detection and
//! validation both judge pages with, which hosts are the site's own, the word splitting that
//! analysis and intent share, and the OpenAPI writer. Stages depend on this crate instead of on
//! each other, so each stays a leaf.

pub mod anti_bot;
pub mod hosts;
pub mod openapi;
pub mod response;
pub mod rules;
pub mod services;
pub mod words;

pub use anti_bot::{anti_bot_cookie, anti_bot_request, known_service};
pub use openapi::openapi_document;
pub use response::{classify_response, ResponseBlock};
pub use services::ServiceCategory;
