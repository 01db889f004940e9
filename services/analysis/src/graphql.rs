//! GraphQL operations of a request: POST bodies (one or a batched array), GET query strings,
//! named operations, anonymous ones (named after their first field) and persisted queries
//! (sha256 hash, often without the query text).

use serde_json::Value;

use crate::sample::RequestBody;

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// operationName, or the name in the query text.
    pub name: Option<String>,
    pub persisted_hash: Option<String>,
    /// `query`, `mutation` or `subscription`.
    pub operation_type: String,
    pub variables: Option<Value>,
}

impl Operation {
    /// What tells operations apart within one URL: the name, else the persisted hash.
    pub fn key(&self) -> String {
        match (&self.name, &self.persisted_hash) {
            (Some(name), _) => name.clone(),
            (None, Some(hash)) => format!("sha256:{}", &hash[..hash.len().min(16)]),
            (None, None) => "anonymous".to_owned(),
        }
    }
}

/// Name and type from query text: `query Search($q: String)` → (Search, query).
fn name_from_query(query: &str) -> (Option<String>, String) {
    let text = query.trim_start();
    for keyword in ["query", "mutation", "subscription"] {
        if let Some(rest) = text.strip_prefix(keyword) {
            if rest.starts_with(|c: char| c.is_whitespace() || c == '{' || c == '(') {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                return ((!name.is_empty()).then_some(name), keyword.to_owned());
            }
        }
    }
    (None, "query".to_owned())
}

fn from_object(object: &serde_json::Map<String, Value>) -> Option<Operation> {
    let query = object.get("query").and_then(Value::as_str);
    let hash = object
        .get("extensions")
        .and_then(|ext| ext.get("persistedQuery"))
        .and_then(|pq| pq.get("sha256Hash"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            // Relay-style persisted ids.
            object
                .get("doc_id")
                .or_else(|| object.get("documentId"))
                .or_else(|| object.get("id"))
                .filter(|_| query.is_none())
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let operation_name = object
        .get("operationName")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    let is_graphql_query = query.is_some_and(|q| {
        let q = q.trim_start();
        q.starts_with('{')
            || q.starts_with("query")
            || q.starts_with("mutation")
            || q.starts_with("subscription")
            || q.starts_with("fragment")
    });
    if !is_graphql_query && hash.is_none() && operation_name.is_none() {
        return None;
    }
    let (parsed_name, operation_type) = query
        .map(name_from_query)
        .unwrap_or((None, "query".to_owned()));
    Some(Operation {
        name: operation_name.or(parsed_name),
        persisted_hash: hash,
        operation_type,
        variables: object.get("variables").cloned(),
    })
}

/// The GraphQL operations a request carries (empty when it is not GraphQL).
pub fn operations(path: &str, query: &[(String, String)], body: &RequestBody) -> Vec<Operation> {
    let path_says_graphql = path.to_ascii_lowercase().contains("graphql") || path.ends_with("/gql");
    match body {
        RequestBody::Json(Value::Object(object)) => from_object(object).into_iter().collect(),
        RequestBody::Json(Value::Array(items)) => {
            let ops: Vec<Operation> = items
                .iter()
                .filter_map(Value::as_object)
                .filter_map(from_object)
                .collect();
            if ops.len() == items.len() {
                ops
            } else {
                Vec::new()
            }
        }
        RequestBody::Form(pairs) => from_pairs(pairs, path_says_graphql),
        _ => from_pairs(query, path_says_graphql),
    }
}

/// GraphQL sent as key/value pairs: a GET query string, or a form-encoded POST such as the
/// persisted `doc_id` posts of Relay clients (`doc_id=…&variables=…`, the operation named in
/// `fb_api_req_friendly_name`).
fn from_pairs(pairs: &[(String, String)], path_says_graphql: bool) -> Vec<Operation> {
    let mut object = serde_json::Map::new();
    for (key, value) in pairs {
        match key.as_str() {
            "query" | "operationName" | "doc_id" | "documentId" => {
                object.insert(key.clone(), Value::String(value.clone()));
            }
            "fb_api_req_friendly_name" => {
                object.insert("operationName".to_owned(), Value::String(value.clone()));
            }
            "variables" | "extensions" => {
                let parsed = serde_json::from_str(value).unwrap_or(Value::String(value.clone()));
                object.insert(key.clone(), parsed);
            }
            _ => {}
        }
    }
    let persisted_document = (object.contains_key("doc_id") || object.contains_key("documentId"))
        && object.contains_key("variables");
    if object.is_empty()
        || (!path_says_graphql
            && !persisted_document
            && !object.contains_key("query")
            && !object.contains_key("extensions"))
    {
        return Vec::new();
    }
    from_object(&object).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn posts_batches_gets_and_persisted_queries() {
        let single = RequestBody::Json(
            json!({"operationName": "SearchProducts", "query": "query SearchProducts($q: String!) { search(q: $q) { id } }", "variables": {"q": "lamp"}}),
        );
        let ops = operations("/graphql", &[], &single);
        assert_eq!(ops[0].name.as_deref(), Some("SearchProducts"));
        assert_eq!(ops[0].variables, Some(json!({"q": "lamp"})));

        let anonymous = RequestBody::Json(json!({"query": "mutation AddToCart { add { ok } }"}));
        let ops = operations("/api", &[], &anonymous);
        assert_eq!(
            (ops[0].name.as_deref(), ops[0].operation_type.as_str()),
            (Some("AddToCart"), "mutation")
        );

        let batch = RequestBody::Json(json!([
            {"operationName": "A", "query": "query A { a }"},
            {"operationName": "B", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc123"}}}
        ]));
        let ops = operations("/graphql", &[], &batch);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].persisted_hash.as_deref(), Some("abc123"));

        let get = [
            ("operationName".to_owned(), "Product".to_owned()),
            ("variables".to_owned(), r#"{"id":"7"}"#.to_owned()),
            (
                "extensions".to_owned(),
                r#"{"persistedQuery":{"version":1,"sha256Hash":"ffee"}}"#.to_owned(),
            ),
        ];
        let ops = operations("/graphql", &get, &RequestBody::None);
        assert_eq!(ops[0].name.as_deref(), Some("Product"));
        assert_eq!(ops[0].persisted_hash.as_deref(), Some("ffee"));
        assert_eq!(ops[0].variables, Some(json!({"id": "7"})));

        let relay_form = RequestBody::Form(vec![
            ("av".to_owned(), "0".to_owned()),
            (
                "fb_api_req_friendly_name".to_owned(),
                "SearchResultsPageQuery".to_owned(),
            ),
            ("variables".to_owned(), r#"{"query":"lamp"}"#.to_owned()),
            ("doc_id".to_owned(), "7245328915598201".to_owned()),
        ]);
        let ops = operations("/api/graphql/", &[], &relay_form);
        assert_eq!(ops[0].name.as_deref(), Some("SearchResultsPageQuery"));
        assert_eq!(ops[0].persisted_hash.as_deref(), Some("7245328915598201"));
        assert_eq!(ops[0].variables, Some(json!({"query": "lamp"})));
        let doc_form_elsewhere = RequestBody::Form(vec![
            ("doc_id".to_owned(), "42".to_owned()),
            ("variables".to_owned(), "{}".to_owned()),
        ]);
        assert_eq!(operations("/ajax/route", &[], &doc_form_elsewhere).len(), 1);
        let plain_form = RequestBody::Form(vec![("query".to_owned(), "red lamp".to_owned())]);
        assert!(operations("/search", &[], &plain_form).is_empty());

        let not_graphql = RequestBody::Json(json!({"query": "red lamp", "page": 2}));
        assert!(operations("/api/search", &[], &not_graphql).is_empty());
        let get_search = [("query".to_owned(), "red lamp".to_owned())];
        assert!(operations("/search", &get_search, &RequestBody::None).is_empty());
    }
}
