//! The real-traffic corpus (`tests/corpus/real/`): public HAR files of real sites, imported and
//! scrubbed by `corpus-import` (`captures/*.json.gz`), with the labels decided from their
//! evidence (`labels.toml`): the vendors on the site's own hosts, the vendors whose signals show
//! only on third-party hosts (traps), and the endpoint a user would want for a stated intent.

use std::io::Read;
use std::path::PathBuf;

use recon_contracts::{Capture, Endpoint};
use serde::Deserialize;

/// `tests/corpus/real/`, under the crate directory read at run time ([`crate::crate_dir`]).
pub fn corpus_dir() -> PathBuf {
    crate::crate_dir().join("corpus/real")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelsFile {
    capture: Vec<Labelled>,
}

/// One capture and what a reviewer decided it shows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    /// File stem under `captures/`.
    pub name: String,
    pub site: String,
    /// Vendors whose signals show on the site's own hosts.
    #[serde(default)]
    pub vendors: Vec<Evidenced>,
    /// Vendors whose signals show only on third-party hosts: never to be reported.
    #[serde(default)]
    pub traps: Vec<Evidenced>,
    #[serde(default)]
    pub intents: Vec<IntentLabel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidenced {
    pub id: String,
    pub evidence: String,
}

/// An intent and the request that answers it, as recorded (`/o/v1/show/detail`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentLabel {
    pub text: String,
    pub method: String,
    pub host: String,
    pub path: String,
    /// The GraphQL operation, when the endpoint is one.
    #[serde(default)]
    pub operation: Option<String>,
}

impl IntentLabel {
    /// The endpoint is the one labelled: same method, host and operation, and a template whose
    /// literal segments are the recorded path's (`{…}` stands for any one segment).
    pub fn matches(&self, endpoint: &Endpoint) -> bool {
        let template: Vec<&str> = endpoint.path_template.split('/').collect();
        let path: Vec<&str> = self.path.split('/').collect();
        endpoint.method.eq_ignore_ascii_case(&self.method)
            && endpoint.host.eq_ignore_ascii_case(&self.host)
            && endpoint.graphql_operation == self.operation
            && template.len() == path.len()
            && template
                .iter()
                .zip(&path)
                .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
    }

    pub fn label(&self) -> String {
        match &self.operation {
            Some(operation) => format!("{} {}{}#{operation}", self.method, self.host, self.path),
            None => format!("{} {}{}", self.method, self.host, self.path),
        }
    }
}

impl Labelled {
    pub fn file(&self) -> PathBuf {
        corpus_dir()
            .join("captures")
            .join(format!("{}.json.gz", self.name))
    }

    /// The scrubbed capture; panics with the file's name when it cannot be read.
    pub fn capture(&self) -> Capture {
        let path = self.file();
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|err| panic!("cannot open {}: {err}", path.display()));
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut json)
            .unwrap_or_else(|err| panic!("cannot gunzip {}: {err}", path.display()));
        serde_json::from_slice(&json)
            .unwrap_or_else(|err| panic!("{} is not a capture: {err}", path.display()))
    }
}

/// Every labelled capture, in file order; panics when `labels.toml` is malformed.
pub fn labelled() -> Vec<Labelled> {
    let path = corpus_dir().join("labels.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let file: LabelsFile =
        toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    file.capture
}
