//! Page templates, compiled into the binary (deflated) from `templates/`.
//! Their words come from the catalogues (`tr`), their amounts from the
//! venue's money format (`money`, `amount`).
//!
//! Every page's context names `lang` (the catalogue to speak) and may name
//! `lang_param` (a language the visitor picked, carried on links by
//! `with_lang`) and `venue` (whose settings say how amounts look).

use crate::error::{Error, Result};
use crate::ordering::orders::Status;
use crate::support::i18n;
use crate::support::inflate::Packed;
use crate::support::json::{JsonOut, ToJson};
use crate::support::json_read::{self, Json};
use crate::support::money::MoneyFormat;
use minijinja::value::Kwargs;
use minijinja::{Environment, State, Value};
use std::sync::OnceLock;

/// Every file of `templates/`, deflated by build.rs.
const TEMPLATES: Packed = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// `range(n)` in a template makes at most this many numbers.
const MAX_RANGE: u32 = 100;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        // Empty, not `new()`, and minijinja without its `builtins` feature:
        // its 90-odd builtin filters, tests and globals would be compiled in
        // (190 KB of the mips binary), and even the few the templates used
        // (`round`, `map`, `replace` …) took 18 KB for what they do here.
        // The templates' filters are these; a test checks none is missing.
        let mut env = Environment::empty();
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        env.add_filter("length", |value: Value| value.len().unwrap_or(0));
        // Milliseconds as minutes with one decimal ("2.5"), for durations.
        env.add_filter("minutes", |ms: i64| {
            let tenths = (ms.max(0) + 3_000) / 6_000;
            format!("{}.{}", tenths / 10, tenths % 10)
        });
        // minijinja's needs its `urlencode` feature; ours is already here.
        env.add_filter("urlencode", |value: Value| {
            if value.is_none() || value.is_undefined() {
                String::new()
            } else {
                crate::support::text::percent_encode(&value.to_string())
            }
        });
        env.add_function("range", |end: u32| Value::from_iter(0..end.min(MAX_RANGE)));
        // `items|ids`: the `id` of each item.
        env.add_filter("ids", |items: Value| {
            let items = items.try_iter().into_iter().flatten();
            let ids = items.filter_map(|item| item.get_attr("id").ok());
            Value::from_iter(ids.filter(|id| !id.is_undefined()))
        });
        env.add_test("none", minijinja::tests::is_none);
        env.add_filter("abs", |value: i64| value.unsigned_abs());
        env.add_filter("replace", |text: &str, from: &str, to: &str| {
            text.replace(from, to)
        });
        // Kept for the process's life: the environment borrows it.
        let sources: &'static str = match TEMPLATES.inflate() {
            Ok(all) => all.leak(),
            Err(_) => {
                log::error!("the templates built in are malformed");
                ""
            }
        };
        for (name, source) in TEMPLATES.texts(sources) {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env.add_function("tr", translate);
        env.add_filter("money", |state: &State, minor: i64| {
            money_format(state).format(minor)
        });
        env.add_filter("amount", |state: &State, minor: i64| {
            money_format(state).amount(minor)
        });
        env.add_filter("with_lang", with_lang);
        env.add_filter("clock", crate::support::time::clock);
        env.add_filter("next_status", |status: &str| {
            Status::parse(status)
                .and_then(Status::next)
                .map_or("", Status::as_str)
        });
        env.add_filter("minutes_since", |then: i64, now: i64| {
            (now - then).max(0) / 60_000
        });
        // `ms|day(venue.time_zone_rule)`: the venue's day "YYYY-MM-DD".
        env.add_filter("day", |ms: i64, rule: &str| {
            let zone =
                crate::support::time::parse_rule(rule).unwrap_or(crate::support::time::Zone::UTC);
            crate::venue::reports::Date::of(&zone, ms).to_string()
        });
        env
    })
}

/// `tr("key", name=value, …)`: the text of `key` in the page's language.
fn translate(state: &State, key: &str, args: Kwargs) -> Value {
    let catalogue = state
        .lookup("lang")
        .and_then(|lang| lang.as_str().and_then(i18n::find))
        .unwrap_or_else(i18n::english);
    if !key.ends_with("_html") {
        return Value::from(catalogue.fill(key, |name| {
            args.get::<Value>(name).ok().map(|v| v.to_string())
        }));
    }
    Value::from_safe_string(catalogue.fill(key, |name| {
        let value: Value = args.get(name).ok()?;
        Some(if value.is_safe() {
            value.to_string()
        } else {
            i18n::escape_html(&value.to_string())
        })
    }))
}

/// The page's `money` format (the venue's, as its reader's language shows it).
fn money_format(state: &State) -> MoneyFormat {
    let mut format = MoneyFormat::default();
    let Some(money) = state.lookup("money") else {
        return format;
    };
    let field = |name: &str| money.get_attr(name).ok().filter(|v| !v.is_undefined());
    let text = |name: &str, value: &mut String| {
        if let Some(v) = field(name) {
            *value = v.to_string();
        }
    };
    text("symbol", &mut format.symbol);
    text("decimal_separator", &mut format.decimal_separator);
    text("thousands_separator", &mut format.thousands_separator);
    if let Some(decimals) = field("decimals").and_then(|v| u32::try_from(v).ok()) {
        format.decimals = decimals;
    }
    format.symbol_after = field("symbol_after").is_some_and(|v| v.is_true());
    format
}

/// A link on this site with the visitor's chosen language added, so the
/// choice lasts without cookies (as the order token does). Escaped here,
/// keeping `/` as it is.
fn with_lang(state: &State, href: &str) -> Value {
    let href = match state.lookup("lang_param") {
        Some(lang) if lang.is_true() => add_lang(href, &lang.to_string()),
        _ => href.to_string(),
    };
    Value::from_safe_string(i18n::escape_html(&href))
}

/// `href` with `lang=…` in its query, before any `#fragment`.
pub fn add_lang(href: &str, lang: &str) -> String {
    let (path, fragment) = href.split_at(href.find('#').unwrap_or(href.len()));
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}lang={lang}{fragment}")
}

/// Any view as a template value, by way of its JSON: a view type is then
/// written by the API's JSON writer alone, not also serialised by
/// minijinja's (27,732 bytes of the mips binary).
pub fn value(value: &dyn ToJson) -> Value {
    match json_read::parse(&JsonOut::write(value)) {
        Ok(json) => template_value(json),
        Err(e) => Value::from(minijinja::Error::new(
            minijinja::ErrorKind::BadSerialization,
            e.to_string(),
        )),
    }
}

fn template_value(json: Json) -> Value {
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(b),
        Json::Int(n) => Value::from(n),
        Json::Number(x) => Value::from(x),
        Json::Text(text) => Value::from(text),
        Json::List(values) => Value::from_iter(values.into_iter().map(template_value)),
        Json::Object(members) => Value::from_pairs(
            members
                .into_members()
                .into_iter()
                .map(|(key, value)| (key, template_value(value))),
        ),
    }
}

/// `minijinja::context!` with its syntax and precedence (`key => value`,
/// `key`, `..other` to merge), but each key costs one slot of an array,
/// not minijinja's inlined search-and-push (13,200 bytes of the mips binary).
macro_rules! context {
    (@value $key:ident) => { minijinja::Value::from($key) };
    (@value $key:ident => $value:expr) => { minijinja::Value::from($value) };
    ($(.. $merged:expr),+ $(,)?) => {
        $crate::http::templates::context_of(Vec::new(), vec![$(minijinja::Value::from($merged)),+])
    };
    ($($key:ident $(=> $value:expr)?),* $(, .. $merged:expr)* $(,)?) => {
        $crate::http::templates::context_of(
            vec![$((stringify!($key), $crate::http::templates::context!(@value $key $(=> $value)?))),*],
            vec![$(minijinja::Value::from($merged)),*],
        )
    };
}
pub(crate) use context;

/// What `context!` makes: its keys (the later of two equal ones wins) and
/// the maps it merges, in `minijinja::context!`'s order of precedence.
/// Built with the functions `minijinja::context!` expands to (public, if
/// hidden from its documentation), so pages see exactly the same value.
pub fn context_of(keys: Vec<(&'static str, Value)>, merged: Vec<Value>) -> Value {
    let mut map = minijinja::__context::make();
    for (key, value) in keys {
        minijinja::__context::add(&mut map, key, value);
    }
    let keys = minijinja::__context::build(map);
    if merged.is_empty() {
        return keys;
    }
    minijinja::value::merge_maps(merged.into_iter().rev().chain([keys]))
}

pub fn render(name: &str, context: minijinja::Value) -> Result<String> {
    environment()
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| Error::internal(format!("rendering {name}: {e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<(&'static str, &'static str)> {
        TEMPLATES
            .texts(TEMPLATES.inflate().unwrap().leak())
            .collect()
    }

    #[test]
    fn every_template_is_its_file() {
        crate::support::inflate::assert_holds_folder(&TEMPLATES, "templates", ".html");
    }

    #[test]
    fn every_template_compiles() {
        for (name, _) in sources() {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
    }

    /// The filters (`|name`), tests (`is name`) and functions (`name(`) the
    /// expressions and tags of `source` call.
    fn names_called(source: &str) -> Vec<(char, String)> {
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        let mut names = Vec::new();
        let opens = source.match_indices("{{").chain(source.match_indices("{%"));
        for (at, _) in opens {
            let body = &source[at + 2..];
            let body = &body[..body.find(['}', '%']).unwrap_or(body.len())];
            let words: Vec<&str> = body
                .split(|c: char| !ident(c))
                .filter(|w| !w.is_empty())
                .collect();
            for (i, word) in words.iter().enumerate() {
                if *word == "is" {
                    let next = |k: usize| words.get(i + k).copied().unwrap_or("");
                    let test = if next(1) == "not" { next(2) } else { next(1) };
                    names.push(('?', test.to_string()));
                }
            }
            for piece in body.split('|').skip(1) {
                let name = piece.trim_start();
                names.push((
                    '|',
                    name[..name.len() - name.trim_start_matches(ident).len()].to_string(),
                ));
            }
            for piece in body.split('(').rev().skip(1) {
                let start = piece.trim_end_matches(ident).len();
                let before = piece[..start].trim_end().chars().last();
                if start < piece.len() && !matches!(before, Some('.' | '|')) {
                    names.push(('(', piece[start..].to_string()));
                }
            }
        }
        names
    }

    #[test]
    fn the_templates_own_filters_and_functions() {
        let render = |source: &str| {
            environment()
                .render_named_str("probe.html", source, context! {})
                .unwrap()
        };
        // As minijinja's `(ms / 60000)|round(1)` showed them.
        assert_eq!(
            render("{{ 150000|minutes }} {{ 180000|minutes }}"),
            "2.5 3.0"
        );
        assert_eq!(render("{{ 2999|minutes }} {{ 3000|minutes }}"), "0.0 0.1");
        assert_eq!(render("{{ [{'id': 4}, {'id': 9}, 7]|ids }}"), "[4, 9]");
        assert_eq!(
            render("{{ 'gluten-free'|replace('-', '_') }}"),
            "gluten_free"
        );
        assert_eq!(render("{{ -250|abs }} {{ 'abc'|length }}"), "250 3");
        assert_eq!(render("{% for i in range(3) %}{{ i }}{% endfor %}"), "012");
        assert_eq!(render("{{ range(1000000)|length }}"), "100");
    }

    #[test]
    fn every_filter_test_and_function_the_templates_call_is_registered() {
        use minijinja::ErrorKind;
        let env = environment();
        for (template, source) in sources() {
            for (kind, name) in names_called(source) {
                let (probe, unknown) = match kind {
                    '|' => (format!("{{{{ none|{name} }}}}"), ErrorKind::UnknownFilter),
                    '?' => (format!("{{{{ none is {name} }}}}"), ErrorKind::UnknownTest),
                    _ => (format!("{{{{ {name}() }}}}"), ErrorKind::UnknownFunction),
                };
                let result = env.render_named_str("probe.html", &probe, context! {});
                assert!(
                    result.map_or_else(|e| e.kind() != unknown, |_| true),
                    "{template} calls {name} ({kind}), which is not registered"
                );
            }
        }
        // The scan finds what it must.
        let found =
            names_called("{{ a|length }} {% if b is not odd and f(x.g(1)) %}{{ c|money(1)|e }}");
        for expected in [
            ('|', "length"),
            ('?', "odd"),
            ('(', "f"),
            ('|', "money"),
            ('|', "e"),
        ] {
            assert!(
                found.contains(&(expected.0, expected.1.to_string())),
                "{expected:?} in {found:?}"
            );
        }
        assert!(!found.iter().any(|(_, n)| n == "g"), "{found:?}");
    }

    fn render_str(source: &str, ctx: Value) -> String {
        environment()
            .render_named_str("test.html", source, ctx)
            .unwrap()
    }

    #[test]
    fn texts_come_from_the_catalogue_with_their_values_escaped() {
        let ctx = context! { lang => "en", shop => "<Tacos & Co>" };
        assert_eq!(
            render_str("{{ tr('menu.closed', shop=shop) }}", ctx.clone()),
            "&lt;Tacos &amp; Co&gt; is closed right now."
        );
        // Markup texts keep their markup; the values in them are escaped.
        assert_eq!(
            render_str("{{ tr('order.ready_html', code='<b>', shop=shop) }}", ctx.clone()),
            "<span>READY</span> show code <b class=\"code\">&lt;b&gt;</b> at &lt;Tacos &amp; Co&gt;"
        );
        assert_eq!(render_str("{{ tr('no.such_key') }}", ctx), "⟦no.such_key⟧");
    }

    #[test]
    fn every_key_a_template_names_is_in_english() {
        for (name, source) in sources() {
            for piece in source.split("tr('").skip(1) {
                let key = &piece[..piece.find('\'').unwrap_or(0)];
                // Keys built from a state or column name end in '.'.
                if !key.ends_with('.') {
                    assert!(i18n::english().get(key).is_some(), "{name}: {key}");
                }
            }
        }
        let english = i18n::english();
        for status in Status::ALL {
            let status = status.as_str();
            assert!(english.get(&format!("status.{status}")).is_some());
            if let Some(next) = Status::parse(status).and_then(Status::next) {
                assert!(english
                    .get(&format!("board.move_to.{}", next.as_str()))
                    .is_some());
            }
        }
        for column in ["new", "in_progress", "ready", "done"] {
            assert!(english.get(&format!("board.column.{column}")).is_some());
        }
        for status in ["pending", "approved", "suspended"] {
            assert!(english.get(&format!("shop_status.{status}")).is_some());
        }
    }

    #[test]
    fn money_follows_the_venue_format() {
        let format = MoneyFormat {
            decimal_separator: ",".into(),
            thousands_separator: ".".into(),
            symbol_after: true,
            ..MoneyFormat::default()
        };
        let ctx = context! { money => value(&format) };
        assert_eq!(
            render_str("{{ 123456|money }} {{ 123456|amount }}", ctx),
            "1.234,56 € 1234,56"
        );
        assert_eq!(render_str("{{ 450|money }}", context! {}), "€4.50");
    }

    #[test]
    fn links_carry_the_chosen_language() {
        let chosen = context! { lang_param => "en" };
        assert_eq!(
            render_str("{{ '/shop'|with_lang }}", chosen.clone()),
            "/shop?lang=en"
        );
        assert_eq!(
            render_str("{{ '/o/1?t=x#top'|with_lang }}", chosen),
            "/o/1?t=x&amp;lang=en#top"
        );
        assert_eq!(render_str("{{ '/shop'|with_lang }}", context! {}), "/shop");
        assert_eq!(
            render_str("{{ ('/?t=' ~ t)|with_lang }}", context! { t => "\"><x>" }),
            "/?t=&quot;&gt;&lt;x&gt;"
        );
    }
}
