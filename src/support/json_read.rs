//! JSON as clients send it, read by hand: one small reader where
//! serde_json's generic parser and serde's visitors took about 30 KB of
//! the mips binary. It takes what serde_json takes (RFC 8259, UTF-8, at
//! most 127 levels of nesting) and refuses an object that names a key
//! twice. Its work is linear in the text, but for sorting each object's
//! keys.

use std::fmt;

/// Levels of nesting refused, as serde_json's recursion limit does.
const MAX_DEPTH: usize = 128;

/// A JSON value. A number is `Int` when it has no fraction or exponent
/// and fits an `i64`, `Number` otherwise.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Number(f64),
    Text(String),
    List(Vec<Json>),
    Object(Object),
}

/// An object's members, in key order (bytes), each key once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object(Vec<(String, Json)>);

impl Object {
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`, replacing its value if it has one.
    pub fn insert(&mut self, key: &str, value: Json) {
        match self.find(key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key.to_string(), value)),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn into_members(self) -> Vec<(String, Json)> {
        self.0
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Int(n)
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Json {
        Json::Text(text.to_string())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::Text(text)
    }
}

impl From<Option<i64>> for Json {
    fn from(n: Option<i64>) -> Json {
        n.map_or(Json::Null, Json::Int)
    }
}

impl From<Object> for Json {
    fn from(object: Object) -> Json {
        Json::Object(object)
    }
}

/// Why a text is not JSON, and the byte where that was found.
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub what: &'static str,
    pub at: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// The JSON value `text` holds, with nothing but white space around it.
pub fn parse(text: &[u8]) -> Result<Json, ParseError> {
    let text = std::str::from_utf8(text).map_err(|e| ParseError {
        what: "invalid UTF-8",
        at: e.valid_up_to(),
    })?;
    let mut reader = Reader { text, at: 0 };
    let value = reader.value(0)?;
    reader.skip_space();
    if reader.at < text.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &'static str) -> ParseError {
        ParseError { what, at: self.at }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Takes `byte` after any white space.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn value(&mut self, depth: usize) -> Result<Json, ParseError> {
        self.skip_space();
        let Some(first) = self.peek() else {
            return Err(self.error("expected a value"));
        };
        match first {
            b'"' => self.text().map(Json::Text),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' | b'{' => {
                if depth + 1 >= MAX_DEPTH {
                    return Err(self.error("nested too deeply"));
                }
                self.at += 1;
                if first == b'[' {
                    self.list(depth + 1).map(Json::List)
                } else {
                    self.object(depth + 1).map(Json::Object)
                }
            }
            _ => self.word(),
        }
    }

    fn word(&mut self) -> Result<Json, ParseError> {
        let rest = &self.text[self.at..];
        for (word, value) in [
            ("null", Json::Null),
            ("true", Json::Bool(true)),
            ("false", Json::Bool(false)),
        ] {
            if rest.starts_with(word) {
                self.at += word.len();
                return Ok(value);
            }
        }
        Err(self.error("expected a value"))
    }

    fn list(&mut self, depth: usize) -> Result<Vec<Json>, ParseError> {
        let mut values = Vec::new();
        if self.eat(b']') {
            return Ok(values);
        }
        loop {
            values.push(self.value(depth)?);
            if self.eat(b']') {
                return Ok(values);
            }
            if !self.eat(b',') {
                return Err(self.error("expected `,` or `]`"));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Object, ParseError> {
        let mut members = Vec::new();
        if !self.eat(b'}') {
            loop {
                self.skip_space();
                if self.peek() != Some(b'"') {
                    return Err(self.error("expected a key"));
                }
                let key = self.text()?;
                if !self.eat(b':') {
                    return Err(self.error("expected `:`"));
                }
                members.push((key, self.value(depth)?));
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("expected `,` or `}`"));
                }
            }
        }
        members.sort_by(|(a, _), (b, _)| a.cmp(b));
        if members.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(self.error("duplicate key"));
        }
        Ok(Object(members))
    }

    /// A string, its opening quote at `at`.
    fn text(&mut self) -> Result<String, ParseError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.at..];
            let plain = rest
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or(ParseError {
                    what: "unterminated string",
                    at: self.text.len(),
                })?;
            out.push_str(&rest[..plain]);
            self.at += plain;
            match self.text.as_bytes()[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.at += 1;
                    out.push(self.escape()?);
                }
                _ => return Err(self.error("control character in string")),
            }
        }
    }

    /// The character an escape after its backslash stands for.
    fn escape(&mut self) -> Result<char, ParseError> {
        let Some(letter) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.at += 1;
        Ok(match letter {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => {
                self.at -= 1;
                return Err(self.error("invalid escape"));
            }
        })
    }

    /// `\uXXXX`, or two of them for a character beyond the BMP.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.at..].starts_with("\\u") {
                    return Err(self.error("lone leading surrogate"));
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate")),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid escape"))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        self.at += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Json, ParseError> {
        let start = self.at;
        self.at += usize::from(self.peek() == Some(b'-'));
        let leading_zero = self.peek() == Some(b'0');
        let whole = self.digits();
        if whole == 0 || (leading_zero && whole > 1) {
            return Err(self.error("invalid number"));
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        let text = &self.text[start..self.at];
        // serde_json reads `-0` as the float -0.0.
        if integer && text != "-0" {
            if let Ok(n) = text.parse() {
                return Ok(Json::Int(n));
            }
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Json::Number(x)),
            _ => Err(ParseError {
                what: "number out of range",
                at: start,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(members: &[(&str, Json)]) -> Json {
        let mut object = Object::default();
        for (key, value) in members {
            object.insert(key, value.clone());
        }
        Json::Object(object)
    }

    #[test]
    fn reads_every_kind_of_value() {
        let value = parse(
            br#" {"b": [1, -2, 0.5, 1e3, "x\u00e9\ud83c\udf54\n", true, false, null], "a": {}} "#,
        )
        .unwrap();
        let list = Json::List(vec![
            Json::Int(1),
            Json::Int(-2),
            Json::Number(0.5),
            Json::Number(1000.0),
            Json::Text("xé🍔\n".into()),
            Json::Bool(true),
            Json::Bool(false),
            Json::Null,
        ]);
        assert_eq!(value, object(&[("a", object(&[])), ("b", list)]));
    }

    #[test]
    fn keys_are_sorted_and_found() {
        let Json::Object(members) = parse(br#"{"z": 1, "a": 2, "m": 3}"#).unwrap() else {
            panic!("not an object");
        };
        assert_eq!(members.keys().collect::<Vec<_>>(), ["a", "m", "z"]);
        assert_eq!(members.get("m"), Some(&Json::Int(3)));
        assert_eq!(members.get("q"), None);
    }

    #[test]
    fn numbers_beyond_i64_are_not_whole_numbers() {
        assert_eq!(parse(b"9223372036854775807").unwrap(), Json::Int(i64::MAX));
        assert_eq!(parse(b"-9223372036854775808").unwrap(), Json::Int(i64::MIN));
        assert_eq!(
            parse(b"9223372036854775808").unwrap(),
            Json::Number(9223372036854775808.0)
        );
        assert_eq!(parse(b"-0").unwrap(), Json::Number(-0.0));
        assert_eq!(parse(b"5.0").unwrap(), Json::Number(5.0));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for (text, what) in [
            (&b""[..], "expected a value"),
            (b"  ", "expected a value"),
            (b"{\"a\": 1, \"a\": 2}", "duplicate key"),
            (b"[{\"k\": 1, \"k\": 1}]", "duplicate key"),
            (b"{\"a\": 1,}", "expected a key"),
            (b"[1,]", "expected a value"),
            (b"[1 2]", "expected `,` or `]`"),
            (b"{\"a\" 1}", "expected `:`"),
            (b"{a: 1}", "expected a key"),
            (b"01", "invalid number"),
            (b"1.", "invalid number"),
            (b".5", "expected a value"),
            (b"-", "invalid number"),
            (b"+1", "expected a value"),
            (b"1e", "invalid number"),
            (b"1e999", "number out of range"),
            (b"nul", "expected a value"),
            (b"truex", "trailing characters"),
            (b"\"abc", "unterminated string"),
            (b"\"a\tb\"", "control character in string"),
            (b"\"\\x\"", "invalid escape"),
            (b"\"\\u12\"", "invalid \\u escape"),
            (b"\"\\ud800\"", "lone leading surrogate"),
            (b"\"\\ud800\\u0041\"", "lone leading surrogate"),
            (b"\"\\udc00\"", "lone trailing surrogate"),
            (b"\"\xff\"", "invalid UTF-8"),
            (b"{} {}", "trailing characters"),
        ] {
            assert_eq!(
                parse(text).map_err(|e| e.what),
                Err(what),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn nesting_is_bounded_as_serde_json_bounds_it() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse(nested(127).as_bytes()).is_ok());
        assert_eq!(
            parse(nested(128).as_bytes()).map_err(|e| e.what),
            Err("nested too deeply")
        );
        let deep = "{\"a\":".repeat(100_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    /// serde_json (a dev-dependency) as the reference: every text of a
    /// generated corpus is taken or refused by both, as the same value.
    #[test]
    fn agrees_with_serde_json() {
        let pieces: [&[u8]; 34] = [
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b" ",
            b"\"k\"",
            b"\"a\"",
            b"\"\\u00e9\"",
            b"\"\\ud83c\\udf54\"",
            b"\"\\ud83c\"",
            b"\"\\n\\t\\/\"",
            b"\"\\q\"",
            b"0",
            b"-1",
            b"12",
            b"1.5",
            b"-0.0",
            b"2e3",
            b"1E-2",
            b"01",
            b"1.",
            b"-",
            b"99999999999999999999",
            b"9223372036854775808",
            b"true",
            b"false",
            b"null",
            b"nul",
            b"\"\t\"",
            b"\xc3\xa9",
            b"\"\xc3\xa9\"",
            b"\n",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut taken, mut refused) = (0, 0);
        for _ in 0..200_000 {
            let mut text = Vec::new();
            for _ in 0..1 + next(12) {
                text.extend_from_slice(pieces[next(pieces.len())]);
            }
            let ours = parse(&text);
            let theirs = serde_json::from_slice::<serde_json::Value>(&text);
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => {
                    // serde_json keeps the last of duplicate keys, so
                    // a text both take has none.
                    assert!(same(ours, theirs), "{}", String::from_utf8_lossy(&text));
                    taken += 1;
                }
                (Err(_), Err(_)) => refused += 1,
                (Err(e), Ok(_)) if e.what == "duplicate key" => refused += 1,
                _ => panic!(
                    "{}: ours {ours:?}, serde_json {theirs:?}",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
        assert!(
            taken > 10_000 && refused > 10_000,
            "{taken} taken, {refused} refused"
        );
    }

    fn same(ours: &Json, theirs: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (ours, theirs) {
            (Json::Null, Value::Null) => true,
            (Json::Bool(a), Value::Bool(b)) => a == b,
            (Json::Int(a), Value::Number(b)) => b.as_i64() == Some(*a),
            // serde_json's default float reading may be a unit in the last
            // place off; Rust's is exact.
            (Json::Number(a), Value::Number(b)) => {
                b.as_i64().is_none() && b.as_f64().is_some_and(|b| (a - b).abs() <= a.abs() * 1e-15)
            }
            (Json::Text(a), Value::String(b)) => a == b,
            (Json::List(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
            }
            (Json::Object(a), Value::Object(b)) => {
                a.0.len() == b.len()
                    && a.0
                        .iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
            }
            _ => false,
        }
    }
}
