//! Text from outside recon (the server's answers, and the site strings inside them such as a
//! GraphQL operation name in a step summary; library and browser error messages) made safe to
//! print on a terminal. Escape sequences could clear the screen, rewrite lines already shown,
//! retitle the window or write the clipboard (OSC 52); bidi controls reorder what the user reads.
//! Every such sequence is dropped whole, every other control character is dropped (line breaks
//! and tabs become a space), and printable Unicode is kept.

use serde_json::Value;

/// `text` with no escape sequence, control character or bidi control left in it.
pub fn terminal_safe(text: &str) -> String {
    if !text.chars().any(needs_care) {
        return text.to_owned();
    }
    let mut safe = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // The 8-bit forms of CSI, and of DCS, SOS, OSC, PM and APC.
            '\u{9b}' => skip_control_sequence(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_control_string(&mut chars),
            '\t' | '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                safe.push(' ')
            }
            c if c.is_control() || is_bidi_control(c) => {}
            c => safe.push(c),
        }
    }
    safe
}

/// Makes every string in a JSON answer (object keys included) [`terminal_safe`], so nothing
/// decoded from the server can carry a control sequence to a print statement.
pub fn make_json_terminal_safe(value: &mut Value) {
    match value {
        Value::String(text) => {
            if text.chars().any(needs_care) {
                *text = terminal_safe(text);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_json_terminal_safe),
        Value::Object(map) => {
            if map.keys().any(|key| key.chars().any(needs_care)) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(key, value)| (terminal_safe(&key), value))
                    .collect();
            }
            map.values_mut().for_each(make_json_terminal_safe);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn needs_care(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || c == '\u{2028}' || c == '\u{2029}'
}

/// Unicode's Bidi_Control characters: marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: the rest of the sequence it starts (ECMA-48 and ISO 2022 shapes).
fn skip_escape(chars: &mut Chars) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_control_sequence(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_control_string(chars);
        }
        Some('\u{20}'..='\u{2f}') => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
        }
        Some('\u{30}'..='\u{7e}') => {
            chars.next();
        }
        // A lone ESC: whatever follows is read as text again.
        _ => {}
    }
}

/// CSI's parameter and intermediate bytes, then its final byte.
fn skip_control_sequence(chars: &mut Chars) {
    while chars
        .next_if(|c| ('\u{20}'..='\u{3f}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// An OSC, DCS, SOS, PM or APC string up to its terminator (BEL, ST or ESC \). An unterminated
/// one runs to the end of the text, as a terminal would swallow it.
fn skip_control_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.next_if_eq(&'\\').is_none() {
                    // ESC ends the string and starts a sequence of its own.
                    skip_escape(chars);
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_kept_as_it_is() {
        for text in [
            "plain",
            "Café ✓ 日本語 — “quoted” 🚀",
            "[detection] started: 3 vendors",
        ] {
            assert_eq!(terminal_safe(text), text);
        }
    }

    #[test]
    fn escape_sequences_are_dropped_whole() {
        let cases = [
            ("a\u{1b}[2Jb", "ab"),
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("x\u{1b}[?1049hy", "xy"),
            ("\u{1b}]52;c;ZWNobyBwd25lZA==\u{07}after", "after"),
            ("\u{1b}]52;c;ZWNobyBwd25lZA==\u{1b}\\after", "after"),
            ("\u{1b}]0;new title\u{9c}after", "after"),
            (
                "\u{1b}]8;;https://evil.example\u{07}link\u{1b}]8;;\u{07}",
                "link",
            ),
            ("\u{1b}P1$r0m\u{1b}\\dcs", "dcs"),
            ("\u{1b}(Bcharset", "charset"),
            ("\u{1b}7saved\u{1b}8", "saved"),
            ("\u{9b}2Jc1 csi", "c1 csi"),
            ("\u{9d}52;c;AAAA\u{07}c1 osc", "c1 osc"),
            ("trailing \u{1b}", "trailing "),
            ("\u{1b}]52;c;never ends", ""),
            ("\u{1b}]0;title\u{1b}[2Jrest", "rest"),
        ];
        for (raw, safe) in cases {
            assert_eq!(terminal_safe(raw), safe, "{raw:?}");
        }
    }

    #[test]
    fn other_controls_and_bidi_controls_are_dropped_and_line_breaks_become_spaces() {
        assert_eq!(terminal_safe("ding\u{07}\u{7f}\u{0}\u{85}x"), "ding x");
        assert_eq!(
            terminal_safe("one\ntwo\r\nthree\tfour"),
            "one two  three four"
        );
        assert_eq!(
            terminal_safe("admin\u{202e}txt.exe\u{202c} \u{2066}x\u{2069}\u{200f}"),
            "admintxt.exe x"
        );
    }

    #[test]
    fn no_character_survives_that_a_terminal_would_act_on() {
        // Every Unicode scalar, alone and as the introducer of a sequence.
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            for text in [format!("{c}"), format!("a{c}[2J{c}]52;c;x\u{07}b")] {
                let safe = terminal_safe(&text);
                assert!(!safe.chars().any(needs_care), "{text:?} became {safe:?}");
            }
        }
    }

    #[test]
    fn every_string_of_a_json_answer_is_made_safe() {
        let mut value = serde_json::json!({
            "message": "top: \u{1b}[2Jquery",
            "nested": [{"op": "Search\u{202e}"}, 7, null],
            "key\u{1b}[1m": true,
        });
        make_json_terminal_safe(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "message": "top: query",
                "nested": [{"op": "Search"}, 7, null],
                "key": true,
            })
        );
    }
}
