//! Fields that read the same from JSON and from an HTML form, where a form
//! can only send text: a count that may be cleared, and lists a form sends
//! as repeated fields (with an empty one, so that "none" is sent at all).

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;

/// `Some(None)` when the field clears the value (JSON `null`, an empty
/// form field), `Some(Some(n))` for a whole number; a missing field is
/// `None` through `#[serde(default)]`.
pub fn clearable_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    struct Clearable;
    impl<'de> Visitor<'de> for Clearable {
        type Value = Option<Option<i64>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number, null or an empty field")
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(Some(n)))
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            i64::try_from(n)
                .map(|n| Some(Some(n)))
                .map_err(|_| E::custom("number too large"))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Some(None))
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Some(None))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(Some(None));
            }
            text.parse()
                .map(|n| Some(Some(n)))
                .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
        }
    }
    d.deserialize_any(Clearable)
}

/// A list of whole numbers: a JSON array, or repeated form fields where
/// empty ones are skipped.
pub fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    struct Ids;
    impl<'de> Visitor<'de> for Ids {
        type Value = Vec<i64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of ids")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<i64>, A::Error> {
            let mut ids = Vec::new();
            while let Some(Id(id)) = seq.next_element()? {
                // Bounded by the request's size limit; callers cap the count.
                ids.extend(id);
            }
            Ok(ids)
        }
    }
    struct Id(Option<i64>);
    impl<'de> serde::Deserialize<'de> for Id {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
            Ok(Id(clearable_int(d)?.flatten()))
        }
    }
    d.deserialize_seq(Ids).map(Some)
}

/// A list of words: a JSON array, or repeated form fields where empty ones
/// are skipped.
pub fn word_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let words: Vec<String> = serde::Deserialize::deserialize(d)?;
    Ok(Some(
        words.into_iter().filter(|w| !w.trim().is_empty()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default, PartialEq)]
    struct Patch {
        #[serde(default, deserialize_with = "clearable_int")]
        stock: Option<Option<i64>>,
        #[serde(default, deserialize_with = "id_list")]
        groups: Option<Vec<i64>>,
        #[serde(default, deserialize_with = "word_list")]
        tags: Option<Vec<String>>,
    }

    #[test]
    fn json_reads_missing_null_and_values_apart() {
        let read = |json: &str| serde_json::from_str::<Patch>(json).unwrap();
        assert_eq!(read("{}"), Patch::default());
        assert_eq!(read(r#"{"stock": null}"#).stock, Some(None));
        assert_eq!(read(r#"{"stock": 5}"#).stock, Some(Some(5)));
        assert_eq!(read(r#"{"stock": ""}"#).stock, Some(None));
        assert_eq!(read(r#"{"groups": [3, 1]}"#).groups, Some(vec![3, 1]));
        assert_eq!(read(r#"{"groups": []}"#).groups, Some(vec![]));
        assert_eq!(
            read(r#"{"tags": ["vegan", ""]}"#).tags,
            Some(vec!["vegan".into()])
        );
        assert!(serde_json::from_str::<Patch>(r#"{"stock": "many"}"#).is_err());
        assert!(serde_json::from_str::<Patch>(r#"{"stock": 1.5}"#).is_err());
    }
}
