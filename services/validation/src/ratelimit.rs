//! Rate limiting: recognising it in a response (429, Retry-After, the `x-ratelimit-*`,
//! `ratelimit-*` and `x-rate-limit-*` headers) and pacing a host so the cascade backs off
//! instead of hammering it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use recon_contracts::{Header, RateLimit};

/// What a response says about rate limiting; `None` when it says nothing.
pub fn rate_limit_of(status: u16, headers: &[Header]) -> Option<RateLimit> {
    let limit_headers: Vec<String> = headers
        .iter()
        .filter(|header| is_rate_limit_header(&header.name))
        .map(|header| format!("{}: {}", header.name.to_ascii_lowercase(), header.value))
        .collect();
    let retry_after_secs =
        recon_contracts::header_value(headers, "retry-after").and_then(parse_retry_after);
    if status != 429 && limit_headers.is_empty() {
        return None;
    }
    Some(RateLimit {
        status,
        retry_after_secs,
        headers: limit_headers,
    })
}

fn is_rate_limit_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "retry-after"
        || name == "ratelimit"
        || name == "ratelimit-policy"
        || ["x-ratelimit-", "ratelimit-", "x-rate-limit-"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Retry-After is delta-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let date = httpdate_to_unix(value)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(date.saturating_sub(now))
}

/// Parses the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), the one servers send.
fn httpdate_to_unix(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let [hour, minute, second] = hms.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
}

/// Keeps requests to a host apart after it asked us to slow down.
#[derive(Debug, Default)]
pub struct HostPacer {
    not_before: Mutex<HashMap<String, Instant>>,
}

impl HostPacer {
    /// Waits until `host` may be contacted again.
    pub async fn wait(&self, host: &str) {
        let until = self
            .not_before
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(host)
            .copied();
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    /// No request to `host` before `delay` from now.
    pub fn hold(&self, host: &str, delay: Duration) {
        let until = Instant::now() + delay;
        let mut map = self
            .not_before
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(host.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_429_and_headers() {
        let limited = rate_limit_of(
            429,
            &[
                Header::new("Retry-After", "7"),
                Header::new("X-RateLimit-Remaining", "0"),
                Header::new("content-type", "text/plain"),
            ],
        )
        .unwrap();
        assert_eq!(limited.status, 429);
        assert_eq!(limited.retry_after_secs, Some(7));
        assert_eq!(
            limited.headers,
            ["retry-after: 7", "x-ratelimit-remaining: 0"]
        );

        let informative = rate_limit_of(200, &[Header::new("RateLimit-Remaining", "58")]).unwrap();
        assert_eq!(informative.status, 200);
        assert_eq!(
            rate_limit_of(200, &[Header::new("content-type", "x")]),
            None
        );
        assert!(rate_limit_of(429, &[]).is_some());
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            httpdate_to_unix("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
