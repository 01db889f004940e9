//! A response JSON Schema (2020-12) flattened into field paths and their types
//! (`items[].price: number`), so two scans' schemas compare path by path.
//!
//! Paths: `$` is the body, object keys join with dots, `[]` is an array's items and `*` the
//! values of a map (`additionalProperties`). `anyOf`/`oneOf`/`allOf` alternatives and type
//! arrays (`["integer", "null"]`) merge into one type set per path; a field is required when
//! every alternative that has it requires it. Depth and field count are bounded, so a hostile
//! site's schema costs linear time.

use std::collections::BTreeMap;

use serde_json::Value;

/// Schema nesting followed (alternatives count as a level).
const MAX_DEPTH: usize = 32;
/// Fields kept per schema; past it the schema is marked truncated.
pub const MAX_FIELDS: usize = 2_000;

/// A set of JSON types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Types(u8);

impl Types {
    pub const OBJECT: Types = Types(1);
    pub const ARRAY: Types = Types(1 << 1);
    pub const STRING: Types = Types(1 << 2);
    pub const NUMBER: Types = Types(1 << 3);
    pub const INTEGER: Types = Types(1 << 4);
    pub const BOOLEAN: Types = Types(1 << 5);
    pub const NULL: Types = Types(1 << 6);
    /// In schema order, as [`Types::words`] lists them.
    const NAMES: [(Types, &'static str); 7] = [
        (Types::OBJECT, "object"),
        (Types::ARRAY, "array"),
        (Types::STRING, "string"),
        (Types::NUMBER, "number"),
        (Types::INTEGER, "integer"),
        (Types::BOOLEAN, "boolean"),
        (Types::NULL, "null"),
    ];

    fn named(name: &str) -> Types {
        Types::NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map_or(Types::default(), |(types, _)| *types)
    }

    pub fn union(self, other: Types) -> Types {
        Types(self.0 | other.0)
    }

    pub fn without(self, other: Types) -> Types {
        Types(self.0 & !other.0)
    }

    pub fn contains(self, other: Types) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `integer | null`.
    pub fn words(self) -> String {
        Types::NAMES
            .iter()
            .filter(|(types, _)| self.contains(*types))
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// How a field hangs off its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Root,
    Property,
    MapValue,
    Items,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub types: Types,
    /// The parent object requires it (items and the body count as required).
    pub required: bool,
    /// The parent's path; `None` for the body.
    pub parent: Option<String>,
    pub via: Via,
    /// An item schema was seen (arrays captured only empty have none).
    pub items_known: bool,
    /// Its object values are a map keyed by data (`additionalProperties`).
    pub map: bool,
}

impl Field {
    /// Whether children reached `via` this field can be compared with the other scan's.
    pub fn children_comparable(&self, other: &Field, via: Via) -> bool {
        match via {
            Via::Root => true,
            Via::Items => {
                self.types.contains(Types::ARRAY)
                    && other.types.contains(Types::ARRAY)
                    && self.items_known
                    && other.items_known
            }
            Via::Property | Via::MapValue => {
                self.types.contains(Types::OBJECT)
                    && other.types.contains(Types::OBJECT)
                    && self.map == other.map
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub fields: BTreeMap<String, Field>,
    /// More than [`MAX_FIELDS`] fields: the ones past the cap are missing.
    pub truncated: bool,
}

impl Fields {
    pub fn of(schema: &Value) -> Fields {
        let mut fields = Fields::default();
        fields.visit(
            schema,
            Place {
                path: "$".to_owned(),
                parent: None,
                via: Via::Root,
                required: true,
            },
            0,
        );
        fields
    }

    fn visit(&mut self, schema: &Value, place: Place, depth: usize) {
        let Value::Object(schema) = schema else {
            return;
        };
        if depth > MAX_DEPTH {
            return;
        }
        if !self.fields.contains_key(&place.path) && self.fields.len() >= MAX_FIELDS {
            self.truncated = true;
            return;
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let map_values = schema
            .get("additionalProperties")
            .filter(|values| values.is_object());
        let items: Vec<&Value> = match (schema.get("items"), schema.get("prefixItems")) {
            (Some(Value::Array(tuple)), _) | (None, Some(Value::Array(tuple))) => {
                tuple.iter().collect()
            }
            (Some(items), _) => vec![items],
            (None, _) => Vec::new(),
        };
        let mut types = match schema.get("type") {
            Some(Value::String(name)) => Types::named(name),
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .fold(Types::default(), |types, name| {
                    types.union(Types::named(name))
                }),
            _ => Types::default(),
        };
        if schema.get("type").is_none() {
            if properties.is_some() || map_values.is_some() {
                types = types.union(Types::OBJECT);
            }
            if !items.is_empty() {
                types = types.union(Types::ARRAY);
            }
        }
        let field = self
            .fields
            .entry(place.path.clone())
            .or_insert_with(|| Field {
                types: Types::default(),
                required: place.required,
                parent: place.parent.clone(),
                via: place.via,
                items_known: false,
                map: false,
            });
        field.types = field.types.union(types);
        field.required &= place.required;
        field.items_known |= !items.is_empty();
        field.map |= map_values.is_some() && properties.is_none();

        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (key, property) in properties.into_iter().flatten() {
            let child = place.child(key, Via::Property, required.contains(&key.as_str()));
            self.visit(property, child, depth + 1);
        }
        if let Some(values) = map_values {
            self.visit(values, place.child("*", Via::MapValue, false), depth + 1);
        }
        for item in items {
            self.visit(item, place.child("[]", Via::Items, true), depth + 1);
        }
        for keyword in ["anyOf", "oneOf", "allOf"] {
            let alternatives = schema.get(keyword).and_then(Value::as_array);
            for alternative in alternatives.into_iter().flatten() {
                self.visit(alternative, place.clone(), depth + 1);
            }
        }
    }
}

/// Where a schema sits: its path, its parent and whether the parent requires it.
#[derive(Debug, Clone)]
struct Place {
    path: String,
    parent: Option<String>,
    via: Via,
    required: bool,
}

impl Place {
    fn child(&self, key: &str, via: Via, required: bool) -> Place {
        let path = match (self.path.as_str(), via) {
            ("$", Via::Items) => "[]".to_owned(),
            ("$", _) => key.to_owned(),
            (parent, Via::Items) => format!("{parent}[]"),
            (parent, _) => format!("{parent}.{key}"),
        };
        Place {
            path,
            parent: Some(self.path.clone()),
            via,
            required,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn types_of(fields: &Fields) -> Vec<(&str, String, bool)> {
        fields
            .fields
            .iter()
            .map(|(path, field)| (path.as_str(), field.types.words(), field.required))
            .collect()
    }

    #[test]
    fn objects_and_arrays_flatten_to_dotted_paths_with_required_flags() {
        let schema = json!({
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "price": {"type": "number"}},
                    "required": ["id"]
                }},
                "next": {"type": ["integer", "null"]}
            },
            "required": ["items"],
            "examples": [{"items": []}]
        });
        assert_eq!(
            types_of(&Fields::of(&schema)),
            [
                ("$", "object".to_owned(), true),
                ("items", "array".to_owned(), true),
                ("items[]", "object".to_owned(), true),
                ("items[].id", "integer".to_owned(), true),
                ("items[].price", "number".to_owned(), false),
                ("next", "integer | null".to_owned(), false),
            ]
        );
    }

    #[test]
    fn alternatives_merge_their_types_and_require_only_what_all_require() {
        let schema = json!({
            "anyOf": [
                {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
                {"type": "object", "properties": {"id": {"type": "integer"}}},
                {"type": "null"}
            ]
        });
        let fields = Fields::of(&schema);
        assert_eq!(fields.fields["$"].types.words(), "object | null");
        assert_eq!(fields.fields["id"].types.words(), "string | integer");
        assert!(!fields.fields["id"].required);
        let one_of =
            json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "boolean"}}]});
        assert_eq!(
            types_of(&Fields::of(&one_of)),
            [
                ("$", "array | string".to_owned(), true),
                ("[]", "boolean".to_owned(), true),
            ]
        );
    }

    #[test]
    fn maps_and_unknown_items_are_marked() {
        let schema = json!({
            "properties": {
                "prices": {"type": "object", "additionalProperties": {"type": "number"}},
                "tags": {"type": "array"}
            }
        });
        let fields = Fields::of(&schema);
        assert_eq!(fields.fields["$"].types.words(), "object");
        assert!(fields.fields["prices"].map);
        assert_eq!(fields.fields["prices.*"].types.words(), "number");
        assert!(!fields.fields["tags"].items_known);
    }

    #[test]
    fn nesting_and_width_are_bounded() {
        let mut deep = json!({"type": "string"});
        for _ in 0..100 {
            deep = json!({"type": "object", "properties": {"a": deep}});
        }
        assert!(Fields::of(&deep).fields.len() <= MAX_DEPTH + 1);

        let wide: serde_json::Map<String, Value> = (0..MAX_FIELDS + 10)
            .map(|i| (format!("f{i}"), json!({"type": "integer"})))
            .collect();
        let fields = Fields::of(&json!({"type": "object", "properties": wide}));
        assert_eq!(fields.fields.len(), MAX_FIELDS);
        assert!(fields.truncated);
    }
}
