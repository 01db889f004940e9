//! Small lexers for the starter code's languages (bash, Python, Rust), enough for what synthesis
//! writes. They cut a snippet into code, quoted text and comments, and decode what each quoted
//! literal stands for, so that the property test and the fuzz target can check in-process that
//! site text stays inside literals and comments. Strict on purpose: an escape synthesis never
//! writes is an error. The fuzz workspace includes this file as it is, next to `hostile.rs`.

use recon_synthesis::escape::is_unsafe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Shell,
    Python,
    Rust,
}

impl Language {
    /// The language of a snippet, from its `language` field.
    pub fn of(snippet_language: &str) -> Option<Language> {
        match snippet_language {
            "curl" => Some(Language::Shell),
            "python" => Some(Language::Python),
            "rust" => Some(Language::Rust),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What runs, including double-quoted shell text (the shell expands `$` in it).
    Code,
    /// A string literal or quoted shell word; `value` is what it stands for.
    Quoted,
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub kind: Kind,
    /// The source text.
    pub text: String,
    /// For `Quoted`: the value the language gives the literal.
    pub value: String,
}

/// The regions of `code`, in order; an error for anything the lexer does not know.
pub fn regions(language: Language, code: &str) -> Result<Vec<Region>, String> {
    let mut lexer = Lexer {
        chars: code.chars().collect(),
        at: 0,
        spans: Vec::new(),
    };
    match language {
        Language::Shell => lexer.shell(None)?,
        Language::Python => lexer.python()?,
        Language::Rust => lexer.rust()?,
    }
    Ok(lexer
        .spans
        .into_iter()
        .map(|span| Region {
            kind: span.kind,
            text: lexer.chars[span.start..span.end].iter().collect(),
            value: span.value,
        })
        .collect())
}

/// Checks that `code` holds no raw unsafe character (a line break other than `\n`, a control
/// or direction character) and that `marker` appears only in literals and comments.
pub fn marker_stays_quoted(language: Language, code: &str, marker: &str) -> Result<(), String> {
    if let Some(c) = code.chars().find(|&c| c != '\n' && is_unsafe(c)) {
        return Err(format!("a raw {c:?} in the code"));
    }
    for region in regions(language, code)? {
        if region.kind == Kind::Code && region.text.contains(marker) {
            return Err(format!("site text in code: {:?}", region.text));
        }
    }
    Ok(())
}

/// The values of the literals of `code`, in order.
pub fn literal_values(language: Language, code: &str) -> Result<Vec<String>, String> {
    Ok(regions(language, code)?
        .into_iter()
        .filter(|r| r.kind == Kind::Quoted)
        .map(|r| r.value)
        .collect())
}

/// A region as positions in the code: the lexers record these and make text only at the end.
struct Span {
    kind: Kind,
    start: usize,
    end: usize,
    value: String,
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    spans: Vec<Span>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(i, c)| self.peek(i) == Some(c))
    }

    fn text(&self, from: usize) -> String {
        self.chars[from..self.at].iter().collect()
    }

    /// Records the region from `from` to the cursor; code next to code is one region.
    fn push(&mut self, kind: Kind, from: usize, value: String) {
        if kind == Kind::Code {
            if let Some(last) = self.spans.last_mut().filter(|span| span.kind == Kind::Code) {
                last.end = self.at;
                return;
            }
        }
        self.spans.push(Span {
            kind,
            start: from,
            end: self.at,
            value,
        });
    }

    fn code(&mut self, count: usize) {
        let from = self.at;
        self.at = (self.at + count).min(self.chars.len());
        self.push(Kind::Code, from, String::new());
    }

    /// Plain code at the cursor: an identifier (whole, so that a string prefix is only looked
    /// for where one can start), or a run of other characters `plain` accepts.
    fn code_run(&mut self, plain: impl Fn(char) -> bool, identifier: bool) {
        let from = self.at;
        self.at += 1;
        while let Some(c) = self.peek(0) {
            let same = if identifier {
                is_identifier_char(c)
            } else {
                !is_identifier_char(c) && plain(c)
            };
            if !same {
                break;
            }
            self.at += 1;
        }
        self.push(Kind::Code, from, String::new());
    }

    fn comment_to_line_end(&mut self) {
        let from = self.at;
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.at += 1;
        }
        self.push(Kind::Comment, from, String::new());
    }

    // --- bash -------------------------------------------------------------------------------

    /// Unquoted shell text up to the end, or up to the `)` closing a `$(`.
    fn shell(&mut self, closing: Option<char>) -> Result<(), String> {
        let mut word_start = true;
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                ')' if closing.is_some() && depth == 0 => {
                    self.code(1);
                    return Ok(());
                }
                '#' if word_start => self.comment_to_line_end(),
                '\'' => self.shell_single_quoted()?,
                '$' if self.peek(1) == Some('\'') => self.shell_ansi_c()?,
                '$' if self.peek(1) == Some('(') => {
                    self.code(2);
                    self.shell(Some(')'))?;
                }
                '"' => self.shell_double_quoted()?,
                '\\' if self.peek(1).is_none_or(|next| next == '\n') => self.code(2),
                '\\' => {
                    // A backslash quotes the character after it.
                    let from = self.at;
                    let value = self.chars[self.at + 1].to_string();
                    self.at += 2;
                    self.push(Kind::Quoted, from, value);
                }
                '(' => {
                    depth += 1;
                    self.code(1);
                }
                ')' => {
                    depth = depth.saturating_sub(1);
                    self.code(1);
                }
                _ => self.code(1),
            }
            word_start = self
                .at
                .checked_sub(1)
                .and_then(|i| self.chars.get(i))
                .is_some_and(|c| c.is_whitespace() || ";|&()".contains(*c));
        }
        match closing {
            Some(_) => Err("a `$(` is never closed".to_owned()),
            None => Ok(()),
        }
    }

    fn shell_single_quoted(&mut self) -> Result<(), String> {
        let from = self.at;
        self.at += 1;
        let start = self.at;
        while self.peek(0).is_some_and(|c| c != '\'') {
            self.at += 1;
        }
        if self.peek(0).is_none() {
            return Err("a `'` is never closed".to_owned());
        }
        let value = self.text(start);
        self.at += 1;
        self.push(Kind::Quoted, from, value);
        Ok(())
    }

    /// bash's `$'…'`, with the escapes synthesis writes (`\\`, `\'`, `\xHH`, `\n`, `\t`, `\r`).
    fn shell_ansi_c(&mut self) -> Result<(), String> {
        let from = self.at;
        self.at += 2;
        let mut bytes = Vec::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err("a `$'` is never closed".to_owned());
            };
            self.at += 1;
            match c {
                '\'' => break,
                '\\' => {
                    let escape = self.peek(0).ok_or("a `\\` ends the input")?;
                    self.at += 1;
                    match escape {
                        '\\' | '\'' | '"' => bytes.push(escape as u8),
                        'n' => bytes.push(b'\n'),
                        't' => bytes.push(b'\t'),
                        'r' => bytes.push(b'\r'),
                        'x' => {
                            let mut digits = String::new();
                            while digits.len() < 2
                                && self.peek(0).is_some_and(|d| d.is_ascii_hexdigit())
                            {
                                digits.push(self.chars[self.at]);
                                self.at += 1;
                            }
                            let byte = u8::from_str_radix(&digits, 16)
                                .map_err(|_| "`\\x` without hex digits".to_owned())?;
                            bytes.push(byte);
                        }
                        other => return Err(format!("an unexpected escape `\\{other}` in `$'…'`")),
                    }
                }
                other => {
                    let mut buffer = [0; 4];
                    bytes.extend_from_slice(other.encode_utf8(&mut buffer).as_bytes());
                }
            }
        }
        let value =
            String::from_utf8(bytes).map_err(|_| "a `$'…'` that is not UTF-8".to_owned())?;
        self.push(Kind::Quoted, from, value);
        Ok(())
    }

    /// `"…"`: code, since the shell expands it. Only `${NAME}`, `$NAME` and `$(…)` are expected.
    fn shell_double_quoted(&mut self) -> Result<(), String> {
        self.code(1);
        loop {
            match self.peek(0) {
                None => return Err("a `\"` is never closed".to_owned()),
                Some('"') => {
                    self.code(1);
                    return Ok(());
                }
                Some('\\') => self.code(2),
                Some('`') => return Err("a backtick in double quotes".to_owned()),
                Some('$') => match self.peek(1) {
                    Some('(') => {
                        self.code(2);
                        self.shell(Some(')'))?;
                    }
                    Some('{') => {
                        let from = self.at;
                        self.at += 2;
                        let name = self.identifier();
                        if name.is_empty() || self.peek(name.chars().count()) != Some('}') {
                            self.at = from;
                            return Err("a `${` that is not `${NAME}`".to_owned());
                        }
                        self.at = from;
                        self.code(name.chars().count() + 3);
                    }
                    _ => {
                        let from = self.at;
                        self.at += 1;
                        let name = self.identifier();
                        self.at = from;
                        if name.is_empty() {
                            return Err("a `$` that starts no expansion".to_owned());
                        }
                        self.code(name.chars().count() + 1);
                    }
                },
                Some(_) => self.code(1),
            }
        }
    }

    /// The identifier at the cursor (not consumed).
    fn identifier(&self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek(name.chars().count()) {
            let allowed =
                c == '_' || c.is_ascii_alphabetic() || (!name.is_empty() && c.is_ascii_digit());
            if !allowed {
                break;
            }
            name.push(c);
        }
        name
    }

    // --- Python ----------------------------------------------------------------------------

    fn python(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek(0) {
            if c == '#' {
                self.comment_to_line_end();
            } else if let Some(prefix) = self.python_string_prefix() {
                self.python_string(prefix)?;
            } else {
                self.code_run(|c| c != '#' && c != '"' && c != '\'', is_identifier_char(c));
            }
        }
        Ok(())
    }

    /// The prefix (`""`, `r`, `f`, `rb`, …) when a string literal starts at the cursor.
    fn python_string_prefix(&self) -> Option<String> {
        let mut prefix = String::new();
        while prefix.len() < 2
            && self
                .peek(prefix.len())
                .is_some_and(|c| "rRbBfFuU".contains(c))
        {
            prefix.push(self.chars[self.at + prefix.len()]);
        }
        matches!(self.peek(prefix.len()), Some('"' | '\'')).then_some(prefix)
    }

    fn python_string(&mut self, prefix: String) -> Result<(), String> {
        let raw = prefix.contains(['r', 'R']);
        let formatted = prefix.contains(['f', 'F']);
        let from = self.at;
        self.at += prefix.len();
        let quote = self.chars[self.at];
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        let closing: String = std::iter::repeat_n(quote, if triple { 3 } else { 1 }).collect();
        self.at += closing.len();
        let mut value = String::new();
        let mut segment_from = from;
        loop {
            let Some(c) = self.peek(0) else {
                return Err("a string literal is never closed".to_owned());
            };
            if c == quote && self.starts_with(&closing) {
                self.at += closing.len();
                break;
            }
            match c {
                '\n' if !triple => return Err("a line break in a one-line string".to_owned()),
                '\\' if raw => {
                    value.push('\\');
                    if let Some(next) = self.peek(1) {
                        value.push(next);
                    }
                    self.at += 2;
                }
                '\\' => {
                    self.at += 1;
                    python_escape(self, &mut value)?;
                }
                '{' if formatted && self.peek(1) == Some('{') => {
                    value.push('{');
                    self.at += 2;
                }
                '}' if formatted && self.peek(1) == Some('}') => {
                    value.push('}');
                    self.at += 2;
                }
                '{' if formatted => {
                    self.push(Kind::Quoted, segment_from, std::mem::take(&mut value));
                    let code_from = self.at;
                    let mut depth = 0usize;
                    while let Some(inner) = self.peek(0) {
                        self.at += 1;
                        match inner {
                            '{' => depth += 1,
                            '}' if depth == 1 => break,
                            '}' => depth -= 1,
                            _ => {}
                        }
                    }
                    self.push(Kind::Code, code_from, String::new());
                    segment_from = self.at;
                }
                other => {
                    value.push(other);
                    self.at += 1;
                }
            }
        }
        self.push(Kind::Quoted, segment_from, value);
        Ok(())
    }

    // --- Rust ------------------------------------------------------------------------------

    fn rust(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek(0) {
            if c == '/' && self.peek(1) == Some('/') {
                self.comment_to_line_end();
            } else if c == '/' && self.peek(1) == Some('*') {
                self.rust_block_comment()?;
            } else if c == '"' {
                self.rust_string(0)?;
            } else if (c == 'r' || (c == 'b' && self.peek(1) == Some('r')))
                && self.rust_raw_string_start()
            {
                self.rust_raw_string()?;
            } else if c == 'b' && self.peek(1) == Some('"') {
                self.rust_string(1)?;
            } else if c == '\'' {
                self.rust_quote()?;
            } else {
                self.code_run(|c| !matches!(c, '/' | '"' | '\''), is_identifier_char(c));
            }
        }
        Ok(())
    }

    fn rust_block_comment(&mut self) -> Result<(), String> {
        let from = self.at;
        let mut depth = 0usize;
        loop {
            if self.starts_with("/*") {
                depth += 1;
                self.at += 2;
            } else if self.starts_with("*/") {
                depth -= 1;
                self.at += 2;
                if depth == 0 {
                    break;
                }
            } else if self.peek(0).is_none() {
                return Err("a `/*` is never closed".to_owned());
            } else {
                self.at += 1;
            }
        }
        self.push(Kind::Comment, from, String::new());
        Ok(())
    }

    fn rust_string(&mut self, prefix: usize) -> Result<(), String> {
        let from = self.at;
        self.at += prefix + 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err("a string literal is never closed".to_owned());
            };
            self.at += 1;
            match c {
                '"' => break,
                '\r' => return Err("a bare CR in a string literal".to_owned()),
                '\\' => rust_escape(self, &mut value)?,
                other => value.push(other),
            }
        }
        self.push(Kind::Quoted, from, value);
        Ok(())
    }

    fn rust_raw_string_start(&self) -> bool {
        let start = if self.peek(0) == Some('b') { 2 } else { 1 };
        let preceded_by_identifier = self
            .at
            .checked_sub(1)
            .is_some_and(|i| is_identifier_char(self.chars[i]));
        let mut i = start;
        while self.peek(i) == Some('#') {
            i += 1;
        }
        !preceded_by_identifier && self.peek(i) == Some('"')
    }

    fn rust_raw_string(&mut self) -> Result<(), String> {
        let from = self.at;
        self.at += if self.peek(0) == Some('b') { 2 } else { 1 };
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.at += 1;
        }
        self.at += 1;
        let closing: String = std::iter::once('"')
            .chain(std::iter::repeat_n('#', hashes))
            .collect();
        let start = self.at;
        while !self.starts_with(&closing) {
            if self.peek(0).is_none() {
                return Err("a raw string is never closed".to_owned());
            }
            self.at += 1;
        }
        let value = self.text(start);
        self.at += closing.chars().count();
        self.push(Kind::Quoted, from, value);
        Ok(())
    }

    /// A character literal (`'.'`, `'\n'`) or a lifetime (`'a`).
    fn rust_quote(&mut self) -> Result<(), String> {
        let from = self.at;
        if self.peek(1) == Some('\\') {
            self.at += 2;
            let mut value = String::new();
            rust_escape(self, &mut value)?;
            if self.peek(0) != Some('\'') {
                return Err("a character literal is never closed".to_owned());
            }
            self.at += 1;
            self.push(Kind::Quoted, from, value);
        } else if self.peek(2) == Some('\'') {
            self.at += 3;
            let value = self.chars[from + 1].to_string();
            self.push(Kind::Quoted, from, value);
        } else {
            self.code(1);
        }
        Ok(())
    }
}

fn is_identifier_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn hex_value(lexer: &mut Lexer, digits: usize) -> Result<u32, String> {
    let text: String = (0..digits).filter_map(|i| lexer.peek(i)).collect();
    let value = u32::from_str_radix(&text, 16)
        .ok()
        .filter(|_| text.len() == digits)
        .ok_or_else(|| format!("a bad hex escape `{text}`"))?;
    lexer.at += digits;
    Ok(value)
}

fn push_code_point(value: &mut String, code: u32) -> Result<(), String> {
    value.push(char::from_u32(code).ok_or_else(|| format!("no character U+{code:X}"))?);
    Ok(())
}

/// The escapes of a Python (not raw) string literal; the cursor is after the backslash.
fn python_escape(lexer: &mut Lexer, value: &mut String) -> Result<(), String> {
    let escape = lexer.peek(0).ok_or("a `\\` ends the input")?;
    lexer.at += 1;
    match escape {
        '\n' => {}
        '\\' | '\'' | '"' => value.push(escape),
        'n' => value.push('\n'),
        'r' => value.push('\r'),
        't' => value.push('\t'),
        'x' => push_code_point(value, hex_value(lexer, 2)?)?,
        'u' => push_code_point(value, hex_value(lexer, 4)?)?,
        'U' => push_code_point(value, hex_value(lexer, 8)?)?,
        other => return Err(format!("an escape `\\{other}` synthesis does not write")),
    }
    Ok(())
}

/// The escapes of a Rust string or character literal; the cursor is after the backslash.
fn rust_escape(lexer: &mut Lexer, value: &mut String) -> Result<(), String> {
    let escape = lexer.peek(0).ok_or("a `\\` ends the input")?;
    lexer.at += 1;
    match escape {
        '\n' => {
            while lexer.peek(0).is_some_and(char::is_whitespace) {
                lexer.at += 1;
            }
        }
        '\\' | '\'' | '"' => value.push(escape),
        'n' => value.push('\n'),
        'r' => value.push('\r'),
        't' => value.push('\t'),
        '0' => value.push('\0'),
        'x' => {
            let code = hex_value(lexer, 2)?;
            if code > 0x7f {
                return Err("a `\\x` escape above 0x7f".to_owned());
            }
            push_code_point(value, code)?;
        }
        'u' => {
            if lexer.peek(0) != Some('{') {
                return Err("a `\\u` without braces".to_owned());
            }
            lexer.at += 1;
            let mut digits = String::new();
            while let Some(c) = lexer.peek(0).filter(char::is_ascii_hexdigit) {
                digits.push(c);
                lexer.at += 1;
            }
            if lexer.peek(0) != Some('}') || digits.is_empty() || digits.len() > 6 {
                return Err("a bad `\\u{…}` escape".to_owned());
            }
            lexer.at += 1;
            let code = u32::from_str_radix(&digits, 16).map_err(|err| err.to_string())?;
            push_code_point(value, code)?;
        }
        other => return Err(format!("an unknown escape `\\{other}`")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(language: Language, code: &str) -> Vec<(Kind, String)> {
        regions(language, code)
            .unwrap()
            .into_iter()
            .map(|r| (r.kind, r.text))
            .collect()
    }

    #[test]
    fn shell_words_comments_and_expansions() {
        let code = "# a pwned comment\ncurl --url 'https://x/pwned' --header $'a\\x0apwned' \"${SITE_X}\"\"$(n='pwned' awk '$6 == n' \"$jar\")\"\n";
        marker_stays_quoted(Language::Shell, code, "pwned").unwrap();
        assert_eq!(
            literal_values(Language::Shell, code).unwrap(),
            vec!["https://x/pwned", "a\npwned", "pwned", "$6 == n"]
        );
        assert_eq!(
            kinds(Language::Shell, "a#b # c")[0],
            (Kind::Code, "a#b ".to_owned())
        );
        assert_eq!(
            literal_values(
                Language::Shell,
                r"echo 'it'\''s' \
  x"
            )
            .unwrap(),
            vec!["it", "'", "s"]
        );
    }

    #[test]
    fn the_issue_attack_is_caught_in_the_shell() {
        let code = "# TODO: set SITE_X to the meta tag x\ntouch /tmp/pwned\n# of GET /\n";
        let err = marker_stays_quoted(Language::Shell, code, "pwned").unwrap_err();
        assert!(err.contains("touch /tmp/pwned"), "{err}");
        assert!(marker_stays_quoted(Language::Shell, "curl \"pwned\"", "pwned").is_err());
        assert!(marker_stays_quoted(Language::Shell, "curl 'a\u{2028}pwned'", "pwned").is_err());
        assert!(regions(Language::Shell, "curl 'open").is_err());
    }

    #[test]
    fn python_strings_comments_and_f_strings() {
        let code = "x = \"a\\n\\\"pwned\\x00\\u2028\"  # pwned\ny = r\"\\s\" + f\"{len(z)} pwned {{\"\n\"\"\"doc\npwned\"\"\"\n";
        marker_stays_quoted(Language::Python, code, "pwned").unwrap();
        assert_eq!(
            literal_values(Language::Python, code).unwrap(),
            vec!["a\n\"pwned\0\u{2028}", "\\s", "", " pwned {", "doc\npwned"]
        );
        assert!(marker_stays_quoted(Language::Python, "x = \"a\" + pwned", "pwned").is_err());
        assert!(marker_stays_quoted(Language::Python, "x = f\"{pwned}\"", "pwned").is_err());
        assert!(regions(Language::Python, "x = \"a\\qb\"").is_err());
    }

    #[test]
    fn rust_strings_comments_chars_and_lifetimes() {
        let code = "//! pwned */\nfn dig<'a>(x: &'a str) { let _ = (\"a\\u{2028}\\\"pwned\", '.', '\\n', r#\"pwned\"#); }\n";
        marker_stays_quoted(Language::Rust, code, "pwned").unwrap();
        assert_eq!(
            literal_values(Language::Rust, code).unwrap(),
            vec!["a\u{2028}\"pwned", ".", "\n", "pwned"]
        );
        assert!(marker_stays_quoted(Language::Rust, "let pwned = 1;", "pwned").is_err());
        assert!(regions(Language::Rust, "\"\\q\"").is_err());
    }
}
