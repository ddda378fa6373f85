//! Checks and clean-up for the text people type: names, notes, descriptions.
//! Stored text never carries control characters (NUL, ESC, stray line
//! breaks in a name) or bidirectional overrides that make a name display
//! in a different order than it is stored.

use crate::error::{Code, Error, Result};

/// The number a constant's decimal text says, read at compile time: the
/// command line's defaults are text, and the code needs their values too.
pub(crate) const fn decimal(text: &str) -> i64 {
    let digits = text.as_bytes();
    let mut value = 0;
    let mut at = 0;
    while at < digits.len() {
        assert!(digits[at].is_ascii_digit(), "not a decimal number");
        value = value * 10 + (digits[at] - b'0') as i64;
        at += 1;
    }
    value
}

/// Bidirectional embeddings, overrides and isolates, and the invisible marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line of text: line breaks and tabs become spaces, other control
/// characters are dropped.
pub(crate) fn clean_line(value: &str) -> String {
    value
        .chars()
        .filter(|&c| !is_bidi_control(c))
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Text of several lines (notes, descriptions): line breaks stay as `\n`,
/// tabs become spaces, other control characters are dropped.
pub(crate) fn clean_text(value: &str) -> String {
    value
        .replace("\r\n", "\n")
        .chars()
        .filter(|&c| !is_bidi_control(c))
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

pub(crate) fn check_length(field: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.chars().count() > max_chars {
        return Err(Error::bad(Code::FieldTooLong)
            .with_key("field", field_key(field))
            .with("max", max_chars));
    }
    Ok(())
}

/// The catalogue entry naming a form field in messages.
fn field_key(field: &str) -> String {
    format!("field.{field}")
}

/// A cleaned, trimmed, non-empty line of at most `max_chars` characters.
pub(crate) fn required(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let value = optional_line(field, value, max_chars)?;
    if value.is_empty() {
        return Err(Error::bad(Code::FieldRequired).with_key("field", field_key(field)));
    }
    Ok(value)
}

/// A cleaned, trimmed line of at most `max_chars` characters (may be empty).
pub(crate) fn optional_line(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let value = clean_line(value).trim().to_string();
    check_length(field, &value, max_chars)?;
    Ok(value)
}

/// Cleaned, trimmed text of several lines, at most `max_chars` characters.
pub(crate) fn optional_text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let value = clean_text(value).trim().to_string();
    check_length(field, &value, max_chars)?;
    Ok(value)
}

/// Text for one log line: control and bidi characters are shown escaped,
/// so a name with a line break cannot forge a second log line.
pub(crate) fn for_log(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Percent-encodes a URL component (a query value, a path segment).
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    percent_encode_into(&mut encoded, text);
    encoded
}

/// `percent_encode` appended to `out`: captive redirects write the URL a
/// phone asked for straight into the page they send.
pub fn percent_encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_control_and_bidi_characters() {
        assert_eq!(
            clean_line("Ann\0\u{1b}[31m\nBob\u{202E}x\t"),
            "Ann[31m Bobx "
        );
        assert_eq!(
            required("name", "  \u{1b}  ", 10),
            Err(Error::bad(Code::FieldRequired).with_key("field", "field.name"))
        );
        assert_eq!(required("name", " Zoë ", 10).unwrap(), "Zoë");
    }

    #[test]
    fn notes_keep_their_line_breaks() {
        assert_eq!(
            clean_text("no onions\r\nextra\u{7}\u{2066} chili\n"),
            "no onions\nextra chili\n"
        );
        assert_eq!(optional_text("note", " a\nb ", 10).unwrap(), "a\nb");
        assert!(optional_text("note", "abcdefghijk", 10).is_err());
    }

    #[test]
    fn log_text_cannot_break_the_line() {
        assert_eq!(for_log("'a'\nINFO fake\u{1b}"), "'a'\\nINFO fake\\u{1b}");
    }
}
