//! How large a capture may be, dimension by dimension. A capture is hostile input: three bytes
//! of JSON (`"",`) become a 24-byte string, so a small upload can parse into gigabytes unless
//! every dimension that costs memory or time is bounded while it is decoded
//! ([`crate::capture_decode`]). The names here are the ones error bodies and settings use.

use std::fmt;

/// One bounded dimension of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Bytes of the capture's JSON (after gzip decompression).
    DecodedBytes,
    Requests,
    Pages,
    Cookies,
    Streams,
    /// Headers of one request, or of one response.
    HeadersPerRequest,
    SamplesPerStream,
    /// Stream samples in the whole capture.
    Samples,
    /// JSON strings in the whole capture (object keys not counted).
    Strings,
    /// Bytes of one string other than a body.
    StringBytes,
    /// Bytes of one request or response body (`data`, as text or base64).
    BodyBytes,
    /// Arrays and objects inside one another.
    Nesting,
}

impl Limit {
    pub const ALL: [Limit; 12] = [
        Limit::DecodedBytes,
        Limit::Requests,
        Limit::Pages,
        Limit::Cookies,
        Limit::Streams,
        Limit::HeadersPerRequest,
        Limit::SamplesPerStream,
        Limit::Samples,
        Limit::Strings,
        Limit::StringBytes,
        Limit::BodyBytes,
        Limit::Nesting,
    ];

    /// The name error bodies carry in their `limit` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::DecodedBytes => "decoded_bytes",
            Limit::Requests => "requests",
            Limit::Pages => "pages",
            Limit::Cookies => "cookies",
            Limit::Streams => "streams",
            Limit::HeadersPerRequest => "headers_per_request",
            Limit::SamplesPerStream => "samples_per_stream",
            Limit::Samples => "samples",
            Limit::Strings => "strings",
            Limit::StringBytes => "string_bytes",
            Limit::BodyBytes => "body_bytes",
            Limit::Nesting => "nesting",
        }
    }

    /// What crossing the limit means, completing "the capture has more than N …".
    fn what(self) -> &'static str {
        match self {
            Limit::DecodedBytes => "bytes of JSON",
            Limit::Requests => "requests",
            Limit::Pages => "pages",
            Limit::Cookies => "cookies",
            Limit::Streams => "WebSocket or EventSource streams",
            Limit::HeadersPerRequest => "headers on one request or response",
            Limit::SamplesPerStream => "samples in one stream",
            Limit::Samples => "stream samples in all",
            Limit::Strings => "strings",
            Limit::StringBytes => "bytes in one string (a URL, header, cookie, sample, …)",
            Limit::BodyBytes => "bytes in one body",
            Limit::Nesting => "levels of arrays and objects inside one another",
        }
    }

    /// Whether crossing the limit is a wrong shape (400) rather than too much data (413).
    pub fn is_shape(self) -> bool {
        matches!(self, Limit::Nesting)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The largest value of every [`Limit`]. The defaults fit a long recording of a big site (the
/// CLI keeps at most 48 MiB of bodies, 1 MiB of each) several times over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureBounds {
    max: [u64; Limit::ALL.len()],
}

impl CaptureBounds {
    pub fn max(&self, limit: Limit) -> u64 {
        self.max[limit.index()]
    }

    /// These bounds with `limit` set to `max`.
    pub fn with(mut self, limit: Limit, max: u64) -> CaptureBounds {
        self.max[limit.index()] = max;
        self
    }

    /// The default of one limit.
    pub fn default_max(limit: Limit) -> u64 {
        match limit {
            Limit::DecodedBytes => 256 << 20,
            Limit::Requests => 100_000,
            Limit::Pages => 10_000,
            Limit::Cookies => 10_000,
            Limit::Streams => 10_000,
            Limit::HeadersPerRequest => 1_000,
            Limit::SamplesPerStream => 100,
            Limit::Samples => 100_000,
            Limit::Strings => 4_000_000,
            Limit::StringBytes => 2 << 20,
            Limit::BodyBytes => 16 << 20,
            Limit::Nesting => 32,
        }
    }
}

impl Default for CaptureBounds {
    fn default() -> CaptureBounds {
        CaptureBounds {
            max: Limit::ALL.map(CaptureBounds::default_max),
        }
    }
}

/// A capture crossed one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the capture has more than {max} {what} (limit {limit})", what = limit.what())]
pub struct LimitExceeded {
    pub limit: Limit,
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_has_its_own_name_and_slot() {
        let names: std::collections::HashSet<&str> =
            Limit::ALL.iter().map(|limit| limit.as_str()).collect();
        assert_eq!(names.len(), Limit::ALL.len());
        for (position, limit) in Limit::ALL.into_iter().enumerate() {
            assert_eq!(limit.index(), position, "{limit}");
        }
        let bounds = CaptureBounds::default().with(Limit::Streams, 7);
        assert_eq!(bounds.max(Limit::Streams), 7);
        assert_eq!(bounds.max(Limit::Pages), 10_000);
    }

    #[test]
    fn the_message_names_the_limit_and_its_value() {
        let text = LimitExceeded {
            limit: Limit::SamplesPerStream,
            max: 100,
        }
        .to_string();
        assert_eq!(
            text,
            "the capture has more than 100 samples in one stream (limit samples_per_stream)"
        );
    }
}
