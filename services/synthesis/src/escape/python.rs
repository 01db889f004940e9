//! Python: string literals (also the text of the module docstring) and comments for site text.

use std::fmt::Write;

/// `text` as a Python string literal whose value is exactly `text`.
pub fn string(text: &str) -> String {
    format!("\"{}\"", string_body(text))
}

/// `text` inside a `"…"` or `"""…"""` literal: backslashes and every double quote escaped (so no
/// `"""` and no quote before the closing one), unsafe characters as escapes.
pub fn string_body(text: &str) -> String {
    super::double_quoted_body(text, |out, code| {
        let _ = match code {
            0..=0xff => write!(out, "\\x{code:02x}"),
            0x100..=0xffff => write!(out, "\\u{code:04x}"),
            _ => write!(out, "\\U{code:08x}"),
        };
    })
}

/// Text after a `#`: it ends where the line ends.
pub fn comment(text: &str) -> String {
    super::comment_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            string("x\ntouch\r\0\u{2028}\u{202e}😀é"),
            r#""x\ntouch\r\x00\u2028\u202e😀é""#
        );
        assert_eq!(string_body(r#"""" end""#), r#"\"\"\" end\""#);
    }
}
