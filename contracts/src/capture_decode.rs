//! The one way a server reads a capture: JSON parsed under [`CaptureBounds`], refused the moment
//! a bound is crossed, then checked ([`Capture::validate`]). The api decodes uploads with it and
//! every stage decodes the stored copy with it, so no role ever holds more of a capture than
//! the bounds allow. JSON in memory is parsed in place ([`decode_capture`]); JSON still to be
//! inflated is read under its decoded-bytes bound and parsed in place when small, as it is read
//! when large ([`decode_capture_from_reader`]).
//!
//! The bounds are counted by a wrapper around the JSON deserializer that sees every value the
//! derived `Deserialize` impls ask for: strings (count and length), arrays and objects
//! (nesting), and the elements of the lists that have a bound of their own, found by struct
//! and field name ([`field_slot`]). Unknown fields are still skipped, but through the wrapper,
//! so they count too.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{self, BufReader, Read};

use serde::de::value::CowStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde::Deserialize;

use crate::capture_bounds::{CaptureBounds, Limit, LimitExceeded};
use crate::{Capture, CaptureError};

/// Why a capture was refused.
#[derive(Debug, thiserror::Error)]
pub enum CaptureDecodeError {
    /// Too large in one dimension, or nested too deep.
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    /// Not JSON, or not the shape of a capture.
    #[error("{0}")]
    Json(serde_json::Error),
    /// The JSON could not be read (e.g. its gzip stream is corrupt).
    #[error("{0}")]
    Read(serde_json::Error),
    /// Well-formed, but fails the capture checks (version, URLs, ids).
    #[error(transparent)]
    Invalid(#[from] CaptureError),
}

/// Parses and checks a capture's JSON within `bounds`.
pub fn decode_capture(json: &[u8], bounds: &CaptureBounds) -> Result<Capture, CaptureDecodeError> {
    let budget = Budget::new(bounds);
    budget.decoded(json.len() as u64)?;
    decode_with(serde_json::Deserializer::from_slice(json), &budget)
}

/// Reads the capture's JSON that `reader` yields, never past the decoded-bytes bound (past it
/// the read fails, so an inflating reader never yields more), then parses and checks it like
/// [`decode_capture`]. `size_hint` is the JSON's expected length, when known (the gzip trailer
/// says it), to read it into one allocation.
///
/// JSON of up to an eighth of the decoded-bytes bound ([`in_place_max`]) is read whole and parsed
/// in place: serde_json reads a stream a byte at a time, several times slower than scanning the
/// same JSON in memory. Larger JSON is parsed as it is read, after those first bytes, so holding
/// the JSON beside the capture it becomes never costs more than that eighth, memory an operator
/// provisions with the bound.
pub fn decode_capture_from_reader<R: Read>(
    reader: R,
    size_hint: usize,
    bounds: &CaptureBounds,
) -> Result<Capture, CaptureDecodeError> {
    let budget = Budget::new(bounds);
    let mut metered = Metered {
        inner: reader,
        budget: &budget,
        read: 0,
    };
    // One byte more than the JSON, so reading its end finds no full buffer to grow.
    let in_place = in_place_max(bounds);
    let capacity = size_hint
        .saturating_add(1)
        .clamp(READ_BUFFER, in_place.saturating_add(1).max(READ_BUFFER));
    let mut head = Vec::with_capacity(capacity);
    let read = (&mut metered)
        .take(in_place as u64 + 1)
        .read_to_end(&mut head);
    if let Err(err) = read {
        return Err(match budget.exceeded.get() {
            Some(exceeded) => CaptureDecodeError::Limit(exceeded),
            None => CaptureDecodeError::Read(serde_json::Error::io(err)),
        });
    }
    if head.len() <= in_place {
        drop(metered);
        return decode_with(serde_json::Deserializer::from_slice(&head), &budget);
    }
    let rest = io::Cursor::new(head).chain(metered);
    let buffered = BufReader::with_capacity(READ_BUFFER, rest);
    decode_with(serde_json::Deserializer::from_reader(buffered), &budget)
}

/// The most JSON [`decode_capture_from_reader`] parses in place under `bounds`: an eighth of the
/// decoded-bytes bound, 32 MiB by default (captures of tens of thousands of requests).
pub fn in_place_max(bounds: &CaptureBounds) -> usize {
    usize::try_from(bounds.max(Limit::DecodedBytes) / 8).unwrap_or(usize::MAX)
}

/// The smallest first allocation for the JSON; it doubles as it fills.
const READ_BUFFER: usize = 64 << 10;

fn decode_with<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
    budget: &Budget,
) -> Result<Capture, CaptureDecodeError> {
    let parsed = Capture::deserialize(Bounded {
        inner: &mut deserializer,
        budget,
        slot: Slot::Plain,
    })
    .and_then(|capture| deserializer.end().map(|()| capture));
    let capture = parsed.map_err(|err| match budget.exceeded.get() {
        Some(exceeded) => CaptureDecodeError::Limit(exceeded),
        None if err.is_io() => CaptureDecodeError::Read(err),
        None => CaptureDecodeError::Json(err),
    })?;
    capture.validate()?;
    Ok(capture)
}

/// A reader that counts the JSON it yields against [`Limit::DecodedBytes`].
struct Metered<'a, R> {
    inner: R,
    budget: &'a Budget,
    read: u64,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.read = self.read.saturating_add(count as u64);
        self.budget.decoded(self.read).map_err(io::Error::other)?;
        Ok(count)
    }
}

/// What a value is to the bounds beyond being a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Plain,
    /// A list whose length the limit bounds.
    List(Limit),
    /// A body's `data`: longer than other strings may be.
    BodyData,
}

/// The fields of the capture format with a bound of their own, by the names serde gives them.
/// Each is tested to fire in this module's tests, so a renamed field cannot slip out.
fn field_slot(struct_name: Option<&'static str>, field: &str) -> Slot {
    let Some(struct_name) = struct_name else {
        return Slot::Plain;
    };
    match (struct_name, field) {
        ("Capture", "requests") => Slot::List(Limit::Requests),
        ("Capture", "pages") => Slot::List(Limit::Pages),
        ("Capture", "cookies") => Slot::List(Limit::Cookies),
        ("Capture", "streams") => Slot::List(Limit::Streams),
        ("RequestRecord", "request_headers") | ("ResponseRecord", "headers") => {
            Slot::List(Limit::HeadersPerRequest)
        }
        ("StreamSummary", "samples") => Slot::List(Limit::SamplesPerStream),
        ("Body", "data") => Slot::BodyData,
        _ => Slot::Plain,
    }
}

/// The counters of one decode, shared by every wrapper in it.
struct Budget {
    bounds: CaptureBounds,
    strings: Cell<u64>,
    samples: Cell<u64>,
    depth: Cell<u64>,
    /// The first limit crossed: the parse error it causes carries only text.
    exceeded: Cell<Option<LimitExceeded>>,
}

impl Budget {
    fn new(bounds: &CaptureBounds) -> Budget {
        Budget {
            bounds: bounds.clone(),
            strings: Cell::new(0),
            samples: Cell::new(0),
            depth: Cell::new(0),
            exceeded: Cell::new(None),
        }
    }

    fn refuse<E: de::Error>(&self, limit: Limit) -> E {
        E::custom(self.crossed(limit))
    }

    /// Records `limit` as crossed, unless another was first.
    fn crossed(&self, limit: Limit) -> LimitExceeded {
        let exceeded = LimitExceeded {
            limit,
            max: self.bounds.max(limit),
        };
        if self.exceeded.get().is_none() {
            self.exceeded.set(Some(exceeded));
        }
        exceeded
    }

    /// Checks the bytes of JSON read so far.
    fn decoded(&self, bytes: u64) -> Result<(), LimitExceeded> {
        let limit = Limit::DecodedBytes;
        if bytes > self.bounds.max(limit) {
            return Err(self.crossed(limit));
        }
        Ok(())
    }

    fn check<E: de::Error>(&self, limit: Limit, value: u64) -> Result<(), E> {
        if value > self.bounds.max(limit) {
            return Err(self.refuse(limit));
        }
        Ok(())
    }

    fn count<E: de::Error>(&self, counter: &Cell<u64>, limit: Limit) -> Result<(), E> {
        let value = counter.get().saturating_add(1);
        counter.set(value);
        self.check(limit, value)
    }

    fn string<E: de::Error>(&self, len: usize, slot: Slot) -> Result<(), E> {
        self.count(&self.strings, Limit::Strings)?;
        let limit = match slot {
            Slot::BodyData => Limit::BodyBytes,
            Slot::Plain | Slot::List(_) => Limit::StringBytes,
        };
        self.check(limit, len as u64)
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        self.count(&self.depth, Limit::Nesting)
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }
}

/// A deserializer whose every visitor reports to the budget.
struct Bounded<'a, D> {
    inner: D,
    budget: &'a Budget,
    slot: Slot,
}

impl<'a, D> Bounded<'a, D> {
    fn wrap<V>(&self, visitor: V, struct_name: Option<&'static str>) -> Wrap<'a, V> {
        Wrap {
            visitor,
            budget: self.budget,
            slot: self.slot,
            struct_name,
        }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                let visitor = self.wrap(visitor, None);
                self.inner.$method(visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, None);
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, None);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, None);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, None);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, Some(name));
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, None);
        self.inner.deserialize_enum(name, variants, visitor)
    }

    /// Unknown fields are read value by value, not skipped wholesale, so their strings and
    /// nesting count like any other.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, None);
        self.inner.deserialize_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor that reports what it is given to the budget, then hands it on.
struct Wrap<'a, V> {
    visitor: V,
    budget: &'a Budget,
    slot: Slot,
    /// Set when the visitor builds a struct: its fields are looked up in [`field_slot`].
    struct_name: Option<&'static str>,
}

macro_rules! forward_visit {
    ($($method:ident($type:ty))*) => {
        $(
            fn $method<E: de::Error>(self, value: $type) -> Result<V::Value, E> {
                self.visitor.$method(value)
            }
        )*
    };
}

macro_rules! counted_visit {
    ($($method:ident($type:ty))*) => {
        $(
            fn $method<E: de::Error>(self, value: $type) -> Result<V::Value, E> {
                self.budget.string(value.len(), self.slot)?;
                self.visitor.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char)
    }

    counted_visit! {
        visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Bounded {
            inner: deserializer,
            budget: self.budget,
            slot: self.slot,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Bounded {
            inner: deserializer,
            budget: self.budget,
            slot: self.slot,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        // A struct written as an array would dodge the per-field bounds: captures are objects.
        if self.struct_name.is_some() {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        self.budget.enter()?;
        let list = match self.slot {
            Slot::List(limit) => Some(limit),
            Slot::Plain | Slot::BodyData => None,
        };
        let value = self.visitor.visit_seq(BoundedSeq {
            inner: seq,
            budget: self.budget,
            list,
            len: 0,
        })?;
        self.budget.leave();
        Ok(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.budget.enter()?;
        let value = self.visitor.visit_map(BoundedMap {
            inner: map,
            budget: self.budget,
            struct_name: self.struct_name,
            value_slot: Slot::Plain,
        })?;
        self.budget.leave();
        Ok(value)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(BoundedEnum {
            inner: data,
            budget: self.budget,
        })
    }
}

/// A seed whose deserializer is [`Bounded`].
struct BoundedSeed<'a, S> {
    seed: S,
    budget: &'a Budget,
    slot: Slot,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for BoundedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Bounded {
            inner: deserializer,
            budget: self.budget,
            slot: self.slot,
        })
    }
}

struct BoundedSeq<'a, A> {
    inner: A,
    budget: &'a Budget,
    /// The bound on this list's length, when it has one.
    list: Option<Limit>,
    len: u64,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for BoundedSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let element = self.inner.next_element_seed(BoundedSeed {
            seed,
            budget: self.budget,
            slot: Slot::Plain,
        })?;
        if element.is_some() {
            self.len += 1;
            if let Some(limit) = self.list {
                self.budget.check(limit, self.len)?;
                if limit == Limit::SamplesPerStream {
                    self.budget.count(&self.budget.samples, Limit::Samples)?;
                }
            }
        }
        Ok(element)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct BoundedMap<'a, A> {
    inner: A,
    budget: &'a Budget,
    struct_name: Option<&'static str>,
    /// The slot of the value after the key just read.
    value_slot: Slot,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for BoundedMap<'_, A> {
    type Error = A::Error;

    /// Reads the key as text first, to know which field comes, then hands that text to `seed`.
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.inner.next_key_seed(KeyText)? else {
            return Ok(None);
        };
        self.budget.check(Limit::StringBytes, key.len() as u64)?;
        self.value_slot = field_slot(self.struct_name, &key);
        seed.deserialize(CowStrDeserializer::new(key)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let slot = std::mem::replace(&mut self.value_slot, Slot::Plain);
        self.inner.next_value_seed(BoundedSeed {
            seed,
            budget: self.budget,
            slot,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// An object key as text, borrowed from the input when it can be.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

struct BoundedEnum<'a, A> {
    inner: A,
    budget: &'a Budget,
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for BoundedEnum<'a, A> {
    type Error = A::Error;
    type Variant = BoundedVariant<'a, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(BoundedSeed {
            seed,
            budget: self.budget,
            slot: Slot::Plain,
        })?;
        Ok((
            value,
            BoundedVariant {
                inner: variant,
                budget: self.budget,
            },
        ))
    }
}

struct BoundedVariant<'a, A> {
    inner: A,
    budget: &'a Budget,
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for BoundedVariant<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.newtype_variant_seed(BoundedSeed {
            seed,
            budget: self.budget,
            slot: Slot::Plain,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner.tuple_variant(
            len,
            Wrap {
                visitor,
                budget: self.budget,
                slot: Slot::Plain,
                struct_name: None,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner.struct_variant(
            fields,
            Wrap {
                visitor,
                budget: self.budget,
                slot: Slot::Plain,
                struct_name: None,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::capture::tests::sample_capture;
    use crate::{Body, Cookie, Header, Page, StreamKind, StreamSummary};

    /// A capture with a different count in every dimension: 5 requests, 4 pages, 6 cookies,
    /// 3 streams of up to 4 samples (9 in all), 9 headers on the busiest request.
    fn rich_capture() -> Capture {
        let mut capture = sample_capture();
        let request = capture.requests[0].clone();
        capture.requests = (0..5)
            .map(|index| {
                let mut request = request.clone();
                request.id = format!("req-{index}");
                request
            })
            .collect();
        capture.requests[2].request_headers = (0..9)
            .map(|index| Header::new(format!("x-h{index}"), "v"))
            .collect();
        let page = capture.pages[0].clone();
        capture.pages = (0..4)
            .map(|index| Page {
                id: format!("page-{index}"),
                ..page.clone()
            })
            .collect();
        let cookie = capture.cookies[0].clone();
        capture.cookies = (0..6)
            .map(|index| Cookie {
                name: format!("c{index}"),
                ..cookie.clone()
            })
            .collect();
        capture.streams = [2, 4, 3]
            .into_iter()
            .map(|samples| StreamSummary {
                kind: StreamKind::WebSocket,
                url: "wss://shop.example/live".into(),
                messages_sent: 0,
                messages_received: samples,
                samples: (0..samples).map(|index| format!("m{index}")).collect(),
            })
            .collect();
        capture
    }

    fn json(capture: &Capture) -> Vec<u8> {
        serde_json::to_vec(capture).unwrap()
    }

    /// Both decoders: from memory, and from a reader handing out a few bytes at a time.
    fn decoders() -> [(&'static str, Decoder); 2] {
        [
            ("in memory", decode_capture),
            ("from a reader", |json, bounds| {
                decode_capture_from_reader(Trickle(json), 0, bounds)
            }),
        ]
    }

    type Decoder = fn(&[u8], &CaptureBounds) -> Result<Capture, CaptureDecodeError>;

    /// Yields at most 7 bytes a read, so reads end mid-token.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let count = buffer.len().min(self.0.len()).min(7);
            buffer[..count].copy_from_slice(&self.0[..count]);
            self.0 = &self.0[count..];
            Ok(count)
        }
    }

    /// Decodes with `limit` at `at` (accepted) and at `at - 1` (refused, naming the limit), with
    /// both decoders.
    fn assert_bound(json: &[u8], limit: Limit, at: u64) {
        for (how, decode) in decoders() {
            let bounds = CaptureBounds::default().with(limit, at);
            if let Err(err) = decode(json, &bounds) {
                panic!("{how}, {limit} at {at}: refused with {err}");
            }
            let bounds = CaptureBounds::default().with(limit, at - 1);
            match decode(json, &bounds) {
                Err(CaptureDecodeError::Limit(exceeded)) => {
                    assert_eq!(exceeded, LimitExceeded { limit, max: at - 1 }, "{how}");
                    let message = CaptureDecodeError::Limit(exceeded).to_string();
                    assert!(message.contains(limit.as_str()), "{how}: {message}");
                }
                other => panic!(
                    "{how}, {limit} at {}: expected a refusal, got {other:?}",
                    at - 1
                ),
            }
        }
    }

    /// JSON strings in a value, object keys not counted: what [`Limit::Strings`] counts.
    fn strings_in(value: &Value) -> u64 {
        match value {
            Value::String(_) => 1,
            Value::Array(items) => items.iter().map(strings_in).sum(),
            Value::Object(fields) => fields.values().map(strings_in).sum(),
            _ => 0,
        }
    }

    fn depth_of(value: &Value) -> u64 {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
            Value::Object(fields) => 1 + fields.values().map(depth_of).max().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn decodes_what_plain_serde_decodes() {
        let capture = rich_capture();
        for (how, decode) in decoders() {
            let decoded = decode(&json(&capture), &CaptureBounds::default()).unwrap();
            assert_eq!(decoded, capture, "{how}");
        }
    }

    #[test]
    fn json_past_the_in_place_size_is_parsed_as_it_is_read_to_the_same_capture() {
        let capture = rich_capture();
        let bounds = CaptureBounds::default();
        let mut padded = vec![b' '; in_place_max(&bounds) + 4096];
        padded.extend(json(&capture));
        let streamed = decode_capture_from_reader(Trickle(&padded), 0, &bounds).unwrap();
        assert_eq!(streamed, capture);
        let tight = bounds.with(Limit::DecodedBytes, padded.len() as u64 - 1);
        let err = decode_capture_from_reader(&padded[..], padded.len(), &tight).unwrap_err();
        assert!(
            matches!(
                err,
                CaptureDecodeError::Limit(LimitExceeded {
                    limit: Limit::DecodedBytes,
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_reader_is_a_read_error() {
        struct Broken;
        impl std::io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("corrupt deflate stream"))
            }
        }
        let err = decode_capture_from_reader(Broken, 0, &CaptureBounds::default()).unwrap_err();
        assert!(matches!(err, CaptureDecodeError::Read(_)), "{err:?}");
        assert!(err.to_string().contains("corrupt deflate stream"), "{err}");
    }

    #[test]
    fn a_reader_stops_at_the_decoded_bytes_bound_however_much_more_it_has() {
        let bounds = CaptureBounds::default().with(Limit::DecodedBytes, 1_000);
        let endless = std::io::repeat(b' ');
        let err = decode_capture_from_reader(endless, usize::MAX, &bounds).unwrap_err();
        assert!(
            matches!(
                err,
                CaptureDecodeError::Limit(LimitExceeded {
                    limit: Limit::DecodedBytes,
                    max: 1_000
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn decoded_bytes_are_bounded() {
        let json = json(&rich_capture());
        assert_bound(&json, Limit::DecodedBytes, json.len() as u64);
    }

    #[test]
    fn requests_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::Requests, 5);
    }

    #[test]
    fn pages_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::Pages, 4);
    }

    #[test]
    fn cookies_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::Cookies, 6);
    }

    #[test]
    fn streams_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::Streams, 3);
    }

    #[test]
    fn request_headers_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::HeadersPerRequest, 9);
    }

    #[test]
    fn response_headers_are_bounded() {
        let mut capture = rich_capture();
        if let Some(response) = capture.requests[4].response.as_mut() {
            response.headers = (0..12)
                .map(|index| Header::new(format!("x-r{index}"), "v"))
                .collect();
        }
        assert_bound(&json(&capture), Limit::HeadersPerRequest, 12);
    }

    #[test]
    fn samples_per_stream_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::SamplesPerStream, 4);
    }

    #[test]
    fn samples_in_all_are_bounded() {
        assert_bound(&json(&rich_capture()), Limit::Samples, 9);
    }

    #[test]
    fn strings_are_bounded() {
        let capture = rich_capture();
        let value = serde_json::to_value(&capture).unwrap();
        assert_bound(&json(&capture), Limit::Strings, strings_in(&value));
    }

    #[test]
    fn one_string_is_bounded() {
        let mut capture = rich_capture();
        capture.requests[1].request_headers[0].value = "v".repeat(5_000);
        assert_bound(&json(&capture), Limit::StringBytes, 5_000);
    }

    #[test]
    fn object_keys_are_bounded_like_strings() {
        let mut value = serde_json::to_value(rich_capture()).unwrap();
        value["k".repeat(5_000)] = Value::Bool(true);
        let json = serde_json::to_vec(&value).unwrap();
        assert_bound(&json, Limit::StringBytes, 5_000);
    }

    #[test]
    fn one_body_is_bounded_by_its_own_limit() {
        let mut capture = rich_capture();
        capture.requests[3].post_data = Some(Body::text("b".repeat(10_000)));
        let json = json(&capture);
        assert_bound(&json, Limit::BodyBytes, 10_000);
        // Bodies may be longer than other strings.
        let bounds = CaptureBounds::default().with(Limit::StringBytes, 100);
        decode_capture(&json, &bounds).unwrap();
    }

    #[test]
    fn nesting_is_bounded_in_unknown_fields_too() {
        let mut value = serde_json::to_value(rich_capture()).unwrap();
        value["extension"] = serde_json::from_str("[[[[[[[[[[\"deep\"]]]]]]]]]]").unwrap();
        let depth = depth_of(&value);
        assert_eq!(depth, 11);
        let json = serde_json::to_vec(&value).unwrap();
        assert_bound(&json, Limit::Nesting, depth);
        assert!(Limit::Nesting.is_shape());
    }

    #[test]
    fn unknown_fields_count_their_strings() {
        let mut value = serde_json::to_value(rich_capture()).unwrap();
        value["extension"] = Value::Array(vec![Value::String(String::new()); 50]);
        let strings = strings_in(&value);
        let json = serde_json::to_vec(&value).unwrap();
        assert_bound(&json, Limit::Strings, strings);
    }

    #[test]
    fn a_million_empty_samples_stop_at_the_first_one_over() {
        let mut value = serde_json::to_value(rich_capture()).unwrap();
        value["streams"][0]["samples"] =
            Value::Array(vec![Value::String(String::new()); 1_000_000]);
        let json = serde_json::to_vec(&value).unwrap();
        let err = decode_capture(&json, &CaptureBounds::default()).unwrap_err();
        assert!(
            matches!(
                err,
                CaptureDecodeError::Limit(LimitExceeded {
                    limit: Limit::SamplesPerStream,
                    max: 100
                })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_capture_written_as_an_array_is_refused() {
        // Positional fields would dodge the per-field bounds.
        let value = serde_json::to_value(rich_capture()).unwrap();
        let Value::Object(fields) = value else {
            unreachable!("a capture is an object")
        };
        let positional = Value::Array(fields.into_iter().map(|(_, value)| value).collect());
        let json = serde_json::to_vec(&positional).unwrap();
        assert!(matches!(
            decode_capture(&json, &CaptureBounds::default()),
            Err(CaptureDecodeError::Json(_))
        ));
    }

    #[test]
    fn malformed_and_invalid_captures_keep_their_own_errors() {
        let bounds = CaptureBounds::default();
        assert!(matches!(
            decode_capture(b"{\"format_version\": 1", &bounds),
            Err(CaptureDecodeError::Json(_))
        ));
        assert!(matches!(
            decode_capture(&[json(&rich_capture()), b"[]".to_vec()].concat(), &bounds),
            Err(CaptureDecodeError::Json(_))
        ));
        let mut capture = rich_capture();
        capture.format_version = 99;
        assert!(matches!(
            decode_capture(&json(&capture), &bounds),
            Err(CaptureDecodeError::Invalid(
                CaptureError::UnsupportedVersion { .. }
            ))
        ));
    }
}
