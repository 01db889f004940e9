//! Reads a HAR file's outline, `{"log": {"browser", "pages", "entries": [...]}}`, handing each
//! entry to the importer as soon as it is parsed: the entries are never all held at once as
//! HAR shapes, only as the request records the importer makes of them.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::model::{Entry, HarPage, Product};

/// What the importer needs from `log` besides its entries.
pub(super) struct LogHead {
    pub(super) browser: Option<Product>,
    pub(super) pages: Vec<HarPage>,
}

/// Why an entry was refused: `on_entry`'s reason, with the entry's position.
pub(super) struct Refused {
    pub(super) index: usize,
    pub(super) reason: String,
}

/// Reads the whole file from `json`, calling `on_entry(index, entry)` for each entry in order.
/// An entry the callback refuses stops the reading; it is reported in `refused`, and the
/// error returned is only the sign that reading stopped.
pub(super) fn read<'de, D, F>(
    json: D,
    on_entry: F,
    refused: &mut Option<Refused>,
) -> Result<LogHead, D::Error>
where
    D: de::Deserializer<'de>,
    F: FnMut(usize, Entry) -> Result<(), String>,
{
    let mut entries = Entries { on_entry, refused };
    json.deserialize_map(FileVisitor {
        entries: &mut entries,
    })
}

struct Entries<'r, F> {
    on_entry: F,
    refused: &'r mut Option<Refused>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum FileField {
    Log,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum LogField {
    Browser,
    Pages,
    Entries,
    #[serde(other)]
    Other,
}

struct FileVisitor<'e, 'r, F> {
    entries: &'e mut Entries<'r, F>,
}

impl<'de, F> Visitor<'de> for FileVisitor<'_, '_, F>
where
    F: FnMut(usize, Entry) -> Result<(), String>,
{
    type Value = LogHead;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR object with a `log`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LogHead, A::Error> {
        let mut log = None;
        while let Some(field) = map.next_key::<FileField>()? {
            match field {
                FileField::Log if log.is_some() => return Err(de::Error::duplicate_field("log")),
                FileField::Log => {
                    log = Some(map.next_value_seed(LogSeed {
                        entries: &mut *self.entries,
                    })?)
                }
                FileField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        log.ok_or_else(|| de::Error::missing_field("log"))
    }
}

struct LogSeed<'e, 'r, F> {
    entries: &'e mut Entries<'r, F>,
}

impl<'de, F> DeserializeSeed<'de> for LogSeed<'_, '_, F>
where
    F: FnMut(usize, Entry) -> Result<(), String>,
{
    type Value = LogHead;

    fn deserialize<D: de::Deserializer<'de>>(self, json: D) -> Result<LogHead, D::Error> {
        json.deserialize_map(self)
    }
}

impl<'de, F> Visitor<'de> for LogSeed<'_, '_, F>
where
    F: FnMut(usize, Entry) -> Result<(), String>,
{
    type Value = LogHead;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct Log")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LogHead, A::Error> {
        let mut browser = None;
        let mut pages = None;
        let mut has_entries = false;
        while let Some(field) = map.next_key::<LogField>()? {
            match field {
                // `null` reads as no browser and no pages, as every optional field does.
                LogField::Browser => browser = map.next_value::<Option<Product>>()?,
                LogField::Pages => pages = map.next_value::<Option<Vec<HarPage>>>()?,
                LogField::Entries if has_entries => {
                    return Err(de::Error::duplicate_field("entries"))
                }
                LogField::Entries => {
                    map.next_value_seed(EntriesSeed {
                        entries: &mut *self.entries,
                    })?;
                    has_entries = true;
                }
                LogField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !has_entries {
            return Err(de::Error::missing_field("entries"));
        }
        Ok(LogHead {
            browser,
            pages: pages.unwrap_or_default(),
        })
    }
}

struct EntriesSeed<'e, 'r, F> {
    entries: &'e mut Entries<'r, F>,
}

impl<'de, F> DeserializeSeed<'de> for EntriesSeed<'_, '_, F>
where
    F: FnMut(usize, Entry) -> Result<(), String>,
{
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, json: D) -> Result<(), D::Error> {
        json.deserialize_seq(self)
    }
}

impl<'de, F> Visitor<'de> for EntriesSeed<'_, '_, F>
where
    F: FnMut(usize, Entry) -> Result<(), String>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(entry) = seq.next_element::<Entry>()? {
            if let Err(reason) = (self.entries.on_entry)(index, entry) {
                *self.entries.refused = Some(Refused { index, reason });
                return Err(de::Error::custom("an entry was refused"));
            }
            index += 1;
        }
        Ok(())
    }
}
