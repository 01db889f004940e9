//! Values of the scrubbed capture as templates: literal text with scrub placeholders in it.
//! A placeholder becomes an environment variable read in the generated code (never a value),
//! or a value fetched by a warm-up step.

use recon_redaction::secrets::{parse_placeholder, SecretKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// Read from this environment variable.
    Env(String),
    /// Taken from the warm-up result under this key.
    Warm(String),
}

impl Piece {
    /// The environment variable curl and Rust read a secret or warm-up value from (the Python
    /// code takes warm-up values from the warm-up's result); `None` for text.
    pub fn variable(&self) -> Option<String> {
        match self {
            Piece::Text(_) => None,
            Piece::Env(name) => Some(name.clone()),
            Piece::Warm(key) => Some(warm_env(key)),
        }
    }
}

/// The environment variable that stands in for a warm-up value where no warm-up code runs.
pub fn warm_env(key: &str) -> String {
    crate::escape::shell::variable_name(key)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template(pub Vec<Piece>);

impl Template {
    pub fn literal(text: &str) -> Template {
        Template(vec![Piece::Text(text.to_owned())])
    }

    pub fn warm(key: &str) -> Template {
        Template(vec![Piece::Warm(key.to_owned())])
    }

    /// Splits `text` at every scrub placeholder.
    pub fn parse(text: &str) -> Template {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>').map(|i| open + i) else {
                break;
            };
            let candidate = &rest[open..=close];
            if parse_placeholder(candidate).is_some() {
                literal.push_str(&rest[..open]);
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Env(env_name(candidate)));
                rest = &rest[close + 1..];
            } else {
                literal.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Template(pieces)
    }

    /// The text when the template holds no placeholder.
    pub fn as_text(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Piece::Text(text)] => Some(text),
            _ => None,
        }
    }

    pub fn env_vars(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|piece| match piece {
            Piece::Env(name) => Some(name.as_str()),
            _ => None,
        })
    }

    pub fn has_secret(&self) -> bool {
        self.0.iter().any(|piece| !matches!(piece, Piece::Text(_)))
    }
}

/// `<cookie:_abck#2>` → `SITE_COOKIE_ABCK_2`, `<bearer>` → `SITE_BEARER_TOKEN`.
pub fn env_name(placeholder: &str) -> String {
    let Some((kind, name, ordinal)) = parse_placeholder(placeholder) else {
        return "SITE_SECRET".to_owned();
    };
    let base = match (kind, name) {
        (SecretKind::Cookie, Some(name)) => format!("COOKIE_{name}"),
        (SecretKind::Bearer, _) => "BEARER_TOKEN".to_owned(),
        (SecretKind::Csrf, _) => "CSRF_TOKEN".to_owned(),
        (SecretKind::Session, _) => "SESSION_ID".to_owned(),
        (kind, _) => kind.label().to_owned(),
    };
    let mut out = crate::escape::shell::variable_name(&base);
    if ordinal > 1 {
        out.push_str(&format!("_{ordinal}"));
    }
    out
}

/// What a user sees next to an environment variable: where to get its value.
pub fn env_hint(env: &str) -> String {
    if let Some(cookie) = env.strip_prefix("SITE_COOKIE_") {
        format!("the value of cookie {cookie} (case may differ) from your browser: DevTools > Application > Cookies")
    } else if env.starts_with("SITE_BEARER_TOKEN") {
        "the token after `Bearer ` in the Authorization header of a logged-in request (DevTools > Network)".to_owned()
    } else if env.starts_with("SITE_CSRF_TOKEN") {
        "the CSRF token from the page (a hidden form input or meta tag)".to_owned()
    } else {
        "the value your browser sent (DevTools > Network > the request)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_env_vars() {
        assert_eq!(env_name("<cookie:_abck#2>"), "SITE_COOKIE_ABCK_2");
        assert_eq!(env_name("<bearer>"), "SITE_BEARER_TOKEN");
        assert_eq!(env_name("<api-key>"), "SITE_API_KEY");
        assert_eq!(
            Template::parse("Bearer <bearer>"),
            Template(vec![
                Piece::Text("Bearer ".into()),
                Piece::Env("SITE_BEARER_TOKEN".into())
            ])
        );
        assert_eq!(Template::parse("a<b>c").as_text(), Some("a<b>c"));
        assert_eq!(Template::parse("").as_text(), Some(""));
        assert!(Template::parse("x=<cookie:sid>;").has_secret());
    }
}
