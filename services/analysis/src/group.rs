//! Grouping samples into endpoints: method + host + path template, and for GraphQL one
//! endpoint per operation name (or persisted-query hash).

use std::collections::{BTreeMap, HashMap};

use crate::sample::Sample;
use crate::templating::{self, PathParam, Templated};

/// One sample's part in an endpoint: a whole request, or one operation of a GraphQL batch.
#[derive(Debug)]
pub struct Member<'s, 'c> {
    pub sample: &'s Sample<'c>,
    /// Index into `sample.operations` for GraphQL.
    pub operation: Option<usize>,
    pub path_params: &'s [PathParam],
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub host: String,
    pub path_template: String,
    pub method: String,
    /// GraphQL operation key (name, else `sha256:…`).
    pub operation: Option<String>,
}

pub struct Groups<'s, 'c> {
    pub groups: BTreeMap<GroupKey, Vec<Member<'s, 'c>>>,
}

/// Learns templates per host, then groups.
pub fn group<'s, 'c>(
    samples: &'s [Sample<'c>],
    templates: &'s HashMap<(String, String), Templated>,
) -> Groups<'s, 'c> {
    let mut groups: BTreeMap<GroupKey, Vec<Member<'s, 'c>>> = BTreeMap::new();
    for sample in samples {
        let templated = templates.get(&(sample.host.clone(), sample.path.clone()));
        let (template, params): (&str, &[PathParam]) = match templated {
            Some(t) => (&t.template, &t.params),
            None => (&sample.path, &[]),
        };
        if sample.operations.is_empty() {
            groups
                .entry(GroupKey {
                    host: sample.host.clone(),
                    path_template: template.to_owned(),
                    method: sample.method.clone(),
                    operation: None,
                })
                .or_default()
                .push(Member {
                    sample,
                    operation: None,
                    path_params: params,
                });
        } else {
            for (i, operation) in sample.operations.iter().enumerate() {
                groups
                    .entry(GroupKey {
                        host: sample.host.clone(),
                        path_template: template.to_owned(),
                        method: sample.method.clone(),
                        operation: Some(operation.key()),
                    })
                    .or_default()
                    .push(Member {
                        sample,
                        operation: Some(i),
                        path_params: params,
                    });
            }
        }
    }
    Groups { groups }
}

/// Templates for every (host, path) of the samples, learned per host across its paths.
pub fn learn_templates(samples: &[Sample<'_>]) -> HashMap<(String, String), Templated> {
    let mut by_host: HashMap<&str, Vec<&str>> = HashMap::new();
    for sample in samples {
        by_host
            .entry(sample.host.as_str())
            .or_default()
            .push(sample.path.as_str());
    }
    let mut out = HashMap::new();
    for (host, paths) in by_host {
        for (path, templated) in templating::learn(paths) {
            out.insert((host.to_owned(), path), templated);
        }
    }
    out
}
