//! What counts as a secret: one classifier used by the scrub stage and by every stage that
//! shows captured values (analysis examples), so they cannot disagree.

/// The kind of secret a value holds; its placeholder is `<kind>` or `<kind:name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    Cookie,
    Bearer,
    Jwt,
    ApiKey,
    Csrf,
    Session,
    Password,
    Email,
    Phone,
    Token,
}

impl SecretKind {
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::Cookie => "cookie",
            SecretKind::Bearer => "bearer",
            SecretKind::Jwt => "jwt",
            SecretKind::ApiKey => "api-key",
            SecretKind::Csrf => "csrf",
            SecretKind::Session => "session",
            SecretKind::Password => "password",
            SecretKind::Email => "email",
            SecretKind::Phone => "phone",
            SecretKind::Token => "token",
        }
    }
}

/// Classifies `value`, sent under `name` (a header, parameter or field name) when known.
/// `None` means the value may be shown as it is.
pub fn classify(name: Option<&str>, value: &str) -> Option<SecretKind> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(kind) = name.and_then(|name| kind_from_name(name, value)) {
        return Some(kind);
    }
    kind_from_shape(value)
}

/// The placeholder that replaces a secret of `kind` sent under `name`.
pub fn placeholder(kind: SecretKind, name: Option<&str>) -> String {
    match (kind, name) {
        (SecretKind::Cookie, Some(name)) => format!("<cookie:{name}>"),
        _ => format!("<{}>", kind.label()),
    }
}

/// `value` itself when it is safe to show, otherwise its placeholder.
pub fn redact(name: Option<&str>, value: &str) -> String {
    match classify(name, value) {
        Some(kind) => placeholder(kind, name),
        None => value.to_owned(),
    }
}

fn kind_from_name(name: &str, value: &str) -> Option<SecretKind> {
    let name = name.to_ascii_lowercase().replace(['-', '.'], "_");
    let has = |part: &str| name.contains(part);
    if has("password") || has("passwd") || name == "pwd" || name == "pass" {
        Some(SecretKind::Password)
    } else if has("csrf") || has("xsrf") || name == "authenticity_token" {
        Some(SecretKind::Csrf)
    } else if name == "authorization" || name == "proxy_authorization" {
        Some(if value.to_ascii_lowercase().starts_with("bearer ") {
            SecretKind::Bearer
        } else {
            SecretKind::Token
        })
    } else if has("api_key") || has("apikey") || name == "key" || has("access_key") {
        Some(SecretKind::ApiKey)
    } else if has("session") || name == "sid" || name == "jsessionid" || name == "phpsessid" {
        Some(SecretKind::Session)
    } else if has("token") || has("secret") || has("signature") || name == "auth" {
        Some(SecretKind::Token)
    } else {
        None
    }
}

fn kind_from_shape(value: &str) -> Option<SecretKind> {
    if value.to_ascii_lowercase().starts_with("bearer ") {
        return Some(SecretKind::Bearer);
    }
    if is_jwt(value) {
        return Some(SecretKind::Jwt);
    }
    if is_email(value) {
        return Some(SecretKind::Email);
    }
    const KEY_PREFIXES: [&str; 12] = [
        "AKIA",
        "ASIA",
        "sk_live_",
        "rk_live_",
        "sk_test_",
        "ghp_",
        "gho_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "AIza",
        "rec_live_",
    ];
    if value.len() >= 16
        && KEY_PREFIXES.iter().any(|prefix| value.starts_with(prefix))
        && !value.contains(char::is_whitespace)
    {
        return Some(SecretKind::ApiKey);
    }
    None
}

fn is_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].len() >= 2
        && parts.iter().all(|part| {
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._%+-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_shapes_are_classified() {
        assert_eq!(classify(Some("X-Api-Key"), "abc"), Some(SecretKind::ApiKey));
        assert_eq!(classify(Some("csrf_token"), "abc"), Some(SecretKind::Csrf));
        assert_eq!(
            classify(Some("Authorization"), "Bearer abc"),
            Some(SecretKind::Bearer)
        );
        assert_eq!(
            classify(None, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_value"),
            Some(SecretKind::Jwt)
        );
        assert_eq!(
            classify(Some("q"), "ann@example.com"),
            Some(SecretKind::Email)
        );
        assert_eq!(
            classify(Some("x"), "AKIAIOSFODNN7EXAMPLE"),
            Some(SecretKind::ApiKey)
        );
        assert_eq!(classify(Some("page"), "2"), None);
        assert_eq!(classify(Some("q"), "running shoes"), None);
        assert_eq!(redact(Some("q"), "shoes"), "shoes");
        assert_eq!(redact(Some("api_key"), "abc"), "<api-key>");
    }
}
