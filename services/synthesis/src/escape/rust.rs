//! Rust: string literals, `format!` text and comments for site text.

use std::fmt::Write;

/// `text` as a Rust string literal whose value is exactly `text`.
pub fn string(text: &str) -> String {
    let body = super::double_quoted_body(text, |out, code| {
        let _ = write!(out, "\\u{{{code:x}}}");
    });
    format!("\"{body}\"")
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
            r#""x\ntouch\r\u{0}\u{1b}\u{2028}\u{202e}😀é""#
        );
    }

    #[test]
    fn comments_cannot_close_a_block() {
        assert_eq!(comment("a */ b\nc"), r"a * / b\u{a}c");
        assert_eq!(comment("*/*/ /*/"), "* / * / / * /");
    }
}
