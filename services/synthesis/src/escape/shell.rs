//! POSIX shell (bash): quoted words, comments and variable names for site text. Literal text is
//! always one quoted word, so `$(…)`, backticks, `${…}`, `;` and globs stay text.

use std::fmt::Write;

/// `text` as one shell word whose value is exactly `text`: `'…'` (nothing is special inside),
/// or bash's `$'…'` when it holds unsafe characters, which a terminal would act on when the
/// command is pasted. A NUL cannot be part of an argument: it becomes U+FFFD.
pub fn quote(text: &str) -> String {
    if !text.chars().any(super::is_unsafe) {
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in text.chars() {
        match c {
            '\0' => out.push_str(r"\xef\xbf\xbd"),
            '\\' => out.push_str(r"\\"),
            // A `\'` would end the quoted region for bash's history expansion (`!`), so a quote
            // is written as a byte, like the unsafe characters.
            c if c == '\'' || super::is_unsafe(c) => {
                let mut bytes = [0; 4];
                for byte in c.encode_utf8(&mut bytes).bytes() {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Text after a `#`: it ends where the line ends.
pub fn comment(text: &str) -> String {
    super::comment_text(text)
}

/// An environment variable name from a site name: `SITE_` and the name's ASCII letters and
/// digits in upper case, every other run of characters one `_` (`x-csrf-token` →
/// `SITE_X_CSRF_TOKEN`). Always a valid name in the shell, Python and Rust.
pub fn variable_name(name: &str) -> String {
    let mut out = String::from("SITE_");
    let mut last_underscore = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
            last_underscore = false;
        } else if !last_underscore {
            out.push('_');
            last_underscore = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_single_quoted() {
        assert_eq!(quote("$(touch x) `id` ${IFS}"), "'$(touch x) `id` ${IFS}'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn unsafe_characters_are_ansi_c_escapes() {
        assert_eq!(quote("a\nb"), r"$'a\x0ab'");
        assert_eq!(quote("it's\\\u{3}"), r"$'it\x27s\\\x03'");
        assert_eq!(quote("\u{2028}"), r"$'\xe2\x80\xa8'");
        assert_eq!(quote("a\0b"), r"$'a\xef\xbf\xbdb'");
    }

    #[test]
    fn variable_names_are_identifiers() {
        assert_eq!(variable_name("X-CSRF-Token"), "SITE_X_CSRF_TOKEN");
        assert_eq!(variable_name("$(touch x)"), "SITE_TOUCH_X");
        assert_eq!(variable_name("ключ"), "SITE");
    }
}
