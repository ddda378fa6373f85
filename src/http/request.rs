//! A request with its body already read, and the parsing every handler
//! needs: path parameters, query strings, forms, JSON, cookies.

use crate::error::{Error, Result};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

pub struct Request {
    pub method: Method,
    /// The path's non-empty segments, each percent-decoded on its own
    /// (`path_segments`): what routes match.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
}

impl Request {
    pub fn is_api(&self) -> bool {
        self.segments.first().is_some_and(|s| s == "api")
    }

    /// A query-string parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        lookup(&self.query, key)
    }

    /// An integer query parameter, with `default` when absent.
    pub fn int_param(&self, key: &str, default: i64) -> Result<i64> {
        self.param(key).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| Error::bad(format!("{key} must be a whole number")))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
    }

    /// The body as JSON of type `T`; malformed or mistyped bodies are 400.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::bad(format!("invalid JSON: {e}")))
    }

    /// The body as an HTML form.
    pub fn form(&self) -> Form {
        Form(parse_urlencoded(&String::from_utf8_lossy(&self.body)))
    }
}

/// Fields of an `application/x-www-form-urlencoded` body.
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, key: &str) -> Option<&str> {
        lookup(&self.0, key)
    }

    /// A field that may be empty but is taken as "" when missing.
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or("").to_string()
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A checkbox: present means ticked.
    pub fn checked(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Parses a path segment of digits as an id; anything else is "not found".
pub fn id(segment: &str) -> Result<i64> {
    Some(segment)
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .filter(|&id: &i64| id > 0)
        .ok_or_else(|| Error::not_found("page"))
}

/// The non-empty segments of a path as sent, each percent-decoded after
/// splitting, so an encoded `/` (`%2F`) stays inside its segment. In paths
/// `+` is a plus sign; only forms and query strings write spaces as `+`.
pub fn path_segments(raw_path: &str) -> Vec<String> {
    raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| decode(s, false))
        .collect()
}

pub fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// Decodes a form or query-string field: `%XX` escapes, and `+` as a space.
pub fn percent_decode(text: &str) -> String {
    decode(text, true)
}

/// Decodes `%XX` escapes; a `%` without two hex digits after it stays as it
/// is, and bytes that are not UTF-8 become U+FFFD.
fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query-string value.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_and_queries() {
        let pairs = parse_urlencoded("a=1&name=J%C3%B6+Doe&empty=&flag&bad=%zz&end=%4");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("name".into(), "Jö Doe".into()),
                ("empty".into(), "".into()),
                ("flag".into(), "".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }

    #[test]
    fn encoding_round_trips() {
        let text = "a b&c=d/é?";
        assert_eq!(percent_decode(&percent_encode(text)), text);
    }

    #[test]
    fn ids_must_be_positive_numbers() {
        assert_eq!(id("42"), Ok(42));
        for bad in ["0", "-1", "x", "+1", " 1", "", "99999999999999999999"] {
            assert!(id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_split_before_their_segments_are_decoded() {
        assert_eq!(path_segments("/shops/1%2F2"), ["shops", "1/2"]);
        assert_eq!(path_segments("/shops/1/2"), ["shops", "1", "2"]);
        assert_eq!(path_segments("/a+b/c%20d/e%2Bf"), ["a+b", "c d", "e+f"]);
        assert_eq!(path_segments("//api///shops/"), ["api", "shops"]);
        assert_eq!(path_segments("/%61pi/%73hops"), ["api", "shops"]);
        assert!(path_segments("/").is_empty());
    }

    #[test]
    fn percent_junk_in_paths_decodes_without_panicking() {
        assert_eq!(
            path_segments("/%/%%/%4/%zz/%G1/a%"),
            ["%", "%%", "%4", "%zz", "%G1", "a%"]
        );
        // Escapes that are not UTF-8, and an escape cut by a multi-byte char.
        assert_eq!(
            path_segments("/%FF%FE/%C3"),
            ["\u{FFFD}\u{FFFD}", "\u{FFFD}"]
        );
        assert_eq!(
            path_segments("/%\u{e9}x/%4\u{e9}"),
            ["%\u{e9}x", "%4\u{e9}"]
        );
        assert_eq!(path_segments("/%00"), ["\0"]);
    }
}
