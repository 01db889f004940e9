//! Site-controlled text (URLs, names and values of headers, cookies, parameters and JSON keys,
//! HTML and GraphQL names, descriptions built from them) on its way into generated code. Each
//! target language has one module here with the only functions the generators write such text
//! with: string literals, comments, and identifiers derived from site names. Whatever the site
//! chose, running or pasting a snippet then runs only the code the generator wrote.

pub mod python;
pub mod rust;
pub mod shell;

use std::fmt::Write;

/// A character never written raw into generated code: a line break for some reader (LF, CR, VT,
/// FF, NEL, U+2028, U+2029), any other control character (C0, DEL, C1; a terminal acts on them
/// when code is pasted), or an invisible or direction-changing character that makes code look
/// different from what runs (Trojan Source; rustc refuses the direction ones).
pub fn is_unsafe(c: char) -> bool {
    if (' '..='~').contains(&c) {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// The inside of a double-quoted Python or Rust literal whose value is exactly `text`: the
/// escapes both languages share for `\`, `"`, LF, CR and tab, and `unsafe_escape` (the
/// language's own notation) for every other unsafe character.
fn double_quoted_body(text: &str, unsafe_escape: impl Fn(&mut String, u32)) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if is_unsafe(c) => unsafe_escape(&mut out, u32::from(c)),
            c => out.push(c),
        }
    }
    out
}

/// Text for a comment of any of the languages: one line, each unsafe character shown as
/// `\u{…}`, so a comment can never end early or hide what follows it.
fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_break_is_unsafe() {
        for c in [
            '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}', '\0', '\u{1b}',
            '\u{7f}', '\u{202e}', '\u{2066}', '\u{feff}',
        ] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '€', '\'', '"', '$', '`', '\\', '😀'] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn comment_text_is_one_visible_line() {
        assert_eq!(
            comment_text("x\ntouch /tmp/pwned\u{2028}#"),
            r"x\u{a}touch /tmp/pwned\u{2028}#"
        );
    }
}
