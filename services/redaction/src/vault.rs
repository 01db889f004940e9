//! The per-scan table of secrets: the same secret always gets the same placeholder within a
//! scan, and distinct secrets under one name get numbered ones (`<cookie:sid#2>`).

use std::collections::{BTreeMap, HashMap};

use crate::secrets::{is_placeholder, placeholder, SecretKind};

#[derive(Debug, Default)]
pub struct Vault {
    by_value: HashMap<String, String>,
    ordinals: HashMap<String, u32>,
    replacements: u64,
    by_kind: BTreeMap<String, u64>,
}

impl Vault {
    /// The placeholder for `value`, a secret of `kind` sent under `name`; counts one replacement.
    pub fn replace(&mut self, kind: SecretKind, name: Option<&str>, value: &str) -> String {
        let key = value.trim();
        if key.is_empty() || is_placeholder(key) {
            return value.to_owned();
        }
        self.replacements += 1;
        *self.by_kind.entry(kind.label().to_owned()).or_default() += 1;
        if let Some(known) = self.by_value.get(key) {
            return known.clone();
        }
        let base = placeholder(kind, name);
        let ordinal = self.ordinals.entry(base.clone()).or_insert(0);
        *ordinal += 1;
        let chosen = if *ordinal == 1 {
            base
        } else {
            format!("{}#{}>", &base[..base.len() - 1], ordinal)
        };
        self.by_value.insert(key.to_owned(), chosen.clone());
        chosen
    }

    /// Counts replacements made outside [`Vault::replace`] (the final sweep).
    pub fn count(&mut self, placeholder: &str, times: u64) {
        let label = crate::secrets::parse_placeholder(placeholder)
            .map(|(kind, _, _)| kind.label())
            .unwrap_or("other");
        self.replacements += times;
        *self.by_kind.entry(label.to_owned()).or_default() += times;
    }

    /// Every secret seen so far with its placeholder.
    pub fn secrets(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_value
            .iter()
            .map(|(value, placeholder)| (value.as_str(), placeholder.as_str()))
    }

    pub fn replacements(&self) -> u64 {
        self.replacements
    }

    pub fn by_kind(&self) -> &BTreeMap<String, u64> {
        &self.by_kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_same_placeholder_and_numbered_distinct_ones() {
        let mut vault = Vault::default();
        assert_eq!(
            vault.replace(SecretKind::Cookie, Some("sid"), "aaa"),
            "<cookie:sid>"
        );
        assert_eq!(
            vault.replace(SecretKind::Cookie, Some("sid"), "bbb"),
            "<cookie:sid#2>"
        );
        assert_eq!(
            vault.replace(SecretKind::Cookie, Some("sid"), "aaa"),
            "<cookie:sid>"
        );
        // The same value seen elsewhere keeps its first placeholder.
        assert_eq!(
            vault.replace(SecretKind::Session, None, "bbb"),
            "<cookie:sid#2>"
        );
        assert_eq!(vault.replace(SecretKind::Jwt, None, "x.y.z"), "<jwt>");
        assert_eq!(vault.replace(SecretKind::Jwt, None, "<jwt>"), "<jwt>");
        assert_eq!(vault.replacements(), 5);
        assert_eq!(vault.by_kind()["cookie"], 3);
    }
}
