//! Clock access and the venue's time zone. Stored times are UTC
//! milliseconds; pages show them in the venue's zone, kept as a POSIX TZ
//! rule (`CET-1CEST,M3.5.0,M10.5.0/3`, as OpenWrt's `/etc/TZ` holds it) so
//! daylight saving works without zoneinfo files, which routers rarely have.

use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use tz::datetime::UtcDateTime;
use tz::timezone::{TimeZone, TimeZoneSettings};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The rule of UTC, and of any venue whose zone is unknown.
pub const UTC_RULE: &str = "UTC0";
/// Longer rules are not real ones; bounds what the owner may store.
pub const MAX_RULE_CHARS: usize = 100;
/// IANA names are far shorter ("America/Argentina/ComodRivadavia" is 32).
pub const MAX_NAME_CHARS: usize = 64;

/// Parses a POSIX TZ rule. Only the rule itself is read: never a zoneinfo
/// file, whatever the text names, so what a page shows depends on the
/// stored rule alone.
pub fn parse_rule(rule: &str) -> Option<TimeZone> {
    if rule.len() > MAX_RULE_CHARS {
        return None;
    }
    let no_files = TimeZoneSettings::new(&[], |_| Err("zone rules come from text only".into()));
    no_files.parse_posix_tz(rule).ok()
}

/// A wall-clock time in a zone, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

/// The wall-clock time in `zone` at the UTC instant `ms`.
pub fn to_local(zone: &TimeZone, ms: i64) -> Option<LocalTime> {
    let utc = UtcDateTime::from_timespec(ms.div_euclid(1000), 0).ok()?;
    let local = utc.project(zone.as_ref()).ok()?;
    Some(LocalTime {
        year: local.year(),
        month: local.month(),
        day: local.month_day(),
        hour: local.hour(),
        minute: local.minute(),
    })
}

/// The UTC instant (ms) at which `zone`'s clocks show `local`. A time that
/// occurs twice (clocks going back) is its first occurrence; one that never
/// occurs (clocks jumping forward) is the instant of the jump. Only the
/// tests need it so far, to name instants around a daylight-saving change.
#[cfg(test)]
pub fn to_utc_ms(zone: &TimeZone, local: LocalTime) -> Option<i64> {
    let found = tz::datetime::DateTime::find(
        local.year,
        local.month,
        local.day,
        local.hour,
        local.minute,
        0,
        0,
        zone.as_ref(),
    )
    .ok()?;
    found.earliest().map(|t| t.unix_time() * 1000)
}

/// "HH:MM" of a UTC timestamp in the zone of `rule`; UTC if the rule does
/// not parse.
pub fn clock(ms: i64, rule: &str) -> String {
    let zone = parse_rule(rule).unwrap_or_else(TimeZone::utc);
    match to_local(&zone, ms) {
        Some(t) => format!("{:02}:{:02}", t.hour, t.minute),
        None => String::new(),
    }
}

/// A zone that is a fixed number of minutes east of UTC, as `(name, rule)`:
/// what settings saved before zones had rules meant.
pub fn fixed_offset_zone(minutes_east: i64) -> (String, String) {
    let minutes_east = minutes_east.clamp(-14 * 60, 14 * 60);
    if minutes_east == 0 {
        return ("UTC".into(), UTC_RULE.into());
    }
    let sign = if minutes_east > 0 { '+' } else { '-' };
    let (hours, minutes) = (minutes_east.abs() / 60, minutes_east.abs() % 60);
    let label = if minutes == 0 {
        format!("{sign}{hours:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}")
    };
    // POSIX counts offsets west of UTC: east is negative.
    let posix_sign = if minutes_east > 0 { "-" } else { "" };
    let rule = if minutes == 0 {
        format!("<{label}>{posix_sign}{hours}")
    } else {
        format!("<{label}>{posix_sign}{hours}:{minutes:02}")
    };
    (format!("UTC{sign}{hours:02}:{minutes:02}"), rule)
}

/// The router's zone as `(name, rule)`: the rule from `/etc/TZ` (or the
/// UCI system config), the IANA name from UCI `system.@system[0].zonename`;
/// UTC when neither is there.
pub fn router_zone() -> (String, String) {
    let text =
        |path: &str| read_start(Path::new(path)).map(|b| String::from_utf8_lossy(&b).into_owned());
    zone_from_router_files(
        text("/etc/TZ").as_deref(),
        text("/etc/config/system").as_deref(),
    )
}

/// `router_zone` on the texts of `/etc/TZ` and `/etc/config/system`.
pub fn zone_from_router_files(etc_tz: Option<&str>, uci_system: Option<&str>) -> (String, String) {
    let option = |name| uci_system.and_then(|text| uci_system_option(text, name));
    let rule = [etc_tz.and_then(|t| t.lines().next()), option("timezone")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|rule| parse_rule(rule).is_some());
    let Some(rule) = rule else {
        return ("UTC".into(), UTC_RULE.into());
    };
    let name = option("zonename")
        .filter(|name| name.chars().count() <= MAX_NAME_CHARS)
        .unwrap_or(rule);
    (name.to_string(), rule.to_string())
}

/// An option of the first `config system` section of a UCI file, unquoted.
fn uci_system_option<'a>(text: &'a str, option: &str) -> Option<&'a str> {
    let mut in_system = false;
    let mut seen_system = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("config") => {
                if seen_system {
                    return None;
                }
                in_system = words.next() == Some("system");
                seen_system |= in_system;
            }
            Some("option") if in_system && words.next() == Some(option) => {
                let value = line.trim().splitn(3, char::is_whitespace).nth(2)?.trim();
                return Some(unquote(value));
            }
            _ => {}
        }
    }
    None
}

fn unquote(value: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// The rule of an IANA zone from the host's zoneinfo files, where it has
/// them: the POSIX rule a TZif file (version 2 or later) ends with.
pub fn rule_from_zoneinfo(name: &str) -> Option<String> {
    let plausible = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with('/')
        && !name
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.'))
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !plausible {
        return None;
    }
    let file = read_start(&Path::new("/usr/share/zoneinfo").join(name))?;
    tzif_footer_rule(&file).map(str::to_string)
}

/// The footer of a TZif file: its POSIX rule between the last two newlines.
fn tzif_footer_rule(file: &[u8]) -> Option<&str> {
    if !file.starts_with(b"TZif") || file.get(4).is_none_or(|v| *v < b'2') {
        return None;
    }
    let body = file.strip_suffix(b"\n")?;
    let start = body.iter().rposition(|&b| b == b'\n')? + 1;
    let rule = std::str::from_utf8(&body[start..]).ok()?;
    parse_rule(rule).map(|_| rule)
}

/// The first 64 KiB of a file (all of any config or TZif file), or `None`.
fn read_start(path: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
    const HOUR_MS: i64 = 3_600_000;

    fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> LocalTime {
        LocalTime {
            year,
            month,
            day,
            hour,
            minute,
        }
    }

    /// UTC milliseconds of a UTC wall-clock time.
    fn utc(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> i64 {
        to_utc_ms(&TimeZone::utc(), at(year, month, day, hour, minute)).unwrap()
    }

    /// The UTC instants of a local window on one day.
    fn window(rule: &str, day: (i32, u8, u8), from: (u8, u8), to: (u8, u8)) -> (i64, i64) {
        let zone = parse_rule(rule).unwrap();
        let (y, m, d) = day;
        (
            to_utc_ms(&zone, at(y, m, d, from.0, from.1)).unwrap(),
            to_utc_ms(&zone, at(y, m, d, to.0, to.1)).unwrap(),
        )
    }

    #[test]
    fn clock_shows_the_zone_and_wraps_midnight() {
        // 2024-01-01T23:30:00Z
        let ms = 1_704_151_800_000;
        assert_eq!(utc(2024, 1, 1, 23, 30), ms);
        assert_eq!(clock(ms, UTC_RULE), "23:30");
        assert_eq!(clock(ms, BERLIN), "00:30");
        assert_eq!(clock(ms, "<-0530>5:30"), "18:00");
        assert_eq!(clock(ms, "not a rule"), "23:30");
    }

    #[test]
    fn clock_follows_daylight_saving() {
        // Noon UTC is 13:00 in Berlin's winter and 14:00 in its summer.
        assert_eq!(clock(utc(2024, 3, 30, 12, 0), BERLIN), "13:00");
        assert_eq!(clock(utc(2024, 3, 31, 12, 0), BERLIN), "14:00");
        assert_eq!(clock(utc(2024, 10, 26, 12, 0), BERLIN), "14:00");
        assert_eq!(clock(utc(2024, 10, 27, 12, 0), BERLIN), "13:00");
    }

    #[test]
    fn a_morning_window_keeps_its_local_hours_across_daylight_saving_changes() {
        // Berlin: 31 March 2024 and 27 October 2024 are the last Sundays.
        let morning = |day| window(BERLIN, day, (7, 0), (11, 0));
        assert_eq!(
            morning((2024, 3, 30)),
            (utc(2024, 3, 30, 6, 0), utc(2024, 3, 30, 10, 0))
        );
        assert_eq!(
            morning((2024, 3, 31)),
            (utc(2024, 3, 31, 5, 0), utc(2024, 3, 31, 9, 0))
        );
        assert_eq!(
            morning((2024, 10, 26)),
            (utc(2024, 10, 26, 5, 0), utc(2024, 10, 26, 9, 0))
        );
        assert_eq!(
            morning((2024, 10, 27)),
            (utc(2024, 10, 27, 6, 0), utc(2024, 10, 27, 10, 0))
        );
    }

    #[test]
    fn a_night_window_across_the_change_is_shorter_in_spring_and_longer_in_autumn() {
        let night = |day| {
            let (from, to) = window(BERLIN, day, (1, 0), (4, 0));
            (to - from) / HOUR_MS
        };
        assert_eq!(night((2024, 3, 31)), 2);
        assert_eq!(night((2024, 10, 27)), 4);
        let zone = parse_rule(BERLIN).unwrap();
        // 02:30 never happens on 31 March: the jump at 01:00 UTC stands for it.
        assert_eq!(
            to_utc_ms(&zone, at(2024, 3, 31, 2, 30)),
            Some(utc(2024, 3, 31, 1, 0))
        );
        // 02:30 happens twice on 27 October: the first time counts.
        assert_eq!(
            to_utc_ms(&zone, at(2024, 10, 27, 2, 30)),
            Some(utc(2024, 10, 27, 0, 30))
        );
        assert_eq!(
            to_local(&zone, utc(2024, 10, 27, 1, 30)),
            Some(at(2024, 10, 27, 2, 30))
        );
    }

    #[test]
    fn rules_are_read_as_text_only() {
        assert!(parse_rule(BERLIN).is_some());
        assert!(parse_rule("<+0545>-5:45").is_some());
        for bad in [
            "",
            "localtime",
            ":Europe/Berlin",
            "/etc/passwd",
            "CET-1CEST",
            "x",
        ] {
            assert!(parse_rule(bad).is_none(), "{bad:?}");
        }
        assert!(parse_rule(&format!("{BERLIN}{}", " ".repeat(MAX_RULE_CHARS))).is_none());
    }

    #[test]
    fn fixed_offsets_become_rules_that_keep_their_offset() {
        let noon = utc(2024, 7, 1, 12, 0);
        for (minutes, name, shown) in [
            (0, "UTC", "12:00"),
            (60, "UTC+01:00", "13:00"),
            (-300, "UTC-05:00", "07:00"),
            (330, "UTC+05:30", "17:30"),
            (-570, "UTC-09:30", "02:30"),
        ] {
            let (zone_name, rule) = fixed_offset_zone(minutes);
            assert_eq!(zone_name, name);
            assert_eq!(clock(noon, &rule), shown, "{rule}");
        }
        assert_eq!(fixed_offset_zone(100_000), fixed_offset_zone(14 * 60));
    }

    #[test]
    fn the_router_zone_comes_from_etc_tz_and_uci() {
        let system = "
config system
\toption hostname 'OpenWrt'
\toption timezone 'EST5EDT,M3.2.0,M11.1.0'
\toption zonename 'Europe/Berlin'

config timeserver 'ntp'
\toption zonename 'Not/This'
";
        assert_eq!(
            zone_from_router_files(Some("CET-1CEST,M3.5.0,M10.5.0/3\n"), Some(system)),
            ("Europe/Berlin".into(), BERLIN.into())
        );
        // No /etc/TZ: the rule UCI keeps.
        assert_eq!(
            zone_from_router_files(None, Some(system)).1,
            "EST5EDT,M3.2.0,M11.1.0"
        );
        // A rule without a name is named by itself.
        assert_eq!(
            zone_from_router_files(Some("<+03>-3"), None),
            ("<+03>-3".into(), "<+03>-3".into())
        );
        assert_eq!(
            zone_from_router_files(Some("garbage"), Some("config system\n")),
            ("UTC".into(), UTC_RULE.into())
        );
        assert_eq!(
            zone_from_router_files(None, None),
            ("UTC".into(), UTC_RULE.into())
        );
        let unquoted = "config system\n\toption zonename America/New_York\n";
        assert_eq!(
            zone_from_router_files(Some("EST5EDT,M3.2.0,M11.1.0"), Some(unquoted)).0,
            "America/New_York"
        );
    }

    #[test]
    fn tzif_files_give_their_footer_rule() {
        let mut file = b"TZif2\0\0\0binary\ndata\n".to_vec();
        file.extend_from_slice(format!("\n{BERLIN}\n").as_bytes());
        assert_eq!(tzif_footer_rule(&file), Some(BERLIN));
        file[4] = 0;
        assert_eq!(tzif_footer_rule(&file), None);
        assert_eq!(tzif_footer_rule(b"TZif2 no footer"), None);
        assert_eq!(tzif_footer_rule(b"not a tzif file\nUTC0\n"), None);
    }

    #[test]
    fn zone_names_cannot_leave_the_zoneinfo_folder() {
        for name in ["../../etc/passwd", "/etc/passwd", "Europe/../x", "", "a//b"] {
            assert_eq!(rule_from_zoneinfo(name), None, "{name:?}");
        }
    }
}
