//! Request bodies read field by field, the same way from JSON and from an
//! HTML form, without a serde-derived deserialiser per request type: each
//! type's `FromFields` asks for its fields through the few non-generic
//! readers here, so the binary holds one JSON reader and one form reader.
//! A form sends only text: numbers and booleans are read from it, a field
//! sent more than once is a list, and where one value is wanted the first
//! counts. In JSON, `null` is a field not sent, except where a value may
//! be cleared. Fields a type does not ask for are ignored.

use crate::error::{Code, Error, Result};
use crate::support::json_read::{self, Json, Object};
use std::cell::Cell;

/// A request type read from a body's fields.
pub trait FromFields: Sized {
    fn from_fields(fields: &Fields) -> Result<Self>;
}

/// A body's fields: a JSON object's, or an HTML form's (key, value) pairs.
/// Each reader hands back a value (none, empty or zero when the field was
/// sent wrong) and keeps the first error for `done`: a type's reader is
/// then one straight line, not a branch and a clean-up per field.
pub struct Fields<'a> {
    source: Source<'a>,
    error: Cell<Option<Error>>,
}

#[derive(Clone, Copy)]
enum Source<'a> {
    Json(&'a Object),
    Form(&'a [(String, String)]),
}

/// One entry of a list: text (all a form sends) or a JSON object.
pub enum Entry<'a> {
    Text(&'a str),
    Object(Fields<'a>),
}

/// A JSON body as an object; anything else, a duplicate key at any depth
/// included, is a bad request.
pub fn strict_json_object(body: &[u8]) -> Result<Object> {
    match json_read::parse(body) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(Error::bad(Code::RequestBadJson).with("detail", "expected a JSON object")),
        Err(e) => Err(Error::bad(Code::RequestBadJson).with("detail", e)),
    }
}

impl<'a> Fields<'a> {
    pub fn json(map: &'a Object) -> Fields<'a> {
        Fields {
            source: Source::Json(map),
            error: Cell::new(None),
        }
    }

    pub fn form(pairs: &'a [(String, String)]) -> Fields<'a> {
        Fields {
            source: Source::Form(pairs),
            error: Cell::new(None),
        }
    }

    /// `value`, or the first error a reader met.
    pub fn done<T>(&self, value: T) -> Result<T> {
        match self.error.take() {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    /// Keeps `error` for `done` unless one was met before.
    pub fn fail(&self, error: Error) {
        let first = self.error.take().unwrap_or(error);
        self.error.set(Some(first));
    }

    /// What `read` gave, or `None` with its error kept for `done`.
    pub fn keep<T>(&self, read: Result<T>) -> Option<T> {
        read.map_err(|error| self.fail(error)).ok()
    }

    /// The error of a field sent wrong, in the body's own code.
    pub fn bad(&self, key: &str, expected: &str) -> Error {
        let code = match self.source {
            Source::Json(_) => Code::RequestBadJson,
            Source::Form(_) => Code::RequestBadForm,
        };
        Error::bad(code).with("detail", format!("{key}: {expected}"))
    }

    fn missing(&self, key: &str) -> Error {
        self.bad(key, "missing")
    }

    /// A JSON field's value; `null` counts as not sent.
    fn non_null(map: &'a Object, key: &str) -> Option<&'a Json> {
        map.get(key).filter(|v| **v != Json::Null)
    }

    /// The first value a form sent for `key`.
    fn first(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn try_text(&self, key: &str) -> Result<Option<String>> {
        match self.source {
            Source::Json(map) => match Self::non_null(map, key) {
                None => Ok(None),
                Some(Json::Text(text)) => Ok(Some(text.clone())),
                Some(_) => Err(self.bad(key, "expected text")),
            },
            Source::Form(pairs) => Ok(Self::first(pairs, key).map(str::to_string)),
        }
    }

    fn try_required_text(&self, key: &str) -> Result<String> {
        self.try_text(key)?.ok_or_else(|| self.missing(key))
    }

    fn try_int(&self, key: &str) -> Result<Option<i64>> {
        match self.source {
            Source::Json(map) => match Self::non_null(map, key) {
                None => Ok(None),
                Some(Json::Int(n)) => Ok(Some(*n)),
                Some(_) => Err(self.bad(key, "expected a whole number")),
            },
            Source::Form(pairs) => Self::first(pairs, key)
                .map(|text| self.number(key, text))
                .transpose(),
        }
    }

    fn try_required_int(&self, key: &str) -> Result<i64> {
        self.try_int(key)?.ok_or_else(|| self.missing(key))
    }

    fn number(&self, key: &str, text: &str) -> Result<i64> {
        text.trim()
            .parse()
            .map_err(|_| self.bad(key, "expected a whole number"))
    }

    fn try_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.source {
            Source::Json(map) => match Self::non_null(map, key) {
                None => Ok(None),
                Some(Json::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(self.bad(key, "expected true or false")),
            },
            Source::Form(pairs) => match Self::first(pairs, key) {
                None => Ok(None),
                Some("1" | "true" | "on") => Ok(Some(true)),
                Some("0" | "false") => Ok(Some(false)),
                Some(_) => Err(self.bad(key, "expected 1, 0, true, false or on")),
            },
        }
    }

    fn try_required_bool(&self, key: &str) -> Result<bool> {
        self.try_bool(key)?.ok_or_else(|| self.missing(key))
    }

    fn try_clearable_int(&self, key: &str) -> Result<Option<Option<i64>>> {
        match self.source {
            Source::Json(map) => map
                .get(key)
                .map(|value| self.clearable(key, value))
                .transpose(),
            Source::Form(pairs) => Self::first(pairs, key)
                .map(|text| self.clearable_text(key, text))
                .transpose(),
        }
    }

    fn clearable(&self, key: &str, value: &Json) -> Result<Option<i64>> {
        match value {
            Json::Null => Ok(None),
            Json::Text(text) => self.clearable_text(key, text),
            Json::Int(n) => Ok(Some(*n)),
            _ => Err(self.bad(key, "expected a whole number")),
        }
    }

    fn clearable_text(&self, key: &str, text: &str) -> Result<Option<i64>> {
        match text.trim() {
            "" => Ok(None),
            text => self.number(key, text).map(Some),
        }
    }

    fn try_entries(&self, key: &str) -> Result<Option<Vec<Entry<'a>>>> {
        match self.source {
            Source::Json(map) => match Self::non_null(map, key) {
                None => Ok(None),
                Some(Json::List(values)) => values
                    .iter()
                    .map(|value| match value {
                        Json::Text(text) => Ok(Entry::Text(text)),
                        Json::Object(map) => Ok(Entry::Object(Fields::json(map))),
                        _ => Err(self.bad(key, "expected a list of text or objects")),
                    })
                    .collect::<Result<_>>()
                    .map(Some),
                Some(_) => Err(self.bad(key, "expected a list")),
            },
            Source::Form(pairs) => {
                let mut sent = pairs.iter().filter(|(k, _)| k == key).peekable();
                Ok(sent
                    .peek()
                    .is_some()
                    .then(|| sent.map(|(_, value)| Entry::Text(value.as_str())).collect()))
            }
        }
    }

    fn try_objects(&self, key: &str) -> Result<Option<Vec<Fields<'a>>>> {
        let Some(entries) = self.try_entries(key)? else {
            return Ok(None);
        };
        entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Object(fields) => Ok(fields),
                Entry::Text(_) => Err(self.bad(key, "expected a list of objects")),
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    fn try_clearable_object(&self, key: &str) -> Result<Option<Option<Fields<'a>>>> {
        match self.source {
            Source::Json(map) => match map.get(key) {
                None => Ok(None),
                Some(Json::Null) => Ok(Some(None)),
                Some(Json::Object(map)) => Ok(Some(Some(Fields::json(map)))),
                Some(_) => Err(self.bad(key, "expected an object or null")),
            },
            Source::Form(pairs) => match Self::first(pairs, key) {
                None => Ok(None),
                Some(_) => Err(self.bad(key, "expected an object")),
            },
        }
    }

    fn try_texts(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(entries) = self.try_entries(key)? else {
            return Ok(None);
        };
        entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Text(text) => Ok(text.to_string()),
                Entry::Object(_) => Err(self.bad(key, "expected a list of text")),
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    fn try_words(&self, key: &str) -> Result<Option<Vec<String>>> {
        Ok(self.try_texts(key)?.map(|mut words| {
            words.retain(|w| !w.trim().is_empty());
            words
        }))
    }

    /// A list of whole numbers, where empty entries (JSON `null` or empty
    /// text) are skipped when `skip_empty`, refused otherwise.
    fn numbers(&self, key: &str, skip_empty: bool) -> Result<Option<Vec<i64>>> {
        let bad = || self.bad(key, "expected a list of whole numbers");
        let values: Vec<Option<i64>> = match self.source {
            Source::Json(map) => match Self::non_null(map, key) {
                None => return Ok(None),
                Some(Json::List(values)) => values
                    .iter()
                    .map(|value| self.clearable(key, value))
                    .collect::<Result<_>>()?,
                Some(_) => return Err(bad()),
            },
            Source::Form(pairs) => {
                if Self::first(pairs, key).is_none() {
                    return Ok(None);
                }
                pairs
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, text)| self.clearable_text(key, text))
                    .collect::<Result<_>>()?
            }
        };
        if !skip_empty && values.iter().any(Option::is_none) {
            return Err(bad());
        }
        Ok(Some(values.into_iter().flatten().collect()))
    }

    /// Text; `None` when not sent (or JSON `null`).
    pub fn text(&self, key: &str) -> Option<String> {
        self.keep(self.try_text(key)).flatten()
    }

    /// Text that must be sent.
    pub fn required_text(&self, key: &str) -> String {
        self.keep(self.try_required_text(key)).unwrap_or_default()
    }

    /// Text, empty when not sent.
    pub fn text_or_empty(&self, key: &str) -> String {
        self.text(key).unwrap_or_default()
    }

    /// A whole number: a JSON number without a fraction, or a form's text.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.keep(self.try_int(key)).flatten()
    }

    /// A whole number that must be sent.
    pub fn required_int(&self, key: &str) -> i64 {
        self.keep(self.try_required_int(key)).unwrap_or_default()
    }

    /// A JSON boolean, or a form's `1`, `true`, `on` (a ticked checkbox),
    /// `0` or `false`.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.keep(self.try_bool(key)).flatten()
    }

    /// A boolean that must be sent.
    pub fn required_bool(&self, key: &str) -> bool {
        self.keep(self.try_required_bool(key)).unwrap_or_default()
    }

    /// A count that may be cleared: `None` when not sent, `Some(None)` for
    /// JSON `null` or empty text, `Some(Some(n))` for a whole number (also
    /// as text).
    pub fn clearable_int(&self, key: &str) -> Option<Option<i64>> {
        self.keep(self.try_clearable_int(key)).flatten()
    }

    /// Every entry of a list: a JSON array (`null`: not sent), or each
    /// value a form sent for `key`.
    pub fn entries(&self, key: &str) -> Option<Vec<Entry<'a>>> {
        self.keep(self.try_entries(key)).flatten()
    }

    /// A list of objects (JSON only: a form cannot send one).
    pub fn objects(&self, key: &str) -> Option<Vec<Fields<'a>>> {
        self.keep(self.try_objects(key)).flatten()
    }

    /// An object that may be cleared: `Some(None)` for JSON `null`.
    pub fn clearable_object(&self, key: &str) -> Option<Option<Fields<'a>>> {
        self.keep(self.try_clearable_object(key)).flatten()
    }

    /// A list of text, every entry as sent.
    pub fn texts(&self, key: &str) -> Option<Vec<String>> {
        self.keep(self.try_texts(key)).flatten()
    }

    /// A list of words: empty entries are skipped (a form sends an empty
    /// one so that "none" is sent at all).
    pub fn words(&self, key: &str) -> Option<Vec<String>> {
        self.keep(self.try_words(key)).flatten()
    }

    /// A list of ids: empty entries are skipped.
    pub fn ids(&self, key: &str) -> Option<Vec<i64>> {
        self.keep(self.numbers(key, true)).flatten()
    }

    /// A list of whole numbers, each one sent.
    pub fn ints(&self, key: &str) -> Option<Vec<i64>> {
        self.keep(self.numbers(key, false)).flatten()
    }

    /// Refuses any field not in `known`: where a misspelt field must not
    /// be taken as "keep the value".
    pub fn only(&self, known: &[&str]) {
        self.keep(self.try_only(known));
    }

    /// The JSON value as sent (a form's text as a JSON string).
    pub fn value(&self, key: &str) -> Option<Json> {
        match self.source {
            Source::Json(map) => map.get(key).cloned(),
            Source::Form(pairs) => Self::first(pairs, key).map(Json::from),
        }
    }

    fn try_only(&self, known: &[&str]) -> Result<()> {
        let unknown = match self.source {
            Source::Json(map) => map.keys().find(|k| !known.contains(k)),
            Source::Form(pairs) => pairs
                .iter()
                .map(|(k, _)| k.as_str())
                .find(|k| !known.contains(k)),
        };
        match unknown {
            Some(key) => Err(self.bad(key, "unknown field")),
            None => Ok(()),
        }
    }
}

/// `T` read from JSON text as a request body is (for tests).
#[cfg(test)]
pub fn from_json<T: FromFields>(text: &str) -> Result<T> {
    T::from_fields(&Fields::json(&strict_json_object(text.as_bytes())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

    #[derive(Debug, Default, PartialEq)]
    struct Patch {
        name: Option<String>,
        price: Option<i64>,
        open: Option<bool>,
        stock: Option<Option<i64>>,
        groups: Option<Vec<i64>>,
        tags: Option<Vec<String>>,
        uses: Option<Vec<i64>>,
    }

    impl FromFields for Patch {
        fn from_fields(f: &Fields) -> Result<Patch> {
            let uses = f.objects("uses").and_then(|uses| {
                let ids = uses.iter().map(|u| u.done(u.required_int("id"))).collect();
                f.keep(ids)
            });
            f.done(Patch {
                name: f.text("name"),
                price: f.int("price"),
                open: f.bool("open"),
                stock: f.clearable_int("stock"),
                groups: f.ids("groups"),
                tags: f.words("tags"),
                uses,
            })
        }
    }

    fn json(text: &str) -> Result<Patch> {
        from_json(text)
    }

    fn form(pairs: &[(&str, &str)]) -> Result<Patch> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Patch::from_fields(&Fields::form(&pairs))
    }

    fn code(read: Result<Patch>) -> Code {
        match read.failure() {
            Err(Failure::BadRequest(problem)) => problem.code,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn json_reads_missing_null_and_values_apart() {
        assert_eq!(json("{}").unwrap(), Patch::default());
        assert_eq!(
            json(r#"{"name": null, "price": null}"#).unwrap(),
            Patch::default()
        );
        assert_eq!(json(r#"{"stock": null}"#).unwrap().stock, Some(None));
        assert_eq!(json(r#"{"stock": 5}"#).unwrap().stock, Some(Some(5)));
        assert_eq!(json(r#"{"stock": " 7 "}"#).unwrap().stock, Some(Some(7)));
        assert_eq!(json(r#"{"stock": ""}"#).unwrap().stock, Some(None));
        assert_eq!(json(r#"{"price": -450}"#).unwrap().price, Some(-450));
        assert_eq!(json(r#"{"open": false}"#).unwrap().open, Some(false));
        assert_eq!(
            json(r#"{"groups": [3, null, "", "1"]}"#).unwrap().groups,
            Some(vec![3, 1])
        );
        assert_eq!(json(r#"{"groups": []}"#).unwrap().groups, Some(vec![]));
        assert_eq!(
            json(r#"{"tags": ["vegan", " "]}"#).unwrap().tags,
            Some(vec!["vegan".into()])
        );
        assert_eq!(
            json(r#"{"uses": [{"id": 4}, {"id": 2, "other": 1}]}"#)
                .unwrap()
                .uses,
            Some(vec![4, 2])
        );
        assert_eq!(json(r#"{"unknown": [1, {}]}"#).unwrap(), Patch::default());
    }

    #[test]
    fn json_of_the_wrong_type_or_shape_is_refused() {
        for bad in [
            "",
            "{",
            "[]",
            r#""text""#,
            "{} {}",
            r#"{"price": "450"}"#,
            r#"{"price": 4.5}"#,
            r#"{"price": 1e3}"#,
            r#"{"price": 9223372036854775808}"#,
            r#"{"stock": "many"}"#,
            r#"{"stock": 1.5}"#,
            r#"{"stock": true}"#,
            r#"{"open": 1}"#,
            r#"{"open": "true"}"#,
            r#"{"name": 5}"#,
            r#"{"groups": 3}"#,
            r#"{"groups": [1.5]}"#,
            r#"{"tags": "vegan"}"#,
            r#"{"tags": [1]}"#,
            r#"{"uses": ["4"]}"#,
            r#"{"uses": [{"id": "x"}]}"#,
            r#"{"uses": [{}]}"#,
        ] {
            assert_eq!(code(json(bad)), Code::RequestBadJson, "{bad}");
        }
    }

    #[test]
    fn the_first_field_sent_wrong_is_the_one_named() {
        let problem = match json(r#"{"open": 3, "price": "x"}"#).failure() {
            Err(Failure::BadRequest(problem)) => format!("{problem:?}"),
            other => panic!("not refused: {other:?}"),
        };
        assert!(
            problem.contains("price: expected a whole number"),
            "{problem}"
        );
        let problem = match json(r#"{"uses": [{"id": 1}, {"id": true}]}"#).failure() {
            Err(Failure::BadRequest(problem)) => format!("{problem:?}"),
            other => panic!("not refused: {other:?}"),
        };
        assert!(problem.contains("id: expected a whole number"), "{problem}");
    }

    #[test]
    fn a_key_sent_twice_is_refused_at_any_depth() {
        assert_eq!(
            code(json(r#"{"price": 1, "price": 2}"#)),
            Code::RequestBadJson
        );
        assert_eq!(
            code(json(r#"{"uses": [{"id": 1, "id": 2}]}"#)),
            Code::RequestBadJson
        );
        assert_eq!(
            code(json(r#"{"x": {"y": [{"z": 1, "z": 1}]}}"#)),
            Code::RequestBadJson
        );
    }

    #[test]
    fn forms_send_text_and_repeat_fields_for_lists() {
        let read = form(&[
            ("name", "Tea"),
            ("price", " 450 "),
            ("open", "on"),
            ("stock", ""),
            ("groups", "3"),
            ("groups", ""),
            ("groups", "1"),
            ("tags", "vegan"),
            ("tags", ""),
            ("name", "ignored: the first counts"),
            ("csrf", "ignored"),
        ])
        .unwrap();
        assert_eq!(
            read,
            Patch {
                name: Some("Tea".into()),
                price: Some(450),
                open: Some(true),
                stock: Some(None),
                groups: Some(vec![3, 1]),
                tags: Some(vec!["vegan".into()]),
                uses: None,
            }
        );
        assert_eq!(form(&[]).unwrap(), Patch::default());
        assert_eq!(form(&[("name", "")]).unwrap().name, Some(String::new()));
        assert_eq!(form(&[("stock", "12")]).unwrap().stock, Some(Some(12)));
        for (value, open) in [("1", true), ("true", true), ("0", false), ("false", false)] {
            assert_eq!(form(&[("open", value)]).unwrap().open, Some(open));
        }
        for bad in [
            [("price", "")],
            [("price", "4.50")],
            [("open", "yes")],
            [("stock", "x")],
            [("groups", "x")],
            [("uses", "4")],
        ] {
            assert_eq!(code(form(&bad)), Code::RequestBadForm, "{bad:?}");
        }
    }

    #[test]
    fn only_known_fields_may_be_sent_where_asked() {
        let map = strict_json_object(br#"{"name": "a", "nmae": "b"}"#).unwrap();
        let only = |fields: Fields, known: &[&str]| {
            fields.only(known);
            fields.done(())
        };
        assert!(only(Fields::json(&map), &["name", "nmae"]).is_ok());
        assert!(only(Fields::json(&map), &["name"]).is_err());
        let pairs = vec![("name".to_string(), "a".to_string())];
        assert!(only(Fields::form(&pairs), &["name"]).is_ok());
        assert!(only(Fields::form(&pairs), &["position"]).is_err());
    }
}
