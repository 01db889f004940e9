//! Which captured requests validation may replay: only those that cannot change state on the
//! site, since a replay carries the user's live cookies. GET, HEAD and OPTIONS are reads. A POST
//! is replayed only when it is provably read-only: its body is a GraphQL request (a JSON object
//! or a batch of them, a form, or `application/graphql`) whose document parses and whose every
//! operation is a query. A persisted operation (a hash or an id instead of the document) cannot
//! be shown to be read-only, and neither can anything else: those are not replayed.

use recon_contracts::RequestRecord;

use crate::graphql::{self, OperationKind};
use crate::request::captured_body;

/// The fields of a GraphQL-over-HTTP request; any other field may make the server run
/// something other than the document (`doc_id`, `id`, `documentId`, `queryId`, …).
const GRAPHQL_FIELDS: [&str; 4] = ["query", "operationName", "variables", "extensions"];

/// Why a captured request could change state on the site, in words for the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouldChangeState {
    #[error("a {0} request")]
    Method(String),
    #[error("a POST whose body was not captured")]
    NoBody,
    #[error("a POST whose body was captured only in part")]
    PartialBody,
    #[error("a POST that is not a GraphQL query")]
    NotGraphql,
    #[error("a persisted GraphQL operation: only its id or hash was sent, not the document")]
    Persisted,
    #[error("a GraphQL request with fields besides the document ({0})")]
    ExtraFields(String),
    #[error("a GraphQL document that does not parse ({0})")]
    Unparsable(graphql::SyntaxError),
    #[error("a GraphQL document without an operation")]
    NoOperation,
    #[error("a GraphQL {}{}", .kind.keyword(), .name.as_ref().map(|name| format!(" ({name})")).unwrap_or_default())]
    Operation {
        kind: OperationKind,
        name: Option<String>,
    },
}

/// `Ok` when replaying `record` cannot change state on the site.
pub fn check(record: &RequestRecord) -> Result<(), CouldChangeState> {
    let method = record.method.to_ascii_uppercase();
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" => query_string_document(&record.url),
        "POST" => post_body(record),
        _ => Err(CouldChangeState::Method(method)),
    }
}

/// A GET carrying a GraphQL document in `?query=` runs it: a mutation there is a write.
/// A `query` parameter that is not a document is an ordinary search term.
fn query_string_document(url: &str) -> Result<(), CouldChangeState> {
    let Ok(url) = url::Url::parse(url) else {
        return Ok(());
    };
    for (name, value) in url.query_pairs() {
        if name == "query" {
            if let Ok(operations) = graphql::operations(&value) {
                all_queries(operations)?;
            }
        }
    }
    Ok(())
}

fn post_body(record: &RequestRecord) -> Result<(), CouldChangeState> {
    let body = record.post_data.as_ref().ok_or(CouldChangeState::NoBody)?;
    if body.truncated {
        return Err(CouldChangeState::PartialBody);
    }
    let bytes = captured_body(record).ok_or(CouldChangeState::NotGraphql)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| CouldChangeState::NotGraphql)?;
    let content_type = recon_contracts::header_value(&record.request_headers, "content-type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/graphql" => document(text),
        "application/x-www-form-urlencoded" => form(text),
        "multipart/form-data" => Err(CouldChangeState::NotGraphql),
        // JSON under any label: clients send it as application/json, text/plain or nothing.
        _ => json(text),
    }
}

fn document(text: &str) -> Result<(), CouldChangeState> {
    all_queries(graphql::operations(text).map_err(CouldChangeState::Unparsable)?)
}

fn all_queries(operations: Vec<graphql::Operation>) -> Result<(), CouldChangeState> {
    if operations.is_empty() {
        return Err(CouldChangeState::NoOperation);
    }
    match operations
        .into_iter()
        .find(|operation| operation.kind != OperationKind::Query)
    {
        Some(operation) => Err(CouldChangeState::Operation {
            kind: operation.kind,
            name: operation.name,
        }),
        None => Ok(()),
    }
}

fn json(text: &str) -> Result<(), CouldChangeState> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| CouldChangeState::NotGraphql)?;
    match value {
        serde_json::Value::Array(batch) if !batch.is_empty() => {
            batch.iter().try_for_each(json_request)
        }
        serde_json::Value::Object(_) => json_request(&value),
        _ => Err(CouldChangeState::NotGraphql),
    }
}

/// One GraphQL request as a JSON object: `{"query": "…", "operationName", "variables",
/// "extensions"}`.
fn json_request(value: &serde_json::Value) -> Result<(), CouldChangeState> {
    let object = value.as_object().ok_or(CouldChangeState::NotGraphql)?;
    Fields {
        names: object.keys().map(String::as_str).collect(),
        query: object.get("query").map(serde_json::Value::as_str),
        persisted_extension: object
            .get("extensions")
            .is_some_and(|extensions| extensions.get("persistedQuery").is_some()),
    }
    .check()
}

fn form(text: &str) -> Result<(), CouldChangeState> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    let value_of = |field: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    };
    Fields {
        names: pairs.iter().map(|(name, _)| name.as_str()).collect(),
        query: value_of("query").map(Some),
        persisted_extension: value_of("extensions")
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .is_some_and(|extensions| extensions.get("persistedQuery").is_some()),
    }
    .check()
}

/// The fields of one GraphQL request, however it was encoded.
struct Fields<'a> {
    names: Vec<&'a str>,
    /// `Some(None)`: a `query` field that is not a string.
    query: Option<Option<&'a str>>,
    /// `extensions.persistedQuery` is present (Apollo's automatic persisted queries).
    persisted_extension: bool,
}

/// Field names that stand for a stored operation (Relay, Meta and others).
const PERSISTED_FIELDS: [&str; 10] = [
    "doc_id",
    "docId",
    "documentId",
    "document_id",
    "id",
    "queryId",
    "query_id",
    "hash",
    "queryHash",
    "sha256Hash",
];

impl Fields<'_> {
    fn check(&self) -> Result<(), CouldChangeState> {
        let Some(query) = self.query else {
            let persisted = self.persisted_extension
                || self
                    .names
                    .iter()
                    .any(|name| PERSISTED_FIELDS.contains(name));
            return Err(if persisted {
                CouldChangeState::Persisted
            } else {
                CouldChangeState::NotGraphql
            });
        };
        let extra: Vec<&str> = self
            .names
            .iter()
            .copied()
            .filter(|name| !GRAPHQL_FIELDS.contains(name))
            .collect();
        if !extra.is_empty() {
            return Err(CouldChangeState::ExtraFields(extra.join(", ")));
        }
        document(query.ok_or(CouldChangeState::NotGraphql)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recon_contracts::{Body, Header, ResourceType, Timing};

    fn post(content_type: Option<&str>, body: &str) -> RequestRecord {
        RequestRecord {
            id: "1".into(),
            page_id: None,
            method: "POST".into(),
            url: "https://api.shop.example/graphql".into(),
            resource_type: ResourceType::Fetch,
            initiator: None,
            request_headers: content_type
                .map(|value| vec![Header::new("Content-Type", value)])
                .unwrap_or_default(),
            post_data: Some(Body::text(body)),
            response: None,
            timing: Timing::default(),
            redirected_from: None,
            failure: None,
        }
    }

    fn json_post(body: &str) -> RequestRecord {
        post(Some("application/json"), body)
    }

    #[test]
    fn reads_are_replayed() {
        for method in ["GET", "head", "OPTIONS"] {
            let mut record = json_post("");
            record.method = method.into();
            record.post_data = None;
            assert_eq!(check(&record), Ok(()), "{method}");
        }
    }

    #[test]
    fn other_methods_are_not() {
        for method in ["PUT", "PATCH", "DELETE", "PROPFIND"] {
            let mut record = json_post(r#"{"query":"{ a }"}"#);
            record.method = method.into();
            assert_eq!(check(&record), Err(CouldChangeState::Method(method.into())));
        }
    }

    #[test]
    fn queries_in_every_encoding_are_replayed() {
        for record in [
            json_post(
                r#"{"query":"query Products { products { id } }","operationName":"Products","variables":{}}"#,
            ),
            json_post(
                r#"{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}"#,
            ),
            json_post(r#"[{"query":"{ a }"},{"query":"query B { b }"}]"#),
            post(Some("application/graphql; charset=utf-8"), "{ a }"),
            post(
                Some("application/x-www-form-urlencoded"),
                "query=query+Q+%7B+a+%7D&operationName=Q",
            ),
            post(Some("text/plain;charset=UTF-8"), r#"{"query":"{ a }"}"#),
            post(None, r#"{"query":"{ a }"}"#),
        ] {
            assert_eq!(check(&record), Ok(()), "{:?}", record.post_data);
        }
    }

    #[test]
    fn mutations_and_subscriptions_are_not_replayed() {
        assert_eq!(
            check(&json_post(
                r#"{"query":"mutation AddToCart { add { ok } }"}"#
            )),
            Err(CouldChangeState::Operation {
                kind: OperationKind::Mutation,
                name: Some("AddToCart".into())
            })
        );
        assert!(matches!(
            check(&json_post(r#"{"query":"subscription { prices }"}"#)),
            Err(CouldChangeState::Operation {
                kind: OperationKind::Subscription,
                ..
            })
        ));
        // Escapes and mixed documents hide nothing once the JSON and the document are parsed.
        for body in [
            r#"{"query":"mu\u0074ation { x }"}"#,
            r#"{"query":"query A { a } mutation B { b }","operationName":"A"}"#,
            r#"[{"query":"{ a }"},{"query":"mutation { b }"}]"#,
        ] {
            assert!(
                matches!(
                    check(&json_post(body)),
                    Err(CouldChangeState::Operation { .. })
                ),
                "{body}"
            );
        }
        let form = post(
            Some("application/x-www-form-urlencoded"),
            "query=mutation+%7B+b+%7D",
        );
        assert!(matches!(
            check(&form),
            Err(CouldChangeState::Operation { .. })
        ));
    }

    #[test]
    fn persisted_operations_are_not_replayed() {
        for body in [
            r#"{"operationName":"AddToCart","extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab12"}}}"#,
            r#"{"doc_id":"5120398281382011","variables":{"input":{}}}"#,
            r#"{"id":"a1b2c3","variables":{}}"#,
            r#"{"documentId":"d-1"}"#,
            r#"{"queryHash":"ab12","variables":{}}"#,
        ] {
            assert_eq!(
                check(&json_post(body)),
                Err(CouldChangeState::Persisted),
                "{body}"
            );
        }
        assert_eq!(
            check(&post(
                Some("application/x-www-form-urlencoded"),
                "doc_id=123&variables=%7B%7D"
            )),
            Err(CouldChangeState::Persisted)
        );
    }

    #[test]
    fn a_document_beside_an_id_is_not_trusted() {
        assert_eq!(
            check(&json_post(r#"{"query":"{ a }","doc_id":"123"}"#)),
            Err(CouldChangeState::ExtraFields("doc_id".into()))
        );
    }

    #[test]
    fn other_posts_are_not_replayed() {
        for (record, expected) in [
            (
                json_post(r#"{"name":"saved search","filter":{}}"#),
                CouldChangeState::NotGraphql,
            ),
            (
                json_post(r#"{"query":"lamps"}"#),
                CouldChangeState::Unparsable(graphql::operations("lamps").unwrap_err()),
            ),
            (
                json_post(r#"{"query":{"text":"lamps"}}"#),
                CouldChangeState::NotGraphql,
            ),
            (
                json_post(r#"{"variables":{}}"#),
                CouldChangeState::NotGraphql,
            ),
            (json_post("[]"), CouldChangeState::NotGraphql),
            (json_post("not json"), CouldChangeState::NotGraphql),
            (
                json_post(r#"{"query":"fragment F on T { a }"}"#),
                CouldChangeState::NoOperation,
            ),
            (
                post(Some("multipart/form-data; boundary=x"), "--x"),
                CouldChangeState::NotGraphql,
            ),
        ] {
            assert_eq!(check(&record), Err(expected), "{:?}", record.post_data);
        }
        let mut unbodied = json_post("");
        unbodied.post_data = None;
        assert_eq!(check(&unbodied), Err(CouldChangeState::NoBody));
        let mut partial = json_post(r#"{"query":"{ a }"}"#);
        if let Some(body) = partial.post_data.as_mut() {
            body.truncated = true;
        }
        assert_eq!(check(&partial), Err(CouldChangeState::PartialBody));
    }

    #[test]
    fn a_get_carrying_a_mutation_is_not_replayed() {
        let mut record = json_post("");
        record.method = "GET".into();
        record.post_data = None;
        record.url = "https://api.shop.example/graphql?query=mutation%20%7B%20b%20%7D".into();
        assert!(matches!(
            check(&record),
            Err(CouldChangeState::Operation { .. })
        ));
        record.url = "https://shop.example/search?query=mutation+lamps".into();
        assert_eq!(check(&record), Ok(()), "a search term, not a document");
    }

    #[test]
    fn reasons_read_as_words() {
        let reason = CouldChangeState::Operation {
            kind: OperationKind::Mutation,
            name: Some("AddToCart".into()),
        };
        assert_eq!(reason.to_string(), "a GraphQL mutation (AddToCart)");
        assert_eq!(
            CouldChangeState::Method("DELETE".into()).to_string(),
            "a DELETE request"
        );
    }
}
