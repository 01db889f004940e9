//! A JSON document borrowed from its text, for scrubbing: strings without escapes and every key
//! point into the body instead of being copied, and objects are plain lists. Most bodies hold no
//! secret and are dropped unchanged, so building a `serde_json::Value` for each (a heap string
//! per key and value, a tree node per object) was most of the scrub's time. A changed document
//! becomes a `Value` to be written, so the output is exactly what the `Value` path wrote.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

#[derive(Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in the order a `serde_json::Map` walks them: sorted by key, the last of equal
    /// keys kept (as inserting each member into the map would).
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parses `text` as `serde_json::from_str::<Value>` would, or `None` where it would fail.
    pub fn parse(text: &'a str) -> Option<Json<'a>> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let json = JsonSeed.deserialize(&mut deserializer).ok()?;
        deserializer.end().ok()?;
        Some(json)
    }

    pub fn into_value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(bool) => Value::Bool(bool),
            Json::Number(number) => Value::Number(number),
            Json::String(text) => Value::String(text.into_owned()),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::into_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .into_iter()
                    .map(|(key, item)| (key.into_owned(), item.into_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

struct JsonSeed;

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json<'de>, E> {
        // As `Value` does: a float JSON cannot hold becomes null.
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonSeed)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push((key, map.next_value_seed(JsonSeed)?));
        }
        // A stable sort keeps equal keys in document order; the last of each run is the one a
        // map keeps.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(Cow<'de, str>, Json<'de>)> = Vec::with_capacity(members.len());
        for member in members {
            match kept.last_mut() {
                Some(last) if last.0 == member.0 => *last = member,
                _ => kept.push(member),
            }
        }
        Ok(Json::Object(kept))
    }
}

/// A key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_to_what_value_parses_to() {
        for text in [
            r#"{"b":1,"a":[true,null,"x\u00e9\n"],"a":{"z":-2,"y":1.5e3},"\u0061":"dup"}"#,
            r#"[1, 18446744073709551615, -9223372036854775808, 0.1, 1e-400, "", {}]"#,
            r#""just a string""#,
            "  {\"k\" : \"v\"}  ",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let json = Json::parse(text).unwrap();
            assert_eq!(json.into_value(), value, "{text}");
        }
    }

    #[test]
    fn refuses_what_value_refuses() {
        for text in [r#"{"a":1"#, r#"{"a":1} x"#, r#""\ud800""#, "nope", ""] {
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
            assert!(Json::parse(text).is_none(), "{text}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        assert!(Json::parse(&deep).is_none());
    }

    #[test]
    fn members_walk_in_map_order_and_borrow() {
        let text = r#"{"b":"2","a":"1","b":"3"}"#;
        let Some(Json::Object(members)) = Json::parse(text) else {
            panic!("not an object");
        };
        let keys: Vec<(&str, &Json<'_>)> = members.iter().map(|(k, v)| (k.as_ref(), v)).collect();
        assert_eq!(
            keys,
            vec![
                ("a", &Json::String(Cow::Borrowed("1"))),
                ("b", &Json::String(Cow::Borrowed("3")))
            ]
        );
        assert!(members
            .iter()
            .all(|(key, _)| matches!(key, Cow::Borrowed(_))));
    }
}
