//! The answers' JSON, written by hand: `serde::Serialize`'s derive made a
//! serialiser per type, this is one writer called through `&dyn ToJson`.
//! Its bytes are serde_json's: the same escapes, integers in decimal, no
//! spaces, fields in declaration order, and `Sorted` for what used to go
//! through a `serde_json::Value` (whose objects are maps in key order).

/// A value that writes itself as JSON.
pub trait ToJson {
    fn to_json(&self, out: &mut JsonOut);
}

/// A value that is a JSON object: its fields, written without the braces
/// so another object can take them in (serde's `flatten`).
pub trait JsonFields {
    fn fields(&self, out: &mut JsonOut);
}

/// `impl ToJson` and `JsonFields` for a struct from the list of its fields,
/// written in that order: `json_object!(Name: a, ..b, c)`, where `..b`
/// writes field `b`'s own fields in its place (serde's `flatten`). The
/// fields are not in braces so that rustfmt leaves the list on a few lines.
macro_rules! json_object {
    ($name:ident $(<$lt:lifetime>)?: $($(..$flat:ident)? $($field:ident)?),+ $(,)?) => {
        impl $(<$lt>)? $crate::support::json::JsonFields for $name $(<$lt>)? {
            fn fields(&self, out: &mut $crate::support::json::JsonOut) {
                $(
                    $($crate::support::json::JsonFields::fields(&self.$flat, out);)?
                    $(out.field(stringify!($field), &self.$field);)?
                )*
            }
        }

        impl $(<$lt>)? $crate::support::json::ToJson for $name $(<$lt>)? {
            fn to_json(&self, out: &mut $crate::support::json::JsonOut) {
                out.object(self);
            }
        }
    };
}
pub(crate) use json_object;

/// An object written in place from `key => value` pairs, e.g. an error's
/// `{code, error}`; wrap it in `Sorted` where serde_json's `json!` sorted it.
macro_rules! json_fields {
    ($($key:expr => $value:expr),* $(,)?) => {
        $crate::support::json::Fields(&[
            $(($key, &$value as &dyn $crate::support::json::ToJson)),*
        ])
    };
}
pub(crate) use json_fields;

/// The fields `json_fields!` makes.
pub struct Fields<'a>(pub &'a [(&'a str, &'a dyn ToJson)]);

impl JsonFields for Fields<'_> {
    fn fields(&self, out: &mut JsonOut) {
        for (key, value) in self.0 {
            out.field(key, *value);
        }
    }
}

impl ToJson for Fields<'_> {
    fn to_json(&self, out: &mut JsonOut) {
        out.object(self);
    }
}

/// `{"key": value}`, owning its value: what a closure can hand back.
pub struct Single<T>(pub &'static str, pub T);

impl<T: ToJson> ToJson for Single<T> {
    fn to_json(&self, out: &mut JsonOut) {
        json_fields! { self.0 => self.1 }.to_json(out);
    }
}

/// An object's fields followed by more: a view with the token added.
pub struct With<'a>(pub &'a dyn JsonFields, pub Fields<'a>);

impl JsonFields for With<'_> {
    fn fields(&self, out: &mut JsonOut) {
        self.0.fields(out);
        self.1.fields(out);
    }
}

impl ToJson for With<'_> {
    fn to_json(&self, out: &mut JsonOut) {
        out.object(self);
    }
}

/// A value whose objects, at every depth, have their keys in byte order:
/// what serialising through a `serde_json::Value` gave, and what stored
/// request hashes were taken of.
pub struct Sorted<'a>(pub &'a dyn ToJson);

impl ToJson for Sorted<'_> {
    fn to_json(&self, out: &mut JsonOut) {
        out.sorting += 1;
        self.0.to_json(out);
        out.sorting -= 1;
    }
}

/// `value`'s fields in key order, each with its text (`"key":value`): what
/// differs between two settings.
pub fn sorted_fields(value: &dyn JsonFields) -> Vec<(String, Vec<u8>)> {
    let mut out = JsonOut {
        sorting: 1,
        open: vec![Vec::new()],
        ..JsonOut::default()
    };
    value.fields(&mut out);
    let keys = out.open.pop().unwrap_or_default();
    out.take_sorted(keys)
}

/// Where JSON is written.
#[derive(Default)]
pub struct JsonOut {
    buf: Vec<u8>,
    /// A value was written, so the next one needs a comma first.
    comma: bool,
    /// Inside this many `Sorted`: objects are put in key order as they close.
    sorting: u32,
    /// For each object open while sorting: its keys and where each field
    /// starts in `buf`.
    open: Vec<Vec<(String, usize)>>,
}

impl JsonOut {
    /// `value`'s JSON.
    pub fn write(value: &dyn ToJson) -> Vec<u8> {
        let mut out = JsonOut::default();
        value.to_json(&mut out);
        out.buf
    }

    pub fn object(&mut self, value: &dyn JsonFields) {
        self.separate();
        self.buf.push(b'{');
        if self.sorting > 0 {
            self.open.push(Vec::new());
        }
        self.comma = false;
        value.fields(self);
        if self.sorting > 0 {
            let keys = self.open.pop().unwrap_or_default();
            let fields = self.take_sorted(keys);
            let texts: Vec<&[u8]> = fields.iter().map(|(_, text)| &text[..]).collect();
            self.buf.extend_from_slice(&texts.join(&b","[..]));
        }
        self.buf.push(b'}');
        self.comma = true;
    }

    /// One field of the object being written.
    pub fn field(&mut self, key: &str, value: &dyn ToJson) {
        self.separate();
        if let Some(keys) = self.open.last_mut().filter(|_| self.sorting > 0) {
            keys.push((key.to_string(), self.buf.len()));
        }
        self.string(key);
        self.buf.push(b':');
        self.comma = false;
        value.to_json(self);
    }

    /// The fields written since `keys` began, taken out of `buf` in key
    /// order, each with its text (`"key":value`).
    fn take_sorted(&mut self, keys: Vec<(String, usize)>) -> Vec<(String, Vec<u8>)> {
        let mut fields = Vec::with_capacity(keys.len());
        for (i, (key, start)) in keys.into_iter().enumerate().rev() {
            fields.push((key, self.buf.split_off(start)));
            if i > 0 {
                self.buf.pop(); // the comma before it
            }
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields
    }

    pub fn array(&mut self, items: &mut dyn Iterator<Item = &dyn ToJson>) {
        self.separate();
        self.buf.push(b'[');
        self.comma = false;
        for item in items {
            item.to_json(self);
        }
        self.buf.push(b']');
        self.comma = true;
    }

    /// A string with serde_json's escapes: `"` and `\`, the short forms of
    /// five control characters and `\u00XX` for the others; everything else,
    /// `/` and non-ASCII included, as it is.
    pub fn string(&mut self, text: &str) {
        self.separate();
        self.buf.push(b'"');
        let mut plain = 0;
        for (i, byte) in text.bytes().enumerate() {
            let escape: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..=0x1f => b"\\u00",
                _ => continue,
            };
            self.buf.extend_from_slice(&text.as_bytes()[plain..i]);
            self.buf.extend_from_slice(escape);
            if escape == b"\\u00" {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.buf.push(HEX[usize::from(byte >> 4)]);
                self.buf.push(HEX[usize::from(byte & 0xf)]);
            }
            plain = i + 1;
        }
        self.buf.extend_from_slice(&text.as_bytes()[plain..]);
        self.buf.push(b'"');
        self.comma = true;
    }

    pub fn integer(&mut self, n: i64) {
        self.raw(n.to_string().as_bytes());
    }

    /// Text already JSON: `null`, `true`, `false`, a number.
    fn raw(&mut self, text: &[u8]) {
        self.separate();
        self.buf.extend_from_slice(text);
        self.comma = true;
    }

    fn separate(&mut self) {
        if std::mem::take(&mut self.comma) {
            self.buf.push(b',');
        }
    }
}

impl ToJson for str {
    fn to_json(&self, out: &mut JsonOut) {
        out.string(self);
    }
}

impl ToJson for String {
    fn to_json(&self, out: &mut JsonOut) {
        out.string(self);
    }
}

impl ToJson for bool {
    fn to_json(&self, out: &mut JsonOut) {
        out.raw(if *self { b"true" } else { b"false" });
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self, out: &mut JsonOut) {
                out.integer(i64::from(*self));
            }
        }
    )*};
}
integers!(i64, u32);

impl ToJson for usize {
    fn to_json(&self, out: &mut JsonOut) {
        out.raw(self.to_string().as_bytes());
    }
}

/// What serde_json makes of `()`: the answer of a deletion.
impl ToJson for () {
    fn to_json(&self, out: &mut JsonOut) {
        out.raw(b"null");
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self, out: &mut JsonOut) {
        (**self).to_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self, out: &mut JsonOut) {
        match self {
            Some(value) => value.to_json(out),
            None => out.raw(b"null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self, out: &mut JsonOut) {
        out.array(&mut self.iter().map(|item| item as &dyn ToJson));
    }
}

impl<T: ToJson, const N: usize> ToJson for [T; N] {
    fn to_json(&self, out: &mut JsonOut) {
        self[..].to_json(out);
    }
}

/// Keys and their values written as one object, in the pairs' order (no
/// `BTreeMap` instantiated per value type for it).
pub struct Pairs<'a, V>(pub &'a [(String, V)]);

impl<V: ToJson> ToJson for Pairs<'_, V> {
    fn to_json(&self, out: &mut JsonOut) {
        out.object(self);
    }
}

impl<V: ToJson> JsonFields for Pairs<'_, V> {
    fn fields(&self, out: &mut JsonOut) {
        for (key, value) in self.0 {
            out.field(key, value);
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self, out: &mut JsonOut) {
        self[..].to_json(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &dyn ToJson) -> String {
        String::from_utf8(JsonOut::write(value)).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u8..0x80).map(char::from).collect::<String>() + "é€😀</script>";
        assert_eq!(text(&all), serde_json::to_string(&all).unwrap());
        assert_eq!(text(&"a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(text(&"\u{1}\u{1f}\u{7f}"), "\"\\u0001\\u001f\u{7f}\"");
        assert_eq!(text(&"</script>"), "\"</script>\"");
        assert_eq!(text(&""), "\"\"");
    }

    #[test]
    fn numbers_and_nulls_are_serde_json_s() {
        assert_eq!(text(&i64::MIN), i64::MIN.to_string());
        assert_eq!(text(&-0i64), "0");
        assert_eq!(text(&u32::MAX), "4294967295");
        assert_eq!(text(&usize::MAX), usize::MAX.to_string());
        assert_eq!(text(&[Some(1i64), None]), "[1,null]");
        assert_eq!(text(&true), "true");
    }

    struct Inner {
        b: i64,
        a: Vec<Vec<i64>>,
    }
    json_object!(Inner: b, a);

    struct Outer<'a> {
        z: &'a str,
        inner: Inner,
        empty: Vec<Inner>,
    }
    json_object!(Outer<'a>: z, ..inner, inner, empty);

    fn outer() -> Outer<'static> {
        Outer {
            z: "z",
            inner: Inner {
                b: 2,
                a: vec![vec![], vec![1, 2]],
            },
            empty: Vec::new(),
        }
    }

    #[test]
    fn objects_and_arrays_nest_in_declaration_order() {
        assert_eq!(
            text(&outer()),
            r#"{"z":"z","b":2,"a":[[],[1,2]],"inner":{"b":2,"a":[[],[1,2]]},"empty":[]}"#
        );
        assert_eq!(text(&json_fields! {}), "{}");
        let token = "t".to_string();
        assert_eq!(
            text(&With(&outer().inner, json_fields! { "token" => token })),
            r#"{"b":2,"a":[[],[1,2]],"token":"t"}"#
        );
    }

    #[test]
    fn sorted_is_what_a_serde_json_value_gives() {
        let value = json_fields! {
            "zeta" => outer(),
            "alpha" => [json_fields! { "y" => 1i64, "x" => json_fields! {} }],
            "b" => None::<i64>,
        };
        let expected = serde_json::json!({
            "zeta": {"z": "z", "b": 2, "a": [[], [1, 2]], "inner": {"b": 2, "a": [[], [1, 2]]}, "empty": []},
            "alpha": [{"y": 1, "x": {}}],
            "b": null,
        });
        assert_eq!(text(&Sorted(&value)), expected.to_string());
        let fields = sorted_fields(&outer().inner);
        assert_eq!(fields[0], ("a".into(), br#""a":[[],[1,2]]"#.to_vec()));
        assert_eq!(fields[1], ("b".into(), br#""b":2"#.to_vec()));
        assert_eq!(
            text(&[&Sorted(&outer()) as &dyn ToJson, &outer()]),
            format!(
                "[{expected_zeta},{}]",
                text(&outer()),
                expected_zeta = expected["zeta"]
            )
        );
    }
}
