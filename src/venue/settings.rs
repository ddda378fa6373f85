//! The venue's settings as the owner sets them: name, terms, how money
//! looks, language, time zone, open-order limits, the photo quota, the
//! hotspot's SSID and how long records are kept;
//! loaded, checked and saved in the settings table.

use crate::error::{Code, Error, Result};
use crate::ordering::orders::OpenOrderLimits;
use crate::ordering::photos;
use crate::store::settings;
use crate::support::fields::{strict_json_object, Fields, FromFields};
use crate::support::i18n;
use crate::support::json::{json_object, JsonOut};
use crate::support::json_read::{Json, Object};
use crate::support::money::{MoneyFormat, MAX_DECIMALS};
use crate::support::text;
use crate::support::time;
use rusqlite::Connection;

pub const MAX_OPEN_ORDERS_PER_DEVICE: i64 = 1_000;
pub const MAX_OPEN_ORDERS_PER_SHOP: i64 = 40_000;
pub const MAX_PHOTO_QUOTA_BYTES: i64 = 1024 * 1024 * 1024;
/// A ready code stays on the now-serving board at least this long and at
/// most a day (unless collected earlier).
pub const BOARD_READY_SECONDS: std::ops::RangeInclusive<i64> = 5..=86_400;
/// Longest a record may be kept, in days (ten years).
pub const MAX_RETENTION_DAYS: i64 = 3_650;

/// What the owner sets for the whole venue.
#[derive(Clone, Debug, PartialEq)]
pub struct Venue {
    pub name: String,
    pub terms: String,
    /// The currency symbol; with the four fields below, how amounts look.
    pub currency: String,
    pub decimals: u32,
    pub decimal_separator: String,
    pub thousands_separator: String,
    pub symbol_after: bool,
    /// The pages' language for visitors whose browser asks for none we have.
    pub language: String,
    /// The languages customers may read (and the switcher offers); always
    /// holds `language`.
    pub languages: Vec<String>,
    /// The venue's time zone for times shown on pages: its IANA name
    /// (what the owner reads) and its POSIX TZ rule (what clocks follow).
    pub time_zone: String,
    pub time_zone_rule: String,
    /// Open orders one device (customer token or client address) may have.
    pub max_open_orders_per_device: i64,
    /// Open orders one shop may have; above it new orders are refused.
    pub max_open_orders_per_shop: i64,
    /// Room all the shops' menu photos may take together; 0: no photos.
    pub photo_quota_bytes: i64,
    /// How long a ready code stays on the now-serving board when nobody
    /// collects it.
    pub board_ready_seconds: i64,
    /// The hotspot's network name, for the Wi-Fi posters.
    pub ssid: String,
    /// Days a Wi-Fi client's record is kept after it was last seen.
    pub client_retention_days: i64,
    /// Days finished orders are kept; 0 keeps them for ever.
    pub order_retention_days: i64,
}
json_object!(Venue: name, terms, currency, decimals, decimal_separator, thousands_separator,
    symbol_after, language, languages, time_zone, time_zone_rule, max_open_orders_per_device,
    max_open_orders_per_shop, photo_quota_bytes, board_ready_seconds, ssid, client_retention_days,
    order_retention_days);

impl Default for Venue {
    fn default() -> Self {
        Venue {
            name: "OrderSpot".into(),
            terms: "Be kind to the staff. Pay when you pick up your order.".into(),
            currency: "€".into(),
            decimals: 2,
            decimal_separator: ".".into(),
            thousands_separator: String::new(),
            symbol_after: false,
            language: i18n::english().lang.into(),
            languages: i18n::catalogues().iter().map(|c| c.lang.into()).collect(),
            time_zone: "UTC".into(),
            time_zone_rule: time::UTC_RULE.into(),
            max_open_orders_per_device: 5,
            max_open_orders_per_shop: 300,
            photo_quota_bytes: photos::DEFAULT_QUOTA_BYTES,
            board_ready_seconds: 10 * 60,
            ssid: String::new(),
            client_retention_days: 30,
            order_retention_days: 0,
        }
    }
}

/// The saved settings. Settings saved by an older version lack the newer
/// fields: those take their defaults.
impl FromFields for Venue {
    fn from_fields(f: &Fields) -> Result<Venue> {
        let d = Venue::default();
        let decimals = f.int("decimals").map_or(Ok(d.decimals), |n| {
            u32::try_from(n).map_err(|_| f.bad("decimals", "expected a whole number"))
        });
        let decimals = f.keep(decimals).unwrap_or_default();
        f.done(Venue {
            name: f.text("name").unwrap_or(d.name),
            terms: f.text("terms").unwrap_or(d.terms),
            currency: f.text("currency").unwrap_or(d.currency),
            decimals,
            decimal_separator: f.text("decimal_separator").unwrap_or(d.decimal_separator),
            thousands_separator: f
                .text("thousands_separator")
                .unwrap_or(d.thousands_separator),
            symbol_after: f.bool("symbol_after").unwrap_or(d.symbol_after),
            language: f.text("language").unwrap_or(d.language),
            languages: f.texts("languages").unwrap_or(d.languages),
            time_zone: f.text("time_zone").unwrap_or(d.time_zone),
            time_zone_rule: f.text("time_zone_rule").unwrap_or(d.time_zone_rule),
            max_open_orders_per_device: f
                .int("max_open_orders_per_device")
                .unwrap_or(d.max_open_orders_per_device),
            max_open_orders_per_shop: f
                .int("max_open_orders_per_shop")
                .unwrap_or(d.max_open_orders_per_shop),
            photo_quota_bytes: f.int("photo_quota_bytes").unwrap_or(d.photo_quota_bytes),
            board_ready_seconds: f
                .int("board_ready_seconds")
                .unwrap_or(d.board_ready_seconds),
            ssid: f.text("ssid").unwrap_or(d.ssid),
            client_retention_days: f
                .int("client_retention_days")
                .unwrap_or(d.client_retention_days),
            order_retention_days: f
                .int("order_retention_days")
                .unwrap_or(d.order_retention_days),
        })
    }
}

impl Venue {
    /// The saved settings; before the owner saves any, the venue is in
    /// the router's time zone.
    pub fn load(conn: &Connection) -> Result<Venue> {
        let Some(json) = settings::get(conn, "venue")? else {
            let (time_zone, time_zone_rule) = time::router_zone();
            return Ok(Venue {
                time_zone,
                time_zone_rule,
                ..Venue::default()
            });
        };
        let mut fields = strict_json_object(json.as_bytes())
            .map_err(|e| Error::internal(format!("venue settings: {e:?}")))?;
        upgrade_fixed_offset(&mut fields);
        Venue::from_fields(&Fields::json(&fields))
            .map_err(|e| Error::internal(format!("venue settings: {e:?}")))
    }

    pub fn validate(self) -> Result<Venue> {
        // Every check runs (none has effects) and the first error is the
        // answer: one exit, not one per field dropping what came before.
        let mut error = None;
        let languages = first_error(
            &mut error,
            offered_languages(&self.language, &self.languages),
        );
        let decimal_separator = first_error(
            &mut error,
            text::optional_line("decimal_separator", &self.decimal_separator, 4),
        );
        // Untrimmed: a space is the usual separator in some countries.
        let thousands_separator = text::clean_line(&self.thousands_separator);
        first_error(
            &mut error,
            text::check_length("thousands_separator", &thousands_separator, 4),
        );
        let (time_zone, time_zone_rule) = first_error(
            &mut error,
            valid_zone(&self.time_zone, &self.time_zone_rule),
        );
        let venue = Venue {
            name: first_error(&mut error, text::required("name", &self.name, 80)),
            terms: first_error(&mut error, text::optional_text("terms", &self.terms, 5_000)),
            currency: first_error(
                &mut error,
                text::optional_line("currency", &self.currency, 8),
            ),
            decimals: self.decimals.min(MAX_DECIMALS),
            // Without a separator, "1250" could be 12.50 or 1250.
            decimal_separator: if decimal_separator.is_empty() {
                ".".into()
            } else {
                decimal_separator
            },
            thousands_separator,
            symbol_after: self.symbol_after,
            language: self.language,
            languages,
            time_zone,
            time_zone_rule,
            max_open_orders_per_device: self
                .max_open_orders_per_device
                .clamp(1, MAX_OPEN_ORDERS_PER_DEVICE),
            // Up to this many, pickup codes stay at most four characters
            // with few collisions (orders::pickup_code_length).
            max_open_orders_per_shop: self
                .max_open_orders_per_shop
                .clamp(1, MAX_OPEN_ORDERS_PER_SHOP),
            photo_quota_bytes: self.photo_quota_bytes.clamp(0, MAX_PHOTO_QUOTA_BYTES),
            board_ready_seconds: self
                .board_ready_seconds
                .clamp(*BOARD_READY_SECONDS.start(), *BOARD_READY_SECONDS.end()),
            // 32 bytes is the most an SSID can have.
            ssid: first_error(&mut error, text::optional_line("ssid", &self.ssid, 32)),
            client_retention_days: self.client_retention_days.clamp(1, MAX_RETENTION_DAYS),
            order_retention_days: self.order_retention_days.clamp(0, MAX_RETENTION_DAYS),
        };
        match error {
            Some(e) => Err(e),
            None => Ok(venue),
        }
    }

    /// How the venue's amounts look, on pages, in messages and in the script.
    pub fn money(&self) -> MoneyFormat {
        MoneyFormat {
            symbol: self.currency.clone(),
            decimals: self.decimals,
            decimal_separator: self.decimal_separator.clone(),
            thousands_separator: self.thousands_separator.clone(),
            symbol_after: self.symbol_after,
        }
    }

    /// How amounts look to a reader of `language`: always the venue's
    /// currency and decimals; in the venue's own language its separators
    /// and symbol position, in any other the language's (`format.*` in its
    /// catalogue), so a Spanish reader sees "8,00 €" where the venue
    /// writes "€8.00".
    pub fn money_for(&self, language: &i18n::Catalogue) -> MoneyFormat {
        let venue = self.money();
        if language.lang == self.language {
            return venue;
        }
        let text = |key: &str| language.get(key).unwrap_or_default().to_string();
        MoneyFormat {
            decimal_separator: text("format.decimal_separator"),
            thousands_separator: text("format.thousands_separator"),
            symbol_after: language.get("format.symbol_after") == Some("yes"),
            ..venue
        }
    }

    /// The catalogues of the languages offered, the default first.
    pub fn offered(&self) -> Vec<&'static i18n::Catalogue> {
        let mut offered: Vec<_> = i18n::find(&self.language).into_iter().collect();
        offered.extend(
            i18n::catalogues()
                .iter()
                .filter(|c| c.lang != self.language && self.languages.iter().any(|l| l == c.lang)),
        );
        if offered.is_empty() {
            offered.push(i18n::english());
        }
        offered
    }

    /// The venue's local time at the UTC instant `ms`, in minutes after
    /// midnight: what items' time windows are read against.
    pub fn minute_of_day(&self, ms: i64) -> i64 {
        let zone = time::parse_rule(&self.time_zone_rule).unwrap_or(time::Zone::UTC);
        time::to_local(&zone, ms).map_or(0, |t| i64::from(t.hour) * 60 + i64::from(t.minute))
    }

    pub fn open_order_limits(&self) -> OpenOrderLimits {
        OpenOrderLimits {
            per_device: self.max_open_orders_per_device,
            per_shop: self.max_open_orders_per_shop,
        }
    }

    pub fn save(&self, conn: &Connection) -> Result<()> {
        // Always UTF-8: the writer copies only `str`s and ASCII.
        let json = String::from_utf8(JsonOut::write(self)).unwrap_or_default();
        Ok(settings::set(conn, "venue", &json)?)
    }
}

/// The offered languages as stored: each one known, in catalogue order,
/// with the default among them (blanks, as an unticked form sends, skipped).
/// `checked`'s value, or a default once `error` holds the first error.
fn first_error<T: Default>(error: &mut Option<Error>, checked: Result<T>) -> T {
    checked.unwrap_or_else(|e| {
        error.get_or_insert(e);
        T::default()
    })
}

fn offered_languages(default: &str, chosen: &[String]) -> Result<Vec<String>> {
    let unknown = |lang: &str| Error::bad(Code::VenueUnknownLanguage).with("lang", lang);
    if i18n::find(default).is_none() {
        return Err(unknown(default));
    }
    if let Some(lang) = chosen
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && i18n::find(l).is_none())
    {
        return Err(unknown(lang));
    }
    Ok(i18n::catalogues()
        .iter()
        .filter(|c| c.lang == default || chosen.iter().any(|l| l.trim() == c.lang))
        .map(|c| c.lang.to_string())
        .collect())
}

/// Settings saved before zones had rules hold `utc_offset_minutes`: it
/// becomes the fixed-offset zone it meant, unless a rule is given too.
/// The old field stays (reading ignores it): removing it would cost the
/// binary a map's removal code.
pub fn upgrade_fixed_offset(fields: &mut Object) {
    let Some(offset) = fields.get("utc_offset_minutes") else {
        return;
    };
    if fields.contains_key("time_zone_rule") {
        return;
    }
    let minutes = match offset {
        Json::Int(minutes) => *minutes,
        _ => 0,
    };
    let (name, rule) = time::fixed_offset_zone(minutes);
    fields.insert("time_zone", name.into());
    fields.insert("time_zone_rule", rule.into());
}

/// A zone as `(name, rule)`: the rule as given or, when none is, looked up
/// by the zone's name (UTC, or the host's zoneinfo files where it has
/// them); a zone without a name is named by its rule.
fn valid_zone(name: &str, rule: &str) -> Result<(String, String)> {
    let name = text::optional_line("time_zone", name, time::MAX_NAME_CHARS)?;
    let rule = valid_zone_rule(&name, rule.trim())?;
    Ok((if name.is_empty() { rule.clone() } else { name }, rule))
}

fn valid_zone_rule(name: &str, rule: &str) -> Result<String> {
    if rule.is_empty() {
        return match name {
            "" | "UTC" | "Etc/UTC" => Ok(time::UTC_RULE.into()),
            _ => time::rule_from_zoneinfo(name)
                .ok_or_else(|| Error::bad(Code::VenueUnknownZone).with("zone", name)),
        };
    }
    if time::parse_rule(rule).is_none() {
        return Err(Error::bad(Code::VenueBadZoneRule));
    }
    Ok(rule.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};
    use std::path::Path;

    fn zone(name: &str, rule: &str) -> Result<(String, String)> {
        let venue = Venue {
            time_zone: name.into(),
            time_zone_rule: rule.into(),
            ..Venue::default()
        }
        .validate()?;
        Ok((venue.time_zone, venue.time_zone_rule))
    }

    #[test]
    fn settings_saved_with_a_utc_offset_load_as_a_fixed_zone() {
        let conn = crate::db::test_connection();
        settings::set(
            &conn,
            "venue",
            r#"{"name":"Old","utc_offset_minutes":-300}"#,
        )
        .unwrap();
        let venue = Venue::load(&conn).unwrap();
        assert_eq!(venue.name, "Old");
        assert_eq!(venue.time_zone, "UTC-05:00");
        // 2024-07-01T12:00Z
        assert_eq!(
            time::clock(1_719_835_200_000, &venue.time_zone_rule),
            "07:00"
        );
        venue.save(&conn).unwrap();
        assert_eq!(Venue::load(&conn).unwrap(), venue);
    }

    #[test]
    fn a_rule_given_with_an_old_offset_wins() {
        let mut fields = Object::default();
        fields.insert("utc_offset_minutes", 60.into());
        fields.insert("time_zone_rule", "EST5EDT,M3.2.0,M11.1.0".into());
        upgrade_fixed_offset(&mut fields);
        assert_eq!(
            fields.get("time_zone_rule"),
            Some(&"EST5EDT,M3.2.0,M11.1.0".into())
        );
        assert!(!fields.contains_key("time_zone"));
    }

    #[test]
    fn zones_need_a_rule_that_parses() {
        let berlin = "CET-1CEST,M3.5.0,M10.5.0/3";
        assert_eq!(
            zone(" Europe/Berlin ", berlin).unwrap(),
            ("Europe/Berlin".into(), berlin.into())
        );
        assert_eq!(zone("", berlin).unwrap(), (berlin.into(), berlin.into()));
        assert_eq!(zone("UTC", "").unwrap(), ("UTC".into(), "UTC0".into()));
        assert!(matches!(
            zone("Europe/Berlin", "CET").failure(),
            Err(Failure::BadRequest(_))
        ));
        assert!(matches!(
            zone("Nowhere/Atlantis", "").failure(),
            Err(Failure::BadRequest(_))
        ));
        assert!(zone(&"x".repeat(65), berlin).is_err());
    }

    #[test]
    fn a_zone_name_alone_takes_its_rule_from_the_hosts_zoneinfo() {
        if !Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
            return;
        }
        assert_eq!(
            zone("Europe/Berlin", "").unwrap().1,
            "CET-1CEST,M3.5.0,M10.5.0/3"
        );
    }

    #[test]
    fn amounts_keep_the_venues_currency_in_each_languages_separators() {
        let venue = Venue {
            currency: "€".into(),
            decimal_separator: ".".into(),
            ..Venue::default()
        };
        let money = |lang| venue.money_for(i18n::find(lang).unwrap()).format(123_450);
        assert_eq!(money("en"), "€1234.50");
        assert_eq!(money("es"), "1.234,50 €");
        assert_eq!(money("hi"), "€1,234.50");
        // The venue's own language shows the venue's own format.
        let spanish = Venue {
            language: "es".into(),
            ..venue.clone()
        };
        assert_eq!(
            spanish.money_for(i18n::find("es").unwrap()).format(800),
            "€8.00"
        );
        let yen = Venue {
            decimals: 0,
            ..venue
        };
        assert_eq!(
            yen.money_for(i18n::find("es").unwrap()).format(1500),
            "1.500 €"
        );
    }

    #[test]
    fn the_default_language_is_always_offered() {
        let offer = |default: &str, chosen: &[&str]| {
            let venue = Venue {
                language: default.into(),
                languages: chosen.iter().map(|l| l.to_string()).collect(),
                ..Venue::default()
            }
            .validate()?;
            let codes: Vec<&str> = venue.offered().iter().map(|c| c.lang).collect();
            Ok::<_, Error>((venue.languages, codes.join(" ")))
        };
        let (stored, offered) = offer("hi", &["", "es"]).unwrap();
        assert_eq!(stored, ["es", "hi"]);
        assert_eq!(offered, "hi es");
        assert_eq!(offer("es", &[""]).unwrap().1, "es");
        assert!(offer("en", &["xx"]).is_err());
        assert!(offer("xx", &["en"]).is_err());
    }

    #[test]
    fn the_minute_of_day_follows_daylight_saving_changes() {
        let venue = Venue {
            time_zone: "Europe/Berlin".into(),
            time_zone_rule: "CET-1CEST,M3.5.0,M10.5.0/3".into(),
            ..Venue::default()
        };
        let zone = time::parse_rule(&venue.time_zone_rule).unwrap();
        let at = |month, day, hour, minute| {
            let local = time::LocalTime {
                year: 2024,
                month,
                day,
                hour,
                minute,
            };
            venue.minute_of_day(time::to_utc_ms(&zone, local).unwrap())
        };
        // Spring: 01:59 is followed by 03:00; breakfast still opens at 07:00.
        let spring = time::to_utc_ms(
            &zone,
            time::LocalTime {
                year: 2024,
                month: 3,
                day: 31,
                hour: 1,
                minute: 59,
            },
        )
        .unwrap();
        assert_eq!(venue.minute_of_day(spring), 119);
        assert_eq!(venue.minute_of_day(spring + 60_000), 180);
        assert_eq!(at(3, 30, 7, 0), 420);
        assert_eq!(at(3, 31, 7, 0), 420);
        assert_eq!(venue.minute_of_day(spring + 4 * 3_600_000 + 60_000), 420);
        // Autumn: 02:59 summer time is followed by 02:00 again.
        let autumn = time::to_utc_ms(
            &zone,
            time::LocalTime {
                year: 2024,
                month: 10,
                day: 27,
                hour: 2,
                minute: 59,
            },
        )
        .unwrap();
        assert_eq!(venue.minute_of_day(autumn), 179);
        assert_eq!(venue.minute_of_day(autumn + 60_000), 120);
        assert_eq!(at(10, 27, 7, 0), 420);
        assert_eq!(venue.minute_of_day(autumn + 5 * 3_600_000 + 60_000), 7 * 60);
    }
}
