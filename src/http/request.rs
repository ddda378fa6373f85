//! A request with its body already read, and the parsing every handler
//! needs: path parameters, query strings, forms, JSON, cookies.

use crate::error::{Code, Error, Result};
use crate::support::fields::{strict_json_object, Fields, FromFields};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method};
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
    /// The address the request came in on (the LAN's or the hotspot's).
    pub local: Option<SocketAddr>,
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
                .map_err(|_| Error::bad(Code::RequestNotWholeNumber).with("name", key))
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

    /// The body as a JSON object, read as `T`; malformed bodies and
    /// mistyped fields are 400.
    pub fn json<T: FromFields>(&self) -> Result<T> {
        T::from_fields(&Fields::json(&strict_json_object(&self.body)?))
    }

    /// The body as an HTML form. Text that is not UTF-8, sent as it is or
    /// percent-encoded, is refused (as in JSON), never stored as U+FFFD.
    pub fn form(&self) -> Result<Form> {
        form_fields(&self.body).map(Form).ok_or_else(|| {
            Error::bad(Code::RequestBadForm).with("detail", "text that is not UTF-8")
        })
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

    /// The fields as `T`, the same request type the API reads from JSON.
    /// A field sent more than once fills a list; where `T` wants one value,
    /// the first counts (as in `get`). Fields `T` does not name are ignored.
    pub fn parse<T: FromFields>(&self) -> Result<T> {
        T::from_fields(&Fields::form(&self.0))
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
        .ok_or_else(|| Error::not_found(Code::PageNotFound))
}

/// The non-empty segments of a path as sent, each percent-decoded after
/// splitting, so an encoded `/` (`%2F`) stays inside its segment. In paths
/// `+` is a plus sign; only forms and query strings write spaces as `+`.
pub fn path_segments(raw_path: &str) -> Vec<String> {
    raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| lossy(decode(s, false)))
        .collect()
}

/// A query string's fields; bytes that are not UTF-8 become U+FFFD (a
/// query only finds things, it stores nothing).
pub fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    pairs(text)
        .map(|(key, value)| (percent_decode(key), percent_decode(value)))
        .collect()
}

/// A form body's fields, or `None` if any of its text is not UTF-8.
fn form_fields(body: &[u8]) -> Option<Vec<(String, String)>> {
    let strict = |text| String::from_utf8(decode(text, true)).ok();
    pairs(std::str::from_utf8(body).ok()?)
        .map(|(key, value)| Some((strict(key)?, strict(value)?)))
        .collect()
}

/// The `key=value` pairs of a form or query string, still encoded.
fn pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Decodes a query-string field: `%XX` escapes, and `+` as a space.
pub fn percent_decode(text: &str) -> String {
    lossy(decode(text, true))
}

/// Bytes that are not UTF-8 become U+FFFD.
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Decodes `%XX` escapes; a `%` without two hex digits after it stays as it
/// is.
fn decode(text: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            // Two hex digits exactly: `from_str_radix` would also take a
            // sign, and `%+1` is no escape.
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push((hex(bytes[i + 1]) << 4) | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

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
    fn a_percent_before_a_sign_is_no_escape() {
        // Found by fuzz/http_request: `%+1` decoded to U+0001.
        assert_eq!(percent_decode("%+1%-1%+f"), "% 1%-1% f");
        assert_eq!(path_segments("/%+1/%2F%41"), vec!["%+1", "/A"]);
    }

    #[derive(Debug, PartialEq)]
    struct Everything {
        text: String,
        missing: String,
        number: i64,
        price: Option<i64>,
        absent: Option<i64>,
        ticked: bool,
        unticked: bool,
        off: bool,
        repeated: Vec<String>,
        once: Vec<i64>,
        none: Vec<i64>,
    }

    impl FromFields for Everything {
        fn from_fields(f: &Fields) -> Result<Everything> {
            f.done(Everything {
                text: f.required_text("text"),
                missing: f.text_or_empty("missing"),
                number: f.required_int("number"),
                price: f.int("price"),
                absent: f.int("absent"),
                ticked: f.required_bool("ticked"),
                unticked: f.bool("unticked").unwrap_or(false),
                off: f.required_bool("off"),
                repeated: f.texts("repeated").unwrap_or_default(),
                once: f.ints("once").unwrap_or_default(),
                none: f.ints("none").unwrap_or_default(),
            })
        }
    }

    fn form(body: &str) -> Form {
        Form(parse_urlencoded(body))
    }

    #[test]
    fn forms_read_as_the_structs_json_fills() {
        let parsed: Everything = form(
            "text=J%C3%B6+Doe&number=+-42+&price=7&ticked=on&off=0&repeated=a\
             &repeated=b+c&once=3&csrf=ignored&number=9",
        )
        .parse()
        .unwrap();
        assert_eq!(
            parsed,
            Everything {
                text: "Jö Doe".into(),
                missing: String::new(),
                number: -42,
                price: Some(7),
                absent: None,
                ticked: true,
                unticked: false,
                off: false,
                repeated: vec!["a".into(), "b c".into()],
                once: vec![3],
                none: Vec::new(),
            }
        );
    }

    #[test]
    fn mistyped_or_missing_form_fields_are_bad_requests() {
        let valid = "text=a&number=1&ticked=1&off=false&repeated=x&once=1";
        assert!(form(valid).parse::<Everything>().is_ok());
        for bad in [
            "number=1&ticked=1&off=false",
            "text=a&ticked=1&off=false",
            "text=a&number=x&ticked=1&off=false&repeated=x&once=1",
            "text=a&number=1&ticked=yes&off=false&repeated=x&once=1",
            "text=a&number=1&off=false",
            "text=a&number=1&ticked=1&off=false&repeated=x&once=1&once=z",
            "text=a&number=1&ticked=1&off=false&repeated=x&once=1&once=",
            "text=a&number=1&ticked=1&off=false&repeated=x&once=1&price=",
            "text=a&number=1&ticked=1&off=false&repeated=x&once=1&price=1.5",
        ] {
            match form(bad).parse::<Everything>().failure() {
                Err(Failure::BadRequest(problem)) => {
                    assert_eq!(problem.code, Code::RequestBadForm, "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn order_forms_and_json_make_the_same_request() {
        let from_form: crate::ordering::orders::OrderRequest =
            form("shop_id=2&item=7:2&item=9:1&customer_name=Ann&client_ref=ref-0001&t=x")
                .parse()
                .unwrap();
        let from_json: crate::ordering::orders::OrderRequest = crate::support::fields::from_json(
            r#"{"shop_id": 2, "items": [{"item_id": 7, "qty": 2}, {"item_id": 9, "qty": 1}],
                "customer_name": "Ann", "client_ref": "ref-0001", "total_cents": 1}"#,
        )
        .unwrap();
        assert_eq!(format!("{from_form:?}"), format!("{from_json:?}"));
        for bad in ["item=7", "item=7:x", "item=:1"] {
            let body = format!("shop_id=2&{bad}&client_ref=ref-0001");
            assert!(
                form(&body)
                    .parse::<crate::ordering::orders::OrderRequest>()
                    .is_err(),
                "{bad}"
            );
        }
    }

    fn posted(body: &[u8]) -> Request {
        Request {
            method: Method::POST,
            segments: Vec::new(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body),
            peer: ([127, 0, 0, 1], 1).into(),
            local: None,
        }
    }

    #[test]
    fn form_text_that_is_not_utf8_is_refused_not_replaced() {
        let read = posted(b"name=J%C3%B6&empty=").form().unwrap();
        assert_eq!(read.get("name"), Some("J\u{f6}"));
        for bad in [
            &b"name=%FF%FE"[..],
            b"name=%C3",
            b"%FF=x",
            b"name=\xff\xfe",
            b"ok=1&name=a\xc3",
        ] {
            match posted(bad).form().failure() {
                Err(Failure::BadRequest(problem)) => assert_eq!(problem.code, Code::RequestBadForm),
                Err(other) => panic!("{bad:?}: {other:?}"),
                Ok(form) => panic!("{bad:?} taken as {:?}", form.0),
            }
        }
        // Query strings only find things: there it stays U+FFFD.
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn encoding_round_trips() {
        let text = "a b&c=d/é?";
        assert_eq!(
            percent_decode(&crate::support::text::percent_encode(text)),
            text
        );
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
