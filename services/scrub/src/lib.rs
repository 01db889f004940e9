//! Scrub (target `scrub`): a copy of the capture with live secrets replaced by typed
//! placeholders; everything after this step reads only the scrubbed copy.
//!
//! For now: cookie and Set-Cookie values, Authorization-like headers and the cookie jar.
//! Tokens inside bodies and URLs come with the scrub work.

pub mod secrets;

use recon_contracts::{names, Capture, Header, ScrubSummary, Step};
use recon_runtime::stage::StageOutput;
use recon_runtime::{codec, Stage, StageContext, StageError};

const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
];

/// Returns the scrubbed capture and how many values were replaced.
pub fn scrub(capture: &Capture) -> (Capture, u64) {
    let mut scrubbed = capture.clone();
    let mut replaced = 0;
    for request in &mut scrubbed.requests {
        replaced += scrub_headers(&mut request.request_headers);
        if let Some(response) = request.response.as_mut() {
            replaced += scrub_headers(&mut response.headers);
        }
    }
    for cookie in &mut scrubbed.cookies {
        cookie.value = format!("<cookie:{}>", cookie.name);
        replaced += 1;
    }
    (scrubbed, replaced)
}

fn scrub_headers(headers: &mut [Header]) -> u64 {
    let mut replaced = 0;
    for header in headers {
        let name = header.name.to_ascii_lowercase();
        if name == "cookie" {
            header.value = header
                .value
                .split(';')
                .map(|pair| match pair.trim().split_once('=') {
                    Some((cookie, _)) => format!("{cookie}=<cookie:{cookie}>"),
                    None => pair.trim().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("; ");
            replaced += 1;
        } else if name == "set-cookie" {
            let (pair, attributes) = header.value.split_once(';').unwrap_or((&header.value, ""));
            if let Some((cookie, _)) = pair.split_once('=') {
                let cookie = cookie.trim();
                header.value = if attributes.is_empty() {
                    format!("{cookie}=<cookie:{cookie}>")
                } else {
                    format!("{cookie}=<cookie:{cookie}>;{attributes}")
                };
                replaced += 1;
            }
        } else if SECRET_HEADERS.contains(&name.as_str()) {
            let kind = if header.value.to_ascii_lowercase().starts_with("bearer ") {
                "<bearer>".to_owned()
            } else {
                format!("<header:{name}>")
            };
            header.value = kind;
            replaced += 1;
        }
    }
    replaced
}

pub struct ScrubStage;

impl Stage for ScrubStage {
    const STEP: Step = Step::Scrub;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let capture = ctx.capture().await?;
        let (scrubbed, replacements) = scrub(&capture);
        let key = names::scrubbed_capture_key(ctx.scan.id);
        let bytes = codec::to_gzip_json(&scrubbed).map_err(StageError::permanent)?;
        ctx.blob().put(&key, bytes.into()).await?;
        let summary = format!("{replacements} secret value(s) replaced");
        StageOutput::new(
            &ScrubSummary {
                scrubbed_capture_key: key,
                replacements,
                by_kind: Default::default(),
            },
            summary,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_cookie_and_auth_values_keeping_names() {
        let mut headers = vec![
            Header::new("Cookie", "session=abc123; theme=dark"),
            Header::new("Set-Cookie", "_abck=XYZ; Path=/; HttpOnly"),
            Header::new("Authorization", "Bearer eyJhbGciOi"),
            Header::new("Accept", "application/json"),
        ];
        assert_eq!(scrub_headers(&mut headers), 3);
        assert_eq!(
            headers[0].value,
            "session=<cookie:session>; theme=<cookie:theme>"
        );
        assert_eq!(headers[1].value, "_abck=<cookie:_abck>; Path=/; HttpOnly");
        assert_eq!(headers[2].value, "<bearer>");
        assert_eq!(headers[3].value, "application/json");
        let joined: String = headers.iter().map(|h| h.value.clone()).collect();
        assert!(!joined.contains("abc123") && !joined.contains("XYZ") && !joined.contains("eyJ"));
    }
}
