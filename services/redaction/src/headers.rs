//! Header values: cookies and Set-Cookie keep their names and attributes, Authorization keeps
//! its scheme, secret header names are replaced whole, everything else is scrubbed as text.

use recon_contracts::Header;

use crate::rules::rules;
use crate::secrets::{authorization_kind, SecretKind};
use crate::text::Scrubber;

/// Headers whose value is a URL, possibly relative.
const URL_HEADERS: [&str; 5] = ["location", "content-location", "referer", "origin", "link"];

impl Scrubber {
    pub fn headers(&mut self, headers: &mut [Header]) {
        for header in headers {
            header.value = self.header(&header.name, &header.value);
        }
    }

    pub fn header(&mut self, name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "cookie" => self.cookie_header(value),
            "set-cookie" => value
                .split('\n')
                .map(|line| self.set_cookie(line))
                .collect::<Vec<_>>()
                .join("\n"),
            "authorization" | "proxy-authorization" => self.authorization(value),
            _ if URL_HEADERS.contains(&lower.as_str()) && value.starts_with('/') => self.url(value),
            _ => {
                if let Some(kind) = rules().headers.get(&lower).copied() {
                    self.vault.replace(kind, Some(name), value)
                } else if self.kind_from_name(name, value).is_some() {
                    self.named(name, value, false).into_owned()
                } else {
                    self.text(value, false).into_owned()
                }
            }
        }
    }

    /// `a=1; b=2` → `a=<cookie:a>; b=<cookie:b>`.
    pub fn cookie_header(&mut self, value: &str) -> String {
        value
            .split(';')
            .map(|pair| match pair.trim().split_once('=') {
                Some((name, cookie)) => {
                    let name = name.trim();
                    format!(
                        "{name}={}",
                        self.vault
                            .replace(SecretKind::Cookie, Some(name), cookie.trim())
                    )
                }
                None => self.text(pair.trim(), false).into_owned(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn set_cookie(&mut self, line: &str) -> String {
        let (pair, attributes) = match line.split_once(';') {
            Some((pair, attributes)) => (pair, Some(attributes)),
            None => (line, None),
        };
        let Some((name, value)) = pair.split_once('=') else {
            return self.text(line, false).into_owned();
        };
        let name = name.trim();
        let mut out = format!(
            "{name}={}",
            self.vault
                .replace(SecretKind::Cookie, Some(name), value.trim())
        );
        if let Some(attributes) = attributes {
            out.push(';');
            out.push_str(&self.text(attributes, false));
        }
        out
    }

    /// `Bearer x` → `Bearer <bearer>`; the scheme stays so starter code can rebuild the header.
    fn authorization(&mut self, value: &str) -> String {
        let kind = authorization_kind(value);
        match value.trim().split_once(char::is_whitespace) {
            Some((scheme, credentials)) => format!(
                "{scheme} {}",
                self.vault.replace(kind, None, credentials.trim())
            ),
            None => self.vault.replace(kind, None, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_cookie_and_auth_values_keeping_names() {
        let mut scrubber = Scrubber::default();
        let mut headers = vec![
            Header::new("Cookie", "session=abc123; theme=dark"),
            Header::new(
                "Set-Cookie",
                "_abck=XYZ; Path=/; HttpOnly\nsession=abc123; Secure",
            ),
            Header::new("Authorization", "Bearer eyJhbGciOi"),
            Header::new("Accept", "application/json"),
            Header::new("X-Api-Key", "k-1"),
            Header::new("X-My-Session-Token", "s-2"),
            Header::new("Location", "/next?code=1&access_token=t-3"),
            Header::new(
                "Referer",
                "https://shop.example/login?email=ann%40example.com",
            ),
        ];
        scrubber.headers(&mut headers);
        let values: Vec<&str> = headers.iter().map(|h| h.value.as_str()).collect();
        assert_eq!(
            values,
            vec![
                "session=<cookie:session>; theme=<cookie:theme>",
                "_abck=<cookie:_abck>; Path=/; HttpOnly\nsession=<cookie:session>; Secure",
                "Bearer <bearer>",
                "application/json",
                "<api-key>",
                "<session>",
                "/next?code=1&access_token=<token>",
                "https://shop.example/login?email=<email>",
            ]
        );
    }
}
