//! How closely a replayed body matches the captured one: the JSON shape (the set of key paths)
//! and whether the key data (ids, names, slugs) the capture held is present.

use std::collections::BTreeSet;

use serde_json::Value;

/// Keys whose values identify records; finding them again means the same data came back.
const KEY_DATA_FIELDS: &[&str] = &[
    "id", "sku", "slug", "name", "title", "code", "uuid", "handle",
];
const MAX_DEPTH: usize = 8;
/// Array elements looked at per array: enough for the shape, cheap on long lists.
const ELEMENTS_PER_ARRAY: usize = 5;
const MAX_KEY_VALUES: usize = 12;

/// Jaccard similarity of the key-path sets (arrays collapsed), blended with the share of key
/// data values found again. 1.0 is identical in shape and data.
pub fn json_similarity(captured: &Value, replayed: &Value) -> f64 {
    let (mut expected, mut found) = (BTreeSet::new(), BTreeSet::new());
    paths(captured, String::new(), 0, &mut expected);
    paths(replayed, String::new(), 0, &mut found);
    let shape = if expected.is_empty() && found.is_empty() {
        1.0
    } else {
        expected.intersection(&found).count() as f64 / expected.union(&found).count() as f64
    };
    let mut key_values = Vec::new();
    key_data(captured, 0, &mut key_values);
    if key_values.is_empty() {
        return shape;
    }
    let mut replayed_values = Vec::new();
    all_scalars(replayed, 0, &mut replayed_values);
    let present = key_values
        .iter()
        .filter(|value| replayed_values.contains(value))
        .count();
    0.7 * shape + 0.3 * (present as f64 / key_values.len() as f64)
}

/// Word-set overlap of two texts (HTML, plain text): a rough "same page" measure.
pub fn text_similarity(captured: &str, replayed: &str) -> f64 {
    let words = |text: &str| -> BTreeSet<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| word.len() >= 3)
            .take(5000)
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(captured), words(replayed));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

fn paths(value: &Value, prefix: String, depth: usize, out: &mut BTreeSet<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{prefix}.{key}");
                out.insert(path.clone());
                paths(child, path, depth + 1, out);
            }
        }
        Value::Array(items) => {
            let path = format!("{prefix}[]");
            out.insert(path.clone());
            for item in items.iter().take(ELEMENTS_PER_ARRAY) {
                paths(item, path.clone(), depth + 1, out);
            }
        }
        _ => {}
    }
}

fn key_data(value: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH || out.len() >= MAX_KEY_VALUES {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if KEY_DATA_FIELDS.contains(&key.to_ascii_lowercase().as_str()) {
                    if let Some(scalar) = scalar(child) {
                        if out.len() < MAX_KEY_VALUES && !out.contains(&scalar) {
                            out.push(scalar);
                        }
                    }
                }
                key_data(child, depth + 1, out);
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(ELEMENTS_PER_ARRAY) {
                key_data(item, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn all_scalars(value: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH + 2 {
        return;
    }
    match value {
        Value::Object(map) => map
            .values()
            .for_each(|child| all_scalars(child, depth + 1, out)),
        Value::Array(items) => items
            .iter()
            .for_each(|child| all_scalars(child, depth + 1, out)),
        other => out.extend(scalar(other)),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_shape_and_data_is_one() {
        let body = json!({"items": [{"id": 1, "name": "Lamp", "price": 12.5}], "total": 1});
        assert!((json_similarity(&body, &body) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn same_shape_other_values_keeps_the_shape_score() {
        let captured = json!({"items": [{"id": 1, "name": "Lamp"}], "total": 1});
        let replayed = json!({"items": [{"id": 2, "name": "Desk"}], "total": 9});
        let score = json_similarity(&captured, &replayed);
        assert!((0.69..0.71).contains(&score), "{score}");
    }

    #[test]
    fn an_error_object_scores_low() {
        let captured = json!({"items": [{"id": 1, "name": "Lamp"}], "total": 1});
        let replayed = json!({"error": "forbidden", "code": 403});
        assert!(json_similarity(&captured, &replayed) < 0.1);
    }

    #[test]
    fn text_overlap() {
        assert!(text_similarity("<h1>Lamp shop</h1>", "<h1>Lamp shop</h1>") > 0.99);
        assert!(text_similarity("<h1>Lamp shop</h1>", "Access denied") < 0.01);
    }
}
