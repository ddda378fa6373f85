//! The rules of a menu, as plain functions: the dietary tag and allergen
//! words, time windows, and which option choices an order line may make
//! and what they cost.

use crate::error::{Code, Error, Result};
use crate::store::options::{GroupRow, OptionRow};
use crate::store::orders::LineOptionRow;

/// Dietary tags an item may carry; stored as bits in this order, so new
/// words go at the end.
pub const TAGS: &[&str] = &[
    "vegetarian",
    "vegan",
    "halal",
    "kosher",
    "gluten-free",
    "dairy-free",
    "nut-free",
    "spicy",
];

/// The 14 allergens EU law (Regulation 1169/2011, Annex II) names; stored
/// as bits in this order.
pub const ALLERGENS: &[&str] = &[
    "gluten",
    "crustaceans",
    "eggs",
    "fish",
    "peanuts",
    "soy",
    "milk",
    "nuts",
    "celery",
    "mustard",
    "sesame",
    "sulphites",
    "lupin",
    "molluscs",
];

/// The bit set of `words` over `list`; an unknown word is refused with
/// `code`, naming it. `gluten_free` is read as `gluten-free`.
pub fn bits_of<S: AsRef<str>>(words: &[S], list: &[&str], code: Code) -> Result<i64> {
    words.iter().try_fold(0, |bits, word| {
        let word = word.as_ref().trim().to_ascii_lowercase().replace('_', "-");
        match list.iter().position(|known| *known == word) {
            Some(bit) => Ok(bits | 1 << bit),
            None => Err(Error::bad(code).with("word", word)),
        }
    })
}

/// The words of a bit set over `list`, in list order.
pub fn words_of(bits: i64, list: &'static [&'static str]) -> Vec<&'static str> {
    list.iter()
        .enumerate()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, word)| *word)
        .collect()
}

pub const MINUTES_PER_DAY: i64 = 24 * 60;

/// "07:30" as minutes after midnight; "24:00" is midnight at the end.
pub fn parse_clock(text: &str) -> Result<i64> {
    let bad = || Error::bad(Code::MenuBadTime).with("time", text.trim());
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || !digits(minutes) {
        return Err(bad());
    }
    let (hours, minutes): (i64, i64) = (
        hours.parse().map_err(|_| bad())?,
        minutes.parse().map_err(|_| bad())?,
    );
    let total = hours * 60 + minutes;
    if minutes >= 60 || total > MINUTES_PER_DAY {
        return Err(bad());
    }
    Ok(total)
}

/// Minutes after midnight as "07:30".
pub fn clock_text(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A daily time window `[from, until)` in the venue's local time, in
/// minutes after midnight; `until` before `from` runs past midnight.
pub fn check_window(from: i64, until: i64) -> Result<(i64, i64)> {
    let in_day = |m: i64| (0..=MINUTES_PER_DAY).contains(&m);
    if !in_day(from) || !in_day(until) || from % MINUTES_PER_DAY == until % MINUTES_PER_DAY {
        return Err(Error::bad(Code::MenuBadWindow));
    }
    Ok((from % MINUTES_PER_DAY, until))
}

/// Whether a local time (minutes after midnight) falls in the window.
pub fn in_window((from, until): (i64, i64), minute: i64) -> bool {
    if from < until {
        (from..until).contains(&minute)
    } else {
        minute >= from || minute < until
    }
}

/// Most options one order line may choose.
pub const MAX_OPTIONS_PER_LINE: usize = 20;

/// An option group an item offers, with the group's live options.
#[derive(Debug, Clone)]
pub struct OfferedGroup {
    pub group: GroupRow,
    pub options: Vec<OptionRow>,
}

/// Checks the options chosen for one line of `item_name` against the
/// groups it offers: each must be one of them and not sold out, none twice,
/// and every group within its min and max. Returns the choices as the line
/// keeps them (group order, then option order) and the unit price: the
/// base price plus every change, never below zero.
pub fn choose(
    item_name: &str,
    base_price_cents: i64,
    offered: &[OfferedGroup],
    chosen: &[i64],
) -> Result<(Vec<LineOptionRow>, i64)> {
    if chosen.len() > MAX_OPTIONS_PER_LINE {
        return Err(Error::bad(Code::OrderTooManyOptions).with("max", MAX_OPTIONS_PER_LINE));
    }
    let group_of = |id: i64| {
        offered
            .iter()
            .find(|g| g.options.iter().any(|o| o.id == id))
            .map(|g| &g.group.name)
    };
    for (n, id) in chosen.iter().enumerate() {
        let Some(group) = group_of(*id) else {
            let names: Vec<&str> = offered.iter().map(|g| g.group.name.as_str()).collect();
            return Err(Error::bad(Code::OrderUnknownOption)
                .with("item", item_name)
                .with("option", *id)
                .with(
                    "groups",
                    if names.is_empty() {
                        "-".into()
                    } else {
                        names.join(", ")
                    },
                ));
        };
        if chosen[..n].contains(id) {
            return Err(Error::bad(Code::OrderOptionTwice)
                .with("item", item_name)
                .with("group", group));
        }
    }
    let mut picked = Vec::new();
    let mut price = base_price_cents;
    for offer in offered {
        let mut count = 0;
        for option in offer.options.iter().filter(|o| chosen.contains(&o.id)) {
            if !option.available {
                return Err(Error::conflict(Code::OrderOptionSoldOut)
                    .with("item", item_name)
                    .with("group", &offer.group.name)
                    .with("option", &option.name));
            }
            count += 1;
            price += option.price_delta_cents;
            picked.push(LineOptionRow {
                option_id: option.id,
                group_name: offer.group.name.clone(),
                name: option.name.clone(),
                price_delta_cents: option.price_delta_cents,
            });
        }
        let group = &offer.group;
        if count < group.min_choices || count > group.max_choices {
            return Err(Error::bad(Code::OrderOptionCount)
                .with("item", item_name)
                .with("group", &group.name)
                .with("min", group.min_choices)
                .with("max", group.max_choices));
        }
    }
    Ok((picked, price.max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

    fn group(
        id: i64,
        name: &str,
        min: i64,
        max: i64,
        options: &[(i64, &str, i64)],
    ) -> OfferedGroup {
        OfferedGroup {
            group: GroupRow {
                id,
                shop_id: 1,
                name: name.into(),
                min_choices: min,
                max_choices: max,
            },
            options: options
                .iter()
                .enumerate()
                .map(|(position, (id, name, delta))| OptionRow {
                    id: *id,
                    group_id: 1,
                    name: (*name).into(),
                    price_delta_cents: *delta,
                    available: true,
                    position: position as i64,
                })
                .collect(),
        }
    }

    fn coffee() -> Vec<OfferedGroup> {
        vec![
            group(
                1,
                "Size",
                1,
                1,
                &[(10, "Small", -50), (11, "Medium", 0), (12, "Large", 70)],
            ),
            group(
                2,
                "Extras",
                0,
                2,
                &[(20, "Syrup", 40), (21, "Extra shot", 60), (22, "Cream", 30)],
            ),
        ]
    }

    fn code(result: Result<(Vec<LineOptionRow>, i64)>) -> &'static str {
        match result.failure() {
            Err(Failure::BadRequest(p) | Failure::Conflict(p)) => p.code.as_str(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn options_price_the_line_in_whole_cents() {
        let (picked, price) = choose("Latte", 330, &coffee(), &[21, 12, 20]).unwrap();
        assert_eq!(price, 330 + 70 + 40 + 60);
        let names: Vec<_> = picked.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["Large", "Syrup", "Extra shot"]);
        assert_eq!(picked[0].group_name, "Size");
        // A negative change may lower the price, never below zero.
        assert_eq!(choose("Latte", 330, &coffee(), &[10]).unwrap().1, 280);
        assert_eq!(choose("Latte", 30, &coffee(), &[10]).unwrap().1, 0);
        // A thousand lines of 0.10 + 0.20 add up exactly.
        let drink = [group(3, "Shot", 0, 1, &[(30, "Shot", 20)])];
        let unit = choose("Tea", 10, &drink, &[30]).unwrap().1;
        assert_eq!((0..1000).map(|_| unit).sum::<i64>(), 30_000);
    }

    #[test]
    fn every_bad_choice_is_refused_naming_item_and_group() {
        assert_eq!(
            code(choose("Latte", 330, &coffee(), &[])),
            "order.option_count"
        );
        assert_eq!(
            code(choose("Latte", 330, &coffee(), &[10, 11])),
            "order.option_count"
        );
        assert_eq!(
            code(choose("Latte", 330, &coffee(), &[11, 20, 21, 22])),
            "order.option_count"
        );
        assert_eq!(
            code(choose("Latte", 330, &coffee(), &[11, 99])),
            "order.unknown_option"
        );
        assert_eq!(
            code(choose("Latte", 330, &coffee(), &[11, 20, 20])),
            "order.option_twice"
        );
        let too_many: Vec<i64> = (0..21).collect();
        assert_eq!(
            code(choose("Latte", 330, &coffee(), &too_many)),
            "order.too_many_options"
        );
        let mut sold_out = coffee();
        sold_out[1].options[0].available = false;
        let refused = choose("Latte", 330, &sold_out, &[11, 20]).unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains("Latte") && text.contains("Extras") && text.contains("Syrup"),
            "{text}"
        );
        let count = choose("Latte", 330, &coffee(), &[])
            .unwrap_err()
            .to_string();
        assert!(count.contains("Latte") && count.contains("Size"), "{count}");
        // An item without groups takes no options.
        assert_eq!(code(choose("Tea", 250, &[], &[11])), "order.unknown_option");
        assert_eq!(choose("Tea", 250, &[], &[]).unwrap(), (vec![], 250));
    }

    #[test]
    fn tags_and_allergens_are_bit_sets_of_known_words() {
        let bits = bits_of(&["vegan", "Gluten_Free"], TAGS, Code::MenuUnknownTag).unwrap();
        assert_eq!(words_of(bits, TAGS), ["vegan", "gluten-free"]);
        assert!(bits_of(&["tasty"], TAGS, Code::MenuUnknownTag).is_err());
        let all = bits_of(ALLERGENS, ALLERGENS, Code::MenuUnknownAllergen).unwrap();
        assert_eq!(all, (1 << 14) - 1);
        assert_eq!(words_of(all, ALLERGENS).len(), 14);
    }

    #[test]
    fn windows_run_across_midnight() {
        let breakfast =
            check_window(parse_clock("07:00").unwrap(), parse_clock("11:00").unwrap()).unwrap();
        assert!(!in_window(breakfast, 6 * 60 + 59));
        assert!(in_window(breakfast, 7 * 60));
        assert!(in_window(breakfast, 10 * 60 + 59));
        assert!(!in_window(breakfast, 11 * 60));
        let late =
            check_window(parse_clock("22:00").unwrap(), parse_clock("02:00").unwrap()).unwrap();
        assert!(in_window(late, 23 * 60) && in_window(late, 0) && in_window(late, 60));
        assert!(!in_window(late, 2 * 60) && !in_window(late, 12 * 60));
        let until_midnight = check_window(18 * 60, parse_clock("24:00").unwrap()).unwrap();
        assert!(in_window(until_midnight, 23 * 60 + 59) && !in_window(until_midnight, 0));
        for bad in ["7:00", "07:60", "24:01", "ab:cd", "", "07-00"] {
            assert!(parse_clock(bad).is_err(), "{bad}");
        }
        assert!(check_window(600, 600).is_err());
        assert!(check_window(0, MINUTES_PER_DAY).is_err());
        assert_eq!(clock_text(7 * 60 + 5), "07:05");
    }
}
