//! Rust: string literals, `format!` text and comments for site text.

use std::fmt::Write;

/// `text` as a Rust string literal whose value is exactly `text`.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            '\0' => out.push_str(r"\0"),
            c if super::is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as literal text of a `format!` string (before it becomes a [`string`]).
pub fn format_text(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// Text after `//` or `//!`; also safe inside a `/* … */` block, where `*/` would end the
/// comment and `/*` would open a nested one that swallows the real end.
pub fn comment(text: &str) -> String {
    super::comment_text(text)
        .replace("*/", "* /")
        .replace("/*", "/ *")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            string("x\ntouch\r\0\u{1b}\u{2028}\u{202e}😀é"),
            r#""x\ntouch\r\0\u{1b}\u{2028}\u{202e}😀é""#
        );
    }

    #[test]
    fn comments_cannot_close_a_block() {
        assert_eq!(comment("a */ b\nc"), r"a * / b\u{a}c");
        assert_eq!(comment("*/*/ /*/"), "* / * / / * /");
    }
}
