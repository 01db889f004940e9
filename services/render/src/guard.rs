//! A last line of defence: the report and the OpenAPI document are built from stage results, and
//! every string in them passes the scrubber before it is stored or shown: URL-like fields (paths,
//! templates, URLs) through the URL scrubber (`;jsessionid=…`, `?token=…`), everything through
//! the shape scrubber (JWTs, key shapes, emails). Earlier stages already redact; whatever slips
//! through one of them is still caught here.

use recon_contracts::Inventory;
use recon_redaction::secrets::scrub_shapes_standalone;
use recon_redaction::Scrubber;
use serde_json::Value;

/// Fields that hold a URL or a path.
const URL_FIELDS: [&str; 5] = ["url", "path", "path_template", "target_url", "host"];

pub fn scrub_value(value: &mut Value) {
    let mut scrubber = Scrubber::default();
    walk(value, None, &mut scrubber);
}

fn walk(value: &mut Value, key: Option<&str>, scrubber: &mut Scrubber) {
    match value {
        Value::String(text) => {
            let mut scrubbed = if key.is_some_and(|k| URL_FIELDS.contains(&k)) {
                scrubber.url(text)
            } else {
                text.clone()
            };
            scrubbed = scrub_shapes_standalone(&scrubbed, false);
            if scrubbed != *text {
                *text = scrubbed;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, key, scrubber)),
        Value::Object(map) => {
            for (name, item) in map.iter_mut() {
                walk(item, Some(name), scrubber);
            }
        }
        _ => {}
    }
}

/// Round-trips `item` through JSON with every string scrubbed; `None` if it cannot.
pub fn scrubbed<T: serde::Serialize + serde::de::DeserializeOwned>(item: &T) -> Option<T> {
    let mut value = serde_json::to_value(item).ok()?;
    scrub_value(&mut value);
    serde_json::from_value(value).ok()
}

/// The inventory with its paths scrubbed, so the OpenAPI document's path keys are clean too.
pub fn clean_inventory(inventory: &Inventory) -> Inventory {
    scrubbed(inventory).unwrap_or_default()
}
