//! Every word customers, shopkeepers and the owner read comes from a
//! message catalogue: `catalogue/<language>.txt`, compiled into the binary.
//! A catalogue is lines of `key = text`, where `{name}` marks a value filled
//! in when the text is shown. Keys ending in `_html` may hold markup (their
//! values are escaped); all other texts are plain and escaped as a whole.
//!
//! Adding a language is adding its file (build.rs deflates every one).

use crate::error::{Arg, Error, Failure};
use crate::support::inflate::Packed;
use crate::support::money::MoneyFormat;
use std::fmt;
use std::sync::OnceLock;

/// Every `catalogue/<language>.txt`, deflated by build.rs, English first:
/// it is the fallback for keys another language lacks.
const CATALOGUES: Packed = include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

/// How a missing text shows: visible on the page, and logged.
const MISSING_OPEN: &str = "⟦";
const MISSING_CLOSE: &str = "⟧";

/// At most this many languages of an `Accept-Language` header are weighed.
const MAX_ACCEPTED_LANGUAGES: usize = 16;

pub struct Catalogue {
    /// The language code, as in `?lang=` and `<html lang>`.
    pub lang: &'static str,
    /// Sorted by key.
    texts: Vec<(&'static str, &'static str)>,
}

impl Catalogue {
    pub fn parse(lang: &'static str, source: &'static str) -> Catalogue {
        let mut texts: Vec<_> = source
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, text)| (key.trim(), text.trim()))
            .collect();
        texts.sort_by_key(|(key, _)| *key);
        Catalogue { lang, texts }
    }

    /// The text of `key` in this language only.
    pub fn get(&self, key: &str) -> Option<&'static str> {
        self.texts
            .binary_search_by_key(&key, |(k, _)| k)
            .ok()
            .map(|i| self.texts[i].1)
    }

    /// The language's name in itself, for the switcher.
    pub fn name(&self) -> &'static str {
        self.get("language.name").unwrap_or(self.lang)
    }

    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.texts.iter().map(|(key, _)| *key)
    }

    /// The text of `key`, in English where this language lacks it, and the
    /// key itself, marked, where English lacks it too.
    pub fn text(&self, key: &str) -> String {
        if let Some(text) = self.get(key).or_else(|| english().get(key)) {
            return text.to_string();
        }
        log::warn!("no text for {key} in {}", self.lang);
        format!("{MISSING_OPEN}{key}{MISSING_CLOSE}")
    }

    /// The text of `key` with its `{name}`s filled in by `value`.
    pub fn fill(&self, key: &str, value: impl Fn(&str) -> Option<String>) -> String {
        let text = self.text(key);
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let filled = after
                .find('}')
                .and_then(|end| Some((value(&after[..end])?, end)));
            match filled {
                Some((filled, end)) => {
                    out.push_str(&filled);
                    rest = &after[end + 1..];
                }
                None => {
                    log::warn!("text {key} in {} names a value not given", self.lang);
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The text of `key` as HTML: plain texts escaped whole, markup texts
    /// (`_html`) kept with the values in them escaped.
    pub fn html(&self, key: &str, value: impl Fn(&str) -> Option<String>) -> String {
        if key.ends_with("_html") {
            self.fill(key, |name| value(name).map(|v| escape_html(&v)))
        } else {
            escape_html(&self.fill(key, value))
        }
    }

    /// The message of an error, as plain text.
    pub fn message(&self, error: &Error, money: &MoneyFormat) -> String {
        let args = error.args();
        self.fill(error.code(), |name| {
            let (_, arg) = args.iter().find(|(n, _)| *n == name)?;
            Some(match arg {
                Arg::Text(text) => text.clone(),
                Arg::Key(key) => self.text(key),
                Arg::Money(minor) => money.format(*minor),
            })
        })
    }
}

/// Never empty: English (without texts if the build's stream is broken,
/// every text then showing its key) comes first. Inflated when first needed.
pub fn catalogues() -> &'static [Catalogue] {
    static ALL: OnceLock<Vec<Catalogue>> = OnceLock::new();
    ALL.get_or_init(|| {
        // Kept for the process's life: the catalogues borrow their texts.
        // Not the error's text: its `Display` reads the catalogues.
        let sources: &'static str = match CATALOGUES.inflate() {
            Ok(all) => all.leak(),
            Err(_) => {
                log::error!("the catalogues built in are malformed");
                ""
            }
        };
        let mut all: Vec<Catalogue> = CATALOGUES
            .texts(sources)
            .map(|(lang, source)| Catalogue::parse(lang, source))
            .collect();
        if all.is_empty() {
            all.push(Catalogue::parse("en", ""));
        }
        all
    })
}

pub fn english() -> &'static Catalogue {
    &catalogues()[0]
}

/// The catalogue of `lang`, if there is one.
pub fn find(lang: &str) -> Option<&'static Catalogue> {
    catalogues().iter().find(|c| c.lang == lang)
}

/// The language of a request: the `lang` parameter when it names one
/// offered, else the best of `Accept-Language` offered, else the venue's.
pub fn choose<'a>(
    available: &[&'a Catalogue],
    lang_param: Option<&str>,
    accept_language: Option<&str>,
    venue_default: &str,
) -> &'a Catalogue {
    let by_code = |code: &str| {
        available
            .iter()
            .copied()
            .find(|c| c.lang.eq_ignore_ascii_case(code))
    };
    if let Some(chosen) = lang_param.and_then(by_code) {
        return chosen;
    }
    let mut best: Option<(&'a Catalogue, u32)> = None;
    for range in accept_language
        .unwrap_or("")
        .split(',')
        .take(MAX_ACCEPTED_LANGUAGES)
    {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, quality);
        if weight == 0 {
            continue;
        }
        if let Some(catalogue) = by_code(primary) {
            if best.is_none_or(|(_, w)| weight > w) {
                best = Some((catalogue, weight));
            }
        }
    }
    best.map(|(c, _)| c)
        .or_else(|| by_code(venue_default))
        .or_else(|| available.first().copied())
        .unwrap_or(english())
}

/// An HTTP weight (`q=0.8` of `Accept-Language`, `Accept-Encoding`) in
/// thousandths; malformed is 0.
pub fn quality(text: &str) -> u32 {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let fraction: u32 = format!("{fraction:0<3}").parse().unwrap_or(0);
    match whole {
        "1" => 1000,
        "0" => fraction,
        _ => 0,
    }
}

/// Text made safe inside HTML elements and quoted attributes. `/` stays
/// as it is, so links read plainly in the page's source.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// English, for the log and the command line.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &**self {
            Failure::Internal(detail) => write!(f, "internal error: {detail}"),
            _ => f.write_str(&english().message(self, &MoneyFormat::default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<(&'static str, &'static str)> {
        CATALOGUES
            .texts(CATALOGUES.inflate().unwrap().leak())
            .collect()
    }
    use crate::error::Code;

    const TEST_SOURCE: &str = "# a test language\n\
        language.name = Testish\n\
        greeting = Hallo {name}!\n\
        item.sold_out = {item} ist ausverkauft\n";

    fn with_test_language() -> Vec<Catalogue> {
        vec![
            Catalogue::parse("en", sources()[0].1),
            Catalogue::parse("xx", TEST_SOURCE),
        ]
    }

    #[test]
    fn every_catalogue_is_its_file_without_comments_english_first() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                e.unwrap()
                    .file_name()
                    .into_string()
                    .unwrap()
                    .strip_suffix(".txt")
                    .map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut langs: Vec<&str> = sources().iter().map(|(lang, _)| *lang).collect();
        assert_eq!(langs[0], "en");
        assert_eq!(catalogues()[0].lang, "en");
        langs.sort();
        assert_eq!(langs, on_disk);
        for (lang, packed) in sources() {
            let file = std::fs::read_to_string(dir.join(format!("{lang}.txt"))).unwrap();
            let texts = |source: &'static str| Catalogue::parse(lang, source).texts;
            assert_eq!(texts(packed), texts(file.clone().leak()), "{lang}");
            // Only comment and blank lines are left out.
            let kept: Vec<&str> = file
                .lines()
                .filter(|line| !line.trim().is_empty() && !line.trim().starts_with('#'))
                .collect();
            assert_eq!(packed.lines().collect::<Vec<_>>(), kept, "{lang}");
            assert!(packed.len() < file.len(), "{lang}");
        }
    }

    #[test]
    fn every_error_code_has_english_text() {
        for code in Code::ALL {
            assert!(english().get(code.as_str()).is_some(), "{code:?}");
        }
    }

    #[test]
    fn keys_are_unique_and_well_formed() {
        for (lang, source) in sources() {
            let mut keys: Vec<&str> = Catalogue::parse(lang, source).keys().collect();
            let count = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), count, "{lang} repeats a key");
            for key in keys {
                assert!(
                    key.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b"._".contains(&b)),
                    "{lang}: {key:?}"
                );
            }
        }
    }

    /// The `{name}`s of a text, and for markup texts its tags, in order.
    fn shape(key: &str, text: &str) -> (Vec<String>, Vec<String>) {
        let between = |open: char, close: char| -> Vec<String> {
            let mut found: Vec<String> = text
                .split(open)
                .skip(1)
                .filter_map(|piece| piece.split_once(close))
                .map(|(inside, _)| inside.to_string())
                .collect();
            found.sort();
            found
        };
        let tags = if key.ends_with("_html") {
            between('<', '>')
        } else {
            Vec::new()
        };
        (between('{', '}'), tags)
    }

    /// Every catalogue has exactly English's keys, each with the same
    /// `{name}`s (and markup): the list names what a translator still owes.
    #[test]
    fn every_catalogue_has_the_english_keys_and_placeholders() {
        let english = english();
        let mut problems = Vec::new();
        for catalogue in &catalogues()[1..] {
            let lang = catalogue.lang;
            for key in english.keys() {
                match catalogue.get(key) {
                    None => problems.push(format!("{lang}: missing {key}")),
                    Some(text) if shape(key, text) != shape(key, english.text(key).as_str()) => {
                        problems.push(format!("{lang}: {key} has other placeholders: {text}"))
                    }
                    Some(_) => {}
                }
            }
            for key in catalogue.keys().filter(|k| english.get(k).is_none()) {
                problems.push(format!("{lang}: {key} is not in en.txt"));
            }
            assert!(catalogue
                .get("language.name")
                .is_some_and(|n| n != english.name()));
        }
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
        // The check sees a changed placeholder and changed markup.
        assert_ne!(shape("a", "{item} x"), shape("a", "{name} x"));
        assert_ne!(shape("a_html", "<b>{c}</b>"), shape("a_html", "<i>{c}</i>"));
    }

    #[test]
    fn parameters_are_filled_in() {
        let test = &with_test_language()[1];
        let name = |n: &str| (n == "name").then(|| "Ann".to_string());
        assert_eq!(test.fill("greeting", name), "Hallo Ann!");
        // A value the text names but nobody gave stays visible.
        assert_eq!(test.fill("greeting", |_| None), "Hallo {name}!");
        let sold_out = Error::conflict(Code::ItemSoldOut).with("item", "Ramen");
        let money = MoneyFormat::default();
        assert_eq!(test.message(&sold_out, &money), "Ramen ist ausverkauft");
        assert_eq!(english().message(&sold_out, &money), "Ramen is sold out");
        let range = crate::support::money::check_price(-1).unwrap_err();
        assert_eq!(
            english().message(&range, &money),
            "price must be between €0.00 and €100000.00"
        );
    }

    #[test]
    fn missing_texts_fall_back_to_english_then_show_their_key() {
        let test = &with_test_language()[1];
        assert_eq!(test.text("order.no_items"), "the order has no items");
        assert_eq!(test.text("no.such_key"), "⟦no.such_key⟧");
        let moved = Error::conflict(Code::OrderInvalidMove)
            .with_key("to", "status.ready")
            .with_key("from", "status.placed");
        assert_eq!(
            test.message(&moved, &MoneyFormat::default()),
            "cannot move order to ready: order is placed"
        );
    }

    #[test]
    fn the_language_follows_the_parameter_then_the_browser_then_the_venue() {
        let both = with_test_language();
        let both: Vec<&Catalogue> = both.iter().collect();
        let lang = |param, accept, venue| choose(&both, param, accept, venue).lang;
        assert_eq!(lang(Some("xx"), Some("en"), "en"), "xx");
        assert_eq!(lang(Some("zz"), Some("xx-CH, en;q=0.5"), "en"), "xx");
        assert_eq!(lang(None, Some("fr, en;q=0.4, xx;q=0.9"), "en"), "xx");
        assert_eq!(lang(None, Some("xx;q=0, en;q=0.1"), "xx"), "en");
        assert_eq!(lang(None, Some("fr, de"), "xx"), "xx");
        assert_eq!(lang(None, None, "en"), "en");
        assert_eq!(lang(None, Some("xx;q=2"), "en"), "en");
        assert_eq!(lang(None, None, "unknown"), "en");
    }
}
