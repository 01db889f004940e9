//! What each tool found, side by side: the paths of one host with every `{parameter}` written
//! `{}` (the tools name parameters differently), how many are templated, and how GraphQL is
//! split (by operation or one path for all).

use std::collections::{BTreeMap, BTreeSet};

use recon_contracts::Endpoint;

/// The distinct paths a tool found for one host.
#[derive(Debug, Default)]
pub struct Paths(BTreeSet<String>);

impl Paths {
    pub fn of_ours(endpoints: &[Endpoint], host: &str) -> Paths {
        Paths::from_iter(
            endpoints
                .iter()
                .filter(|endpoint| endpoint.host == host)
                .map(|endpoint| endpoint.path_template.as_str()),
        )
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn templated(&self) -> usize {
        self.0.iter().filter(|path| path.contains("{}")).count()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(&normalise(path))
    }

    /// Paths in `self` that `other` lacks.
    pub fn missing_from<'a>(&'a self, other: &'a Paths) -> Vec<&'a str> {
        self.0.difference(&other.0).map(String::as_str).collect()
    }

    pub fn in_all(&self, others: &[&Paths]) -> usize {
        self.0
            .iter()
            .filter(|path| others.iter().all(|other| other.0.contains(*path)))
            .count()
    }
}

impl<'a> FromIterator<&'a str> for Paths {
    fn from_iter<I: IntoIterator<Item = &'a str>>(paths: I) -> Paths {
        Paths(paths.into_iter().map(normalise).collect())
    }
}

/// `/v1/products/{product_id}` and `/v1/products/{id}` are the same path.
fn normalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_braces = false;
    for c in path.chars() {
        match (c, in_braces) {
            ('{', false) => {
                in_braces = true;
                out.push_str("{}");
            }
            ('}', true) => in_braces = false,
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

/// Our GraphQL endpoints: for each URL path, the operations we kept apart.
pub fn our_graphql_operations(endpoints: &[Endpoint], host: &str) -> BTreeMap<String, usize> {
    let mut operations: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for endpoint in endpoints.iter().filter(|endpoint| endpoint.host == host) {
        if let Some(operation) = &endpoint.graphql_operation {
            operations
                .entry(endpoint.path_template.clone())
                .or_default()
                .insert(operation);
        }
    }
    operations
        .into_iter()
        .map(|(path, names)| (path, names.len()))
        .collect()
}

/// A few examples of a list, for a table cell.
pub fn examples(paths: &[&str], at_most: usize) -> String {
    let mut shown: Vec<&str> = paths.iter().take(at_most).copied().collect();
    if paths.len() > at_most {
        shown.push("…");
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_do_not_matter_but_templating_does() {
        let ours = Paths::from_iter(["/v1/products/{product_id}", "/static/app.js"]);
        let theirs = Paths::from_iter(["/v1/products/{id}", "/static/app.js", "/v1/products/7"]);
        assert_eq!(ours.templated(), 1);
        assert_eq!(ours.in_all(&[&theirs]), 2);
        assert!(ours.missing_from(&theirs).is_empty());
        assert_eq!(theirs.missing_from(&ours), ["/v1/products/7"]);
        assert!(theirs.contains("/v1/products/{x}"));
        assert_eq!(examples(&["a", "b", "c"], 2), "a, b, …");
    }
}
