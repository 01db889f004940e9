//! Response field changes of one endpoint: fields added, removed or retyped between the two
//! scans' merged response schemas, how much each matters, and a cap per endpoint so one
//! reshaped response cannot bury the rest of the report.
//!
//! Noise kept out: a field is only added or removed where both scans saw its parent the same
//! way (an array whose items were seen in both, an object that is a map in both), so a field
//! whose parent changed type shows as that one retype; and an endpoint with no JSON response
//! in one scan says nothing about its fields.

use recon_contracts::{Change, ChangeKind, Severity};

use crate::endpoints::Pair;
use crate::schema_fields::{Field, Fields, Types};

/// Field changes listed per endpoint, most severe first; the rest are only counted.
pub const MAX_FIELD_CHANGES_PER_ENDPOINT: usize = 10;

#[derive(Debug, Default)]
pub struct FieldChanges {
    pub listed: Vec<Change>,
    pub omitted: u32,
}

pub fn changes(pair: &Pair<'_>) -> FieldChanges {
    let (Some(before), Some(after)) = (&pair.before.response_schema, &pair.after.response_schema)
    else {
        return FieldChanges::default();
    };
    let before = Fields::of(before);
    let after = Fields::of(after);
    // Past the field cap a missing field proves nothing: compare types only.
    let presence_known = !before.truncated && !after.truncated;
    let field_change = |kind, severity, path: &str, was: Option<&Field>, now: Option<&Field>| {
        let mut change = pair.change(
            kind,
            severity,
            was.map(|field| field.types.words()),
            now.map(|field| field.types.words()),
        );
        change.field = Some(path.to_owned());
        change
    };
    let mut changes = Vec::new();
    for (path, was) in &before.fields {
        match after.fields.get(path) {
            Some(now) => {
                if let Some(severity) = retype_severity(was.types, now.types) {
                    changes.push(field_change(
                        ChangeKind::ResponseFieldRetyped,
                        severity,
                        path,
                        Some(was),
                        Some(now),
                    ));
                }
            }
            None if presence_known && parent_comparable(was, &before, &after) => {
                let severity = if was.required {
                    Severity::High
                } else {
                    Severity::Medium
                };
                changes.push(field_change(
                    ChangeKind::ResponseFieldRemoved,
                    severity,
                    path,
                    Some(was),
                    None,
                ));
            }
            None => {}
        }
    }
    for (path, now) in &after.fields {
        if !before.fields.contains_key(path)
            && presence_known
            && parent_comparable(now, &after, &before)
        {
            changes.push(field_change(
                ChangeKind::ResponseFieldAdded,
                Severity::Low,
                path,
                None,
                Some(now),
            ));
        }
    }
    changes.sort_by(|a, b| (a.severity, &a.field).cmp(&(b.severity, &b.field)));
    let omitted = changes.len().saturating_sub(MAX_FIELD_CHANGES_PER_ENDPOINT);
    changes.truncate(MAX_FIELD_CHANGES_PER_ENDPOINT);
    FieldChanges {
        listed: changes,
        omitted: u32::try_from(omitted).unwrap_or(u32::MAX),
    }
}

/// Whether `field`, present on one side only, had a parent both sides saw the same way.
fn parent_comparable(field: &Field, side: &Fields, other: &Fields) -> bool {
    let Some(parent) = &field.parent else {
        return true;
    };
    match (side.fields.get(parent), other.fields.get(parent)) {
        (Some(mine), Some(theirs)) => mine.children_comparable(theirs, field.via),
        _ => false,
    }
}

/// High when values of a type the field never had can arrive; low when the field only became
/// nullable, lost a type, moved between integer and number, or was only ever null before.
fn retype_severity(was: Types, now: Types) -> Option<Severity> {
    if was == now || was.is_empty() || now.is_empty() {
        return None;
    }
    let gained = numeric(now).without(numeric(was)).without(Types::NULL);
    let only_null_before = was.without(Types::NULL).is_empty();
    Some(if gained.is_empty() || only_null_before {
        Severity::Low
    } else {
        Severity::High
    })
}

/// Integer and number as one family: a float parser reads both.
fn numeric(types: Types) -> Types {
    if types.contains(Types::INTEGER) {
        types.without(Types::INTEGER).union(Types::NUMBER)
    } else {
        types
    }
}

#[cfg(test)]
mod tests {
    use recon_contracts::Endpoint;
    use serde_json::{json, Value};

    use super::*;
    use crate::test_support::{drift_between, endpoint, World};

    fn items_with(schema: Value) -> World {
        World::default().with_endpoint(Endpoint {
            response_schema: Some(schema),
            ..endpoint("GET", "/api/items/{item_id}")
        })
    }

    fn item_schema(properties: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    /// `(kind, field, before, after, severity)` of one change.
    type Row = (ChangeKind, String, Option<String>, Option<String>, Severity);

    /// Every change between two response schemas of one endpoint.
    fn field_changes(before: Value, after: Value) -> Vec<Row> {
        drift_between(&items_with(before), &items_with(after))
            .changes
            .into_iter()
            .map(|c| {
                (
                    c.kind,
                    c.field.unwrap_or_default(),
                    c.before,
                    c.after,
                    c.severity,
                )
            })
            .collect()
    }

    fn row(
        kind: ChangeKind,
        field: &str,
        before: Option<&str>,
        after: Option<&str>,
        severity: Severity,
    ) -> Row {
        let owned = |text: Option<&str>| text.map(str::to_owned);
        (
            kind,
            field.to_owned(),
            owned(before),
            owned(after),
            severity,
        )
    }

    #[test]
    fn a_new_field_is_a_low_response_field_added() {
        let before = item_schema(json!({"id": {"type": "integer"}}), &["id"]);
        let after = item_schema(
            json!({"id": {"type": "integer"}, "rating": {"type": "number"}}),
            &["id", "rating"],
        );
        assert_eq!(
            field_changes(before, after),
            [row(
                ChangeKind::ResponseFieldAdded,
                "rating",
                None,
                Some("number"),
                Severity::Low
            )]
        );
    }

    #[test]
    fn a_removed_required_field_is_high_and_a_removed_optional_one_medium() {
        let before = item_schema(
            json!({"id": {"type": "integer"}, "price": {"type": "number"}, "badge": {"type": "string"}}),
            &["id", "price"],
        );
        let after = item_schema(json!({"id": {"type": "integer"}}), &["id"]);
        assert_eq!(
            field_changes(before, after),
            [
                row(
                    ChangeKind::ResponseFieldRemoved,
                    "price",
                    Some("number"),
                    None,
                    Severity::High
                ),
                row(
                    ChangeKind::ResponseFieldRemoved,
                    "badge",
                    Some("string"),
                    None,
                    Severity::Medium
                ),
            ]
        );
    }

    #[test]
    fn a_field_of_a_new_type_is_a_high_response_field_retyped() {
        let before = item_schema(json!({"stock": {"type": "integer"}}), &["stock"]);
        let after = item_schema(json!({"stock": {"type": "string"}}), &["stock"]);
        assert_eq!(
            field_changes(before, after),
            [row(
                ChangeKind::ResponseFieldRetyped,
                "stock",
                Some("integer"),
                Some("string"),
                Severity::High
            )]
        );
    }

    #[test]
    fn becoming_nullable_and_integer_to_number_are_low_retypes() {
        let before = item_schema(
            json!({"price": {"type": "integer"}, "note": {"type": "string"}, "gone": {"type": "null"}}),
            &[],
        );
        let after = item_schema(
            json!({"price": {"type": "number"}, "note": {"type": ["string", "null"]}, "gone": {"type": "boolean"}}),
            &[],
        );
        let changes = field_changes(before, after);
        assert_eq!(changes.len(), 3, "{changes:#?}");
        assert!(changes
            .iter()
            .all(|c| c.0 == ChangeKind::ResponseFieldRetyped && c.4 == Severity::Low));
    }

    #[test]
    fn fields_under_a_retyped_or_unseen_parent_are_not_listed() {
        let before = item_schema(
            json!({
                "variants": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
                "tags": {"type": "array"}
            }),
            &[],
        );
        let after = item_schema(
            json!({
                "variants": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}}}}
            }),
            &[],
        );
        assert_eq!(
            field_changes(before, after),
            [row(
                ChangeKind::ResponseFieldRetyped,
                "variants",
                Some("array"),
                Some("string"),
                Severity::High
            )]
        );
    }

    #[test]
    fn an_object_that_became_a_map_is_one_change_not_a_field_per_key() {
        let keys: serde_json::Map<String, Value> = (0..50)
            .map(|i| (format!("sku{i}"), json!({"type": "number"})))
            .collect();
        let before = item_schema(
            json!({"prices": {"type": "object", "properties": keys}}),
            &[],
        );
        let after = item_schema(
            json!({"prices": {"type": "object", "additionalProperties": {"type": "number"}}}),
            &[],
        );
        assert!(field_changes(before, after).is_empty());
    }

    #[test]
    fn field_changes_past_the_cap_are_counted_not_listed() {
        let many: serde_json::Map<String, Value> = (0..25)
            .map(|i| (format!("field{i:02}"), json!({"type": "string"})))
            .collect();
        let before = item_schema(Value::Object(many), &["field00"]);
        let after = item_schema(json!({}), &[]);
        let drift = drift_between(&items_with(before), &items_with(after));
        assert_eq!(drift.changes.len(), MAX_FIELD_CHANGES_PER_ENDPOINT);
        assert_eq!(
            drift.omitted_changes as usize,
            25 - MAX_FIELD_CHANGES_PER_ENDPOINT
        );
        // The required field (high) is among those kept.
        assert_eq!(drift.changes[0].field.as_deref(), Some("field00"));
        assert_eq!(drift.changes[0].severity, Severity::High);
    }

    #[test]
    fn an_endpoint_without_a_json_response_in_one_scan_has_no_field_changes() {
        let before = items_with(item_schema(json!({"id": {"type": "integer"}}), &["id"]));
        let after = World::default().with_endpoint(endpoint("GET", "/api/items/{item_id}"));
        assert!(drift_between(&before, &after).changes.is_empty());
    }
}
