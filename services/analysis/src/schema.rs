//! JSON Schema inference: each sample gives a [`Shape`], shapes merge (commutative and
//! associative, so sample order never matters), and the merged shape becomes a JSON Schema
//! 2020-12 document that every sample validates against.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Objects with more keys than this are maps keyed by data (ids, dates): their schema is
/// `additionalProperties` instead of a property per key.
const MAX_PROPERTIES: usize = 200;

/// A string format, once seen: all samples agree, or they disagree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Format {
    /// No string seen yet.
    #[default]
    Unset,
    Known(&'static str),
    /// Strings without a common format.
    Mixed,
}

impl Format {
    fn merge(&self, other: &Format) -> Format {
        match (self, other) {
            (Format::Unset, x) | (x, Format::Unset) => x.clone(),
            (Format::Known(a), Format::Known(b)) if a == b => Format::Known(a),
            _ => Format::Mixed,
        }
    }
}

/// The union of every value seen at one place in the documents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shape {
    pub null: bool,
    pub boolean: bool,
    pub integer: bool,
    /// A non-integral number.
    pub number: bool,
    pub string: Option<Format>,
    /// Item shape of every array seen (`None` inside when only empty arrays were seen).
    pub array: Option<Option<Box<Shape>>>,
    pub object: Option<ObjectShape>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectShape {
    /// How many objects were merged here.
    pub seen: u64,
    /// Per key: its shape and in how many of those objects it appeared.
    pub fields: BTreeMap<String, (Shape, u64)>,
}

fn string_format(text: &str) -> Format {
    let b = text.as_bytes();
    let date = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..10]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if date && b.len() == 10 {
        Format::Known("date")
    } else if date && b.len() > 10 && (b[10] == b'T' || b[10] == b' ') {
        Format::Known("date-time")
    } else if b.len() == 36
        && b[8] == b'-'
        && b[13] == b'-'
        && b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
    {
        Format::Known("uuid")
    } else if text.starts_with("https://") || text.starts_with("http://") {
        Format::Known("uri")
    } else {
        Format::Mixed
    }
}

impl Shape {
    pub fn of(value: &Value) -> Shape {
        let mut shape = Shape::default();
        shape.add(value);
        shape
    }

    /// Merges one value in place: `absorb(Shape::of(value))` without building the value's
    /// own shape first (the hot path over thousands of samples).
    pub fn add(&mut self, value: &Value) {
        match value {
            Value::Null => self.null = true,
            Value::Bool(_) => self.boolean = true,
            Value::Number(n) if n.is_i64() || n.is_u64() => self.integer = true,
            Value::Number(_) => self.number = true,
            Value::String(text) => {
                let format = string_format(text);
                self.string = Some(match self.string.take() {
                    Some(current) => current.merge(&format),
                    None => format,
                });
            }
            Value::Array(items) => {
                let slot = self.array.get_or_insert(None);
                for item in items {
                    match slot {
                        Some(shape) => shape.add(item),
                        None => *slot = Some(Box::new(Shape::of(item))),
                    }
                }
            }
            Value::Object(map) => {
                let object = self.object.get_or_insert_with(ObjectShape::default);
                object.seen += 1;
                for (key, item) in map {
                    match object.fields.get_mut(key.as_str()) {
                        Some((shape, count)) => {
                            shape.add(item);
                            *count += 1;
                        }
                        None => {
                            object.fields.insert(key.clone(), (Shape::of(item), 1));
                        }
                    }
                }
            }
        }
    }

    pub fn merge(&self, other: &Shape) -> Shape {
        self.clone().merge_owned(other.clone())
    }

    /// Merges `other` into `self` without cloning `self` (the hot path over many samples).
    pub fn absorb(&mut self, other: Shape) {
        let merged = std::mem::take(self).merge_owned(other);
        *self = merged;
    }

    fn merge_owned(self, other: Shape) -> Shape {
        Shape {
            null: self.null || other.null,
            boolean: self.boolean || other.boolean,
            integer: self.integer || other.integer,
            number: self.number || other.number,
            string: match (self.string, other.string) {
                (Some(a), Some(b)) => Some(a.merge(&b)),
                (a, b) => a.or(b),
            },
            array: match (self.array, other.array) {
                (Some(a), Some(b)) => Some(match (a, b) {
                    (Some(a), Some(b)) => Some(Box::new(a.merge_owned(*b))),
                    (a, b) => a.or(b),
                }),
                (a, b) => a.or(b),
            },
            object: match (self.object, other.object) {
                (Some(mut a), Some(b)) => {
                    a.seen += b.seen;
                    for (key, (shape, count)) in b.fields {
                        match a.fields.get_mut(&key) {
                            Some(entry) => {
                                let current = std::mem::take(&mut entry.0);
                                entry.0 = current.merge_owned(shape);
                                entry.1 += count;
                            }
                            None => {
                                a.fields.insert(key, (shape, count));
                            }
                        }
                    }
                    Some(a)
                }
                (a, b) => a.or(b),
            },
        }
    }

    /// The JSON Schema (2020-12) of everything merged here.
    pub fn to_schema(&self) -> Value {
        let mut types: Vec<Value> = Vec::new();
        let mut schema = Map::new();
        if let Some(object) = &self.object {
            types.push("object".into());
            if object.fields.len() > MAX_PROPERTIES {
                let merged = object
                    .fields
                    .values()
                    .map(|(shape, _)| shape.clone())
                    .reduce(|a, b| a.merge(&b))
                    .unwrap_or_default();
                schema.insert("additionalProperties".into(), merged.to_schema());
            } else {
                let properties: Map<String, Value> = object
                    .fields
                    .iter()
                    .map(|(key, (shape, _))| (key.clone(), shape.to_schema()))
                    .collect();
                let required: Vec<Value> = object
                    .fields
                    .iter()
                    .filter(|(_, (_, count))| *count == object.seen)
                    .map(|(key, _)| Value::String(key.clone()))
                    .collect();
                schema.insert("properties".into(), Value::Object(properties));
                if !required.is_empty() {
                    schema.insert("required".into(), Value::Array(required));
                }
            }
        }
        if let Some(items) = &self.array {
            types.push("array".into());
            if let Some(items) = items {
                schema.insert("items".into(), items.to_schema());
            }
        }
        if let Some(format) = &self.string {
            types.push("string".into());
            if let Format::Known(format) = format {
                schema.insert("format".into(), (*format).into());
            }
        }
        if self.number {
            types.push("number".into());
        } else if self.integer {
            types.push("integer".into());
        }
        if self.boolean {
            types.push("boolean".into());
        }
        if self.null {
            types.push("null".into());
        }
        match types.len() {
            0 => {}
            1 => {
                schema.insert("type".into(), types.remove(0));
            }
            _ => {
                schema.insert("type".into(), Value::Array(types));
            }
        }
        Value::Object(schema)
    }

    /// Dotted paths of every object key (`items[].price`), for intent and pagination.
    pub fn field_paths(&self, out: &mut Vec<String>, prefix: &str, depth: usize) {
        if depth == 0 {
            return;
        }
        if let Some(object) = &self.object {
            if object.fields.len() <= MAX_PROPERTIES {
                for (key, (shape, _)) in &object.fields {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    out.push(path.clone());
                    shape.field_paths(out, &path, depth - 1);
                }
            }
        }
        if let Some(Some(items)) = &self.array {
            items.field_paths(out, &format!("{prefix}[]"), depth - 1);
        }
    }
}

/// Merges the shapes of many documents.
pub fn infer<'v>(values: impl IntoIterator<Item = &'v Value>) -> Option<Shape> {
    let mut merged: Option<Shape> = None;
    for value in values {
        merged.get_or_insert_with(Shape::default).add(value);
    }
    merged
}

/// A schema for an empty body.
pub fn empty_object_schema() -> Value {
    json!({"type": "object"})
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Just enough of JSON Schema validation for the keywords [`Shape::to_schema`] emits.
    pub fn validates(schema: &Value, value: &Value) -> bool {
        let type_ok = match schema.get("type") {
            None => true,
            Some(Value::String(t)) => type_matches(t, value),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| type_matches(t, value)),
            Some(_) => false,
        };
        if !type_ok {
            return false;
        }
        match value {
            Value::Object(map) => {
                let required_ok =
                    schema
                        .get("required")
                        .and_then(Value::as_array)
                        .is_none_or(|required| {
                            required
                                .iter()
                                .filter_map(Value::as_str)
                                .all(|k| map.contains_key(k))
                        });
                let properties = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties");
                required_ok
                    && map.iter().all(|(k, v)| {
                        match (properties.and_then(|p| p.get(k)), additional) {
                            (Some(sub), _) => validates(sub, v),
                            (None, Some(sub)) => validates(sub, v),
                            (None, None) => true,
                        }
                    })
            }
            Value::Array(items) => schema
                .get("items")
                .is_none_or(|sub| items.iter().all(|item| validates(sub, item))),
            _ => true,
        }
    }

    fn type_matches(t: &str, value: &Value) -> bool {
        match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            (-1000.0f64..1000.0).prop_map(|f| json!(f + 0.5)),
            "[a-z]{0,6}".prop_map(Value::String),
            Just(json!("2024-05-01")),
            Just(json!("https://shop.example/a")),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-e]", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn adding_values_in_place_equals_merging_their_shapes(samples in prop::collection::vec(json_value(), 1..8)) {
            let merged = samples.iter().map(Shape::of).reduce(|a, b| a.merge(&b));
            prop_assert_eq!(infer(&samples), merged);
        }

        #[test]
        fn every_sample_validates_against_the_merged_schema(samples in prop::collection::vec(json_value(), 1..8)) {
            let schema = infer(&samples).unwrap().to_schema();
            for sample in &samples {
                prop_assert!(validates(&schema, sample), "{sample} vs {schema}");
            }
        }

        #[test]
        fn merging_is_commutative_and_associative(a in json_value(), b in json_value(), c in json_value()) {
            let (sa, sb, sc) = (Shape::of(&a), Shape::of(&b), Shape::of(&c));
            prop_assert_eq!(sa.merge(&sb).to_schema(), sb.merge(&sa).to_schema());
            prop_assert_eq!(sa.merge(&sb).merge(&sc), sa.merge(&sb.merge(&sc)));
            let mut owned = sa.clone();
            owned.absorb(sb.clone());
            prop_assert_eq!(owned, sa.merge(&sb));
        }
    }

    #[test]
    fn required_fields_are_those_in_every_sample() {
        let samples = [
            json!({"items": [{"id": 1, "price": 19.9}], "next": 2}),
            json!({"items": [{"id": 2, "price": 20, "sale": true}], "next": null}),
            json!({"items": []}),
        ];
        let schema = infer(&samples).unwrap().to_schema();
        assert_eq!(schema["required"], json!(["items"]));
        assert_eq!(
            schema["properties"]["next"]["type"],
            json!(["integer", "null"])
        );
        assert_eq!(
            schema["properties"]["items"]["items"]["required"],
            json!(["id", "price"])
        );
        assert_eq!(
            schema["properties"]["items"]["items"]["properties"]["price"]["type"],
            "number"
        );
        for sample in &samples {
            assert!(validates(&schema, sample));
        }
        // A sample the merged schema does not describe is refused by the test validator.
        assert!(!validates(&schema, &json!({"items": "nope"})));
    }

    #[test]
    fn maps_keyed_by_data_collapse_to_additional_properties() {
        let map: Map<String, Value> = (0..300)
            .map(|i| (format!("{i}"), json!({"qty": i})))
            .collect();
        let schema = Shape::of(&Value::Object(map)).to_schema();
        assert!(schema.get("properties").is_none());
        assert_eq!(
            schema["additionalProperties"]["properties"]["qty"]["type"],
            "integer"
        );
    }
}
