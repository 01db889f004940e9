//! A GraphQL executable-document parser, strict enough to trust its answer to one question:
//! which operations (query, mutation, subscription) would a server run? It follows the
//! specification's grammar (October 2021): the lexer knows names, punctuators, numbers, strings
//! and block strings, comments and commas as ignored tokens; the parser knows operations (the
//! `{ … }` shorthand is a query), fragments, selections, arguments, variables, types and
//! directives. Anything outside the grammar, type-system definitions included, is an error, so
//! a document this module accepts reads the same way on the server.

/// Nesting (selection sets, list and object values, list types) beyond which a document is
/// refused instead of parsed: real queries stay far below it, and recursion stays bounded.
pub const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

impl OperationKind {
    pub fn keyword(self) -> &'static str {
        match self {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        }
    }
}

/// One operation the document defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub kind: OperationKind,
    pub name: Option<String>,
}

/// Why a text is not a GraphQL executable document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at byte {at}")]
pub struct SyntaxError {
    pub problem: String,
    pub at: usize,
}

/// The operations `document` defines, in order. Fragment definitions are checked but not
/// listed; a document with only fragments parses to no operations.
pub fn operations(document: &str) -> Result<Vec<Operation>, SyntaxError> {
    let tokens = Lexer::new(document).tokens()?;
    Parser {
        tokens,
        at: 0,
        depth: 0,
    }
    .document()
}

#[derive(Debug, Clone, PartialEq)]
enum Kind<'a> {
    Punctuator(&'static str),
    Name(&'a str),
    Number,
    String,
    End,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind<'a>,
    at: usize,
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

fn error<T>(problem: impl Into<String>, at: usize) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        problem: problem.into(),
        at,
    })
}

/// The one-byte punctuators (`...` is lexed on its own).
fn punctuator(byte: u8) -> Option<&'static str> {
    const ALL: [&str; 13] = [
        "!", "$", "&", "(", ")", ":", "=", "@", "[", "]", "{", "|", "}",
    ];
    ALL.into_iter().find(|text| text.as_bytes() == [byte])
}

fn is_name_start(byte: u8) -> bool {
    byte == b'_' || byte.is_ascii_alphabetic()
}

fn is_name_continue(byte: u8) -> bool {
    byte == b'_' || byte.is_ascii_alphanumeric()
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.at + offset).copied()
    }

    fn tokens(mut self) -> Result<Vec<Token<'a>>, SyntaxError> {
        let mut tokens = Vec::new();
        loop {
            self.skip_ignored()?;
            let start = self.at;
            let Some(byte) = self.peek(0) else {
                tokens.push(Token {
                    kind: Kind::End,
                    at: start,
                });
                return Ok(tokens);
            };
            if let Some(text) = punctuator(byte) {
                self.at += 1;
                tokens.push(Token {
                    kind: Kind::Punctuator(text),
                    at: start,
                });
                continue;
            }
            let kind = match byte {
                b'.' => {
                    if self.peek(1) == Some(b'.') && self.peek(2) == Some(b'.') {
                        self.at += 3;
                        Kind::Punctuator("...")
                    } else {
                        return error("a lone '.' (only '...' is a punctuator)", start);
                    }
                }
                b'"' => {
                    self.string()?;
                    Kind::String
                }
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                    Kind::Number
                }
                byte if is_name_start(byte) => {
                    while self.peek(0).is_some_and(is_name_continue) {
                        self.at += 1;
                    }
                    Kind::Name(&self.text[start..self.at])
                }
                _ => return error("an unexpected character", start),
            };
            tokens.push(Token { kind, at: start });
        }
    }

    /// White space, line terminators, commas, comments and a byte-order mark.
    fn skip_ignored(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek(0) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b',') => self.at += 1,
                Some(b'#') => {
                    while let Some(byte) = self.peek(0) {
                        if byte == b'\n' || byte == b'\r' {
                            break;
                        }
                        self.source_character()?;
                    }
                }
                Some(0xEF) if self.text[self.at..].starts_with('\u{FEFF}') => {
                    self.at += '\u{FEFF}'.len_utf8();
                }
                _ => return Ok(()),
            }
        }
    }

    /// Steps over one character that may appear in a comment or a string: not a control
    /// character other than tab.
    fn source_character(&mut self) -> Result<char, SyntaxError> {
        let Some(character) = self.text[self.at..].chars().next() else {
            return error("an unterminated token", self.at);
        };
        if character.is_control() && character != '\t' {
            return error("a control character", self.at);
        }
        self.at += character.len_utf8();
        Ok(character)
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        let start = self.at;
        if self.peek(0) == Some(b'-') {
            self.at += 1;
        }
        match self.peek(0) {
            Some(b'0') => {
                self.at += 1;
                if self.peek(0).is_some_and(|byte| byte.is_ascii_digit()) {
                    return error("a number with a leading zero", start);
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return error("a '-' without digits", start),
        }
        if self.peek(0) == Some(b'.') {
            self.at += 1;
            if !self.peek(0).is_some_and(|byte| byte.is_ascii_digit()) {
                return error("a fraction without digits", start);
            }
            self.digits();
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(0), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !self.peek(0).is_some_and(|byte| byte.is_ascii_digit()) {
                return error("an exponent without digits", start);
            }
            self.digits();
        }
        if self
            .peek(0)
            .is_some_and(|byte| byte == b'.' || is_name_start(byte))
        {
            return error("a number running into a name or a '.'", start);
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek(0).is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn string(&mut self) -> Result<(), SyntaxError> {
        let start = self.at;
        if self.text[self.at..].starts_with("\"\"\"") {
            self.at += 3;
            loop {
                if self.text[self.at..].starts_with("\"\"\"") {
                    self.at += 3;
                    return Ok(());
                }
                if self.text[self.at..].starts_with("\\\"\"\"") {
                    self.at += 4;
                    continue;
                }
                match self.peek(0) {
                    None => return error("an unterminated block string", start),
                    Some(b'\n' | b'\r') => self.at += 1,
                    Some(_) => {
                        self.source_character()?;
                    }
                }
            }
        }
        self.at += 1;
        loop {
            match self.peek(0) {
                None | Some(b'\n' | b'\r') => return error("an unterminated string", start),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => self.escape()?,
                Some(_) => {
                    self.source_character()?;
                }
            }
        }
    }

    fn escape(&mut self) -> Result<(), SyntaxError> {
        let start = self.at;
        self.at += 1;
        match self.peek(0) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.at += 1;
                Ok(())
            }
            Some(b'u') => {
                self.at += 1;
                if self.peek(0) == Some(b'{') {
                    self.at += 1;
                    let digits_start = self.at;
                    while self.peek(0).is_some_and(|byte| byte.is_ascii_hexdigit()) {
                        self.at += 1;
                    }
                    let digits = &self.text[digits_start..self.at];
                    let scalar = u32::from_str_radix(digits, 16)
                        .ok()
                        .and_then(char::from_u32);
                    if self.peek(0) != Some(b'}') || digits.is_empty() || scalar.is_none() {
                        return error("an invalid \\u{…} escape", start);
                    }
                    self.at += 1;
                    return Ok(());
                }
                for _ in 0..4 {
                    if !self.peek(0).is_some_and(|byte| byte.is_ascii_hexdigit()) {
                        return error("an invalid \\u escape", start);
                    }
                    self.at += 1;
                }
                Ok(())
            }
            _ => error("an invalid escape", start),
        }
    }
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Kind<'a> {
        // The lexer always ends the list with `End`, and nothing advances past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)].kind
    }

    fn position(&self) -> usize {
        self.tokens[self.at.min(self.tokens.len() - 1)].at
    }

    fn advance(&mut self) {
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
    }

    fn is(&self, punctuator: &str) -> bool {
        matches!(self.peek(), Kind::Punctuator(p) if *p == punctuator)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Kind::Name(n) if *n == name)
    }

    fn unexpected<T>(&self, expected: &str) -> Result<T, SyntaxError> {
        let found = match self.peek() {
            Kind::Punctuator(p) => format!("'{p}'"),
            Kind::Name(name) => format!("the name {name}"),
            Kind::Number => "a number".to_owned(),
            Kind::String => "a string".to_owned(),
            Kind::End => "the end".to_owned(),
        };
        error(
            format!("expected {expected}, found {found}"),
            self.position(),
        )
    }

    fn expect(&mut self, punctuator: &str) -> Result<(), SyntaxError> {
        if !self.is(punctuator) {
            return self.unexpected(&format!("'{punctuator}'"));
        }
        self.advance();
        Ok(())
    }

    fn name(&mut self) -> Result<&'a str, SyntaxError> {
        match *self.peek() {
            Kind::Name(name) => {
                self.advance();
                Ok(name)
            }
            _ => self.unexpected("a name"),
        }
    }

    fn nest(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return error(format!("nesting deeper than {MAX_DEPTH}"), self.position());
        }
        Ok(())
    }

    fn document(mut self) -> Result<Vec<Operation>, SyntaxError> {
        if *self.peek() == Kind::End {
            return self.unexpected("an operation or a fragment");
        }
        let mut operations = Vec::new();
        while *self.peek() != Kind::End {
            if let Some(operation) = self.definition()? {
                operations.push(operation);
            }
        }
        Ok(operations)
    }

    fn definition(&mut self) -> Result<Option<Operation>, SyntaxError> {
        if self.is("{") {
            self.selection_set()?;
            return Ok(Some(Operation {
                kind: OperationKind::Query,
                name: None,
            }));
        }
        let kind = match *self.peek() {
            Kind::Name("query") => OperationKind::Query,
            Kind::Name("mutation") => OperationKind::Mutation,
            Kind::Name("subscription") => OperationKind::Subscription,
            Kind::Name("fragment") => {
                self.advance();
                self.fragment_name()?;
                self.type_condition()?;
                self.directives(true)?;
                self.selection_set()?;
                return Ok(None);
            }
            _ => return self.unexpected("an operation or a fragment"),
        };
        self.advance();
        let name = match *self.peek() {
            Kind::Name(name) => {
                self.advance();
                Some(name.to_owned())
            }
            _ => None,
        };
        if self.is("(") {
            self.variable_definitions()?;
        }
        self.directives(false)?;
        self.selection_set()?;
        Ok(Some(Operation { kind, name }))
    }

    fn fragment_name(&mut self) -> Result<(), SyntaxError> {
        if self.is_name("on") {
            return self.unexpected("a fragment name (not 'on')");
        }
        self.name().map(drop)
    }

    fn type_condition(&mut self) -> Result<(), SyntaxError> {
        if !self.is_name("on") {
            return self.unexpected("'on'");
        }
        self.advance();
        self.name().map(drop)
    }

    fn selection_set(&mut self) -> Result<(), SyntaxError> {
        self.expect("{")?;
        self.nest()?;
        loop {
            self.selection()?;
            if self.is("}") {
                break;
            }
        }
        self.advance();
        self.depth -= 1;
        Ok(())
    }

    fn selection(&mut self) -> Result<(), SyntaxError> {
        if self.is("...") {
            self.advance();
            if matches!(self.peek(), Kind::Name(name) if *name != "on") {
                self.advance();
                return self.directives(false);
            }
            if self.is_name("on") {
                self.type_condition()?;
            }
            self.directives(false)?;
            return self.selection_set();
        }
        self.name()?;
        if self.is(":") {
            self.advance();
            self.name()?;
        }
        if self.is("(") {
            self.arguments(false)?;
        }
        self.directives(false)?;
        if self.is("{") {
            self.selection_set()?;
        }
        Ok(())
    }

    fn arguments(&mut self, constant: bool) -> Result<(), SyntaxError> {
        self.expect("(")?;
        loop {
            self.name()?;
            self.expect(":")?;
            self.value(constant)?;
            if self.is(")") {
                break;
            }
        }
        self.advance();
        Ok(())
    }

    fn directives(&mut self, constant: bool) -> Result<(), SyntaxError> {
        while self.is("@") {
            self.advance();
            self.name()?;
            if self.is("(") {
                self.arguments(constant)?;
            }
        }
        Ok(())
    }

    fn variable_definitions(&mut self) -> Result<(), SyntaxError> {
        self.expect("(")?;
        loop {
            self.expect("$")?;
            self.name()?;
            self.expect(":")?;
            self.type_reference()?;
            if self.is("=") {
                self.advance();
                self.value(true)?;
            }
            self.directives(true)?;
            if self.is(")") {
                break;
            }
        }
        self.advance();
        Ok(())
    }

    fn type_reference(&mut self) -> Result<(), SyntaxError> {
        if self.is("[") {
            self.advance();
            self.nest()?;
            self.type_reference()?;
            self.expect("]")?;
            self.depth -= 1;
        } else {
            self.name()?;
        }
        if self.is("!") {
            self.advance();
        }
        Ok(())
    }

    fn value(&mut self, constant: bool) -> Result<(), SyntaxError> {
        match *self.peek() {
            Kind::Punctuator("$") if !constant => {
                self.advance();
                self.name().map(drop)
            }
            Kind::Number | Kind::String | Kind::Name(_) => {
                self.advance();
                Ok(())
            }
            Kind::Punctuator("[") => {
                self.advance();
                self.nest()?;
                while !self.is("]") {
                    self.value(constant)?;
                }
                self.advance();
                self.depth -= 1;
                Ok(())
            }
            Kind::Punctuator("{") => {
                self.advance();
                self.nest()?;
                while !self.is("}") {
                    self.name()?;
                    self.expect(":")?;
                    self.value(constant)?;
                }
                self.advance();
                self.depth -= 1;
                Ok(())
            }
            _ if constant => self.unexpected("a constant value"),
            _ => self.unexpected("a value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(document: &str) -> Vec<OperationKind> {
        operations(document)
            .unwrap_or_else(|err| panic!("{document:?}: {err}"))
            .into_iter()
            .map(|operation| operation.kind)
            .collect()
    }

    fn fails(document: &str) -> SyntaxError {
        operations(document).expect_err(document)
    }

    #[test]
    fn the_shorthand_is_an_anonymous_query() {
        assert_eq!(
            operations("{ products { id } }").unwrap(),
            [Operation {
                kind: OperationKind::Query,
                name: None
            }]
        );
    }

    #[test]
    fn reads_every_operation_kind_and_name() {
        let found = operations(
            "query A { a } mutation B($id: ID!) { b(id: $id) { ok } } subscription { c }",
        )
        .unwrap();
        assert_eq!(
            found,
            [
                Operation {
                    kind: OperationKind::Query,
                    name: Some("A".into())
                },
                Operation {
                    kind: OperationKind::Mutation,
                    name: Some("B".into())
                },
                Operation {
                    kind: OperationKind::Subscription,
                    name: None
                },
            ]
        );
    }

    #[test]
    fn parses_the_whole_executable_grammar() {
        let document = r#"
            # a comment, then a BOM-free document with every construct
            query Products($first: Int = 10, $after: String, $filter: Filter = {tags: ["a", "b"], min: -1.5e3}) @cached(ttl: 60) {
              shop { ...ShopFields }
              products(first: $first, after: $after, filter: $filter, order: PRICE_ASC, flag: true, none: null) {
                edges { node { id, name: title @include(if: true) ... on Lamp { watts } ... @skip(if: false) { id } } }
              }
              text(note: """a "block" string with \""" inside
              and a line""", escaped: "tab\t\u00e9\u{1F600}")
            }
            fragment ShopFields on Shop @deprecated { name currency }
        "#;
        assert_eq!(kinds(document), [OperationKind::Query]);
    }

    #[test]
    fn keywords_are_names_inside_selections() {
        assert_eq!(
            kinds("{ query mutation subscription fragment on }"),
            [OperationKind::Query]
        );
        assert_eq!(
            kinds("query { search(text: \"mutation { x }\") { id } }"),
            [OperationKind::Query]
        );
        assert_eq!(
            kinds("# mutation { x }\nquery { a }"),
            [OperationKind::Query]
        );
    }

    #[test]
    fn a_document_of_fragments_has_no_operation() {
        assert_eq!(kinds("fragment F on T { a }"), []);
    }

    #[test]
    fn refuses_what_is_not_an_executable_document() {
        for document in [
            "",
            "   # only a comment",
            "type Query { a: Int }",
            "schema { query: Q }",
            "Mutation { x }",
            "query { }",
            "query { a ",
            "query { a(b: ) }",
            "query ($a: Int = $b) { a }",
            "fragment on on T { a }",
            "fragment F { a }",
            "{ a(b: 01) }",
            "{ a(b: 1.) }",
            "{ a(b: 1e) }",
            "{ a(b: 1x) }",
            "{ a(b: \"unterminated) }",
            "{ a(b: \"line\nbreak\") }",
            "{ a(b: \"bad \\q escape\") }",
            "{ a(b: \"bad \\u12 escape\") }",
            "{ a(b: \"\\u{D800}\") }",
            "{ a(b: \"\"\"open block) }",
            "{ a . b }",
            "{ a \u{0} }",
            "query { a } extra",
            "{ a } ; mutation { b }",
        ] {
            let err = fails(document);
            assert!(!err.problem.is_empty(), "{document:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}{}", "{ a ".repeat(100_000), "}".repeat(100_000));
        assert!(fails(&deep).problem.contains("nesting"));
        let list = format!("{{ a(b: {}) }}", "[".repeat(100_000));
        assert!(fails(&list).problem.contains("nesting"));
        let within = format!(
            "{}b{}",
            "{ a ".repeat(MAX_DEPTH - 1),
            " }".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(kinds(&within), [OperationKind::Query]);
    }

    #[test]
    fn commas_and_byte_order_marks_are_ignored() {
        assert_eq!(kinds("\u{FEFF}query,Q,{,a,,b,}"), [OperationKind::Query]);
    }
}
