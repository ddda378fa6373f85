//! Clock access and the venue's time zone. Stored times are UTC
//! milliseconds; pages show them in the venue's zone, kept as a POSIX TZ
//! rule (`CET-1CEST,M3.5.0,M10.5.0/3`, as OpenWrt's `/etc/TZ` holds it) so
//! daylight saving works without zoneinfo files, which routers rarely have.

use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

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

const DAY_SECONDS: i64 = 86_400;

/// A zone as a POSIX TZ rule describes it: offsets in seconds east of UTC.
/// Written by hand (about 3 KB on mips) instead of a time-zone crate (23 KB):
/// only rules are needed, never zoneinfo files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    standard: i64,
    summer: Option<Summer>,
}

/// Daylight saving: its offset and the local times it starts and ends,
/// each read in the time in force just before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Summer {
    offset: i64,
    start: (Day, i64),
    end: (Day, i64),
}

/// A rule's day of the year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Day {
    /// `Jn`: 1 to 365, February 29 never counted.
    NoLeap(i64),
    /// `n`: 0 to 365, February 29 counted.
    Leap(i64),
    /// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5: the last) of month `m`.
    Month { month: i64, week: i64, weekday: i64 },
}

impl Zone {
    pub const UTC: Zone = Zone {
        standard: 0,
        summer: None,
    };

    /// Seconds east of UTC at the UTC instant `t` (seconds).
    fn offset_at(&self, t: i64) -> i64 {
        let Some(summer) = self.summer else {
            return self.standard;
        };
        let (start, end) = self.changes(year_of_day((t + self.standard).div_euclid(DAY_SECONDS)));
        let in_summer = if start < end {
            start <= t && t < end
        } else {
            !(end <= t && t < start)
        };
        if in_summer {
            summer.offset
        } else {
            self.standard
        }
    }

    /// The UTC instants (seconds) at which daylight saving starts and ends
    /// in `year`; only called on zones that have it.
    fn changes(&self, year: i64) -> (i64, i64) {
        let Some(summer) = self.summer else {
            return (0, 0);
        };
        let at = |(day, time): (Day, i64), offset: i64| {
            (days_from_civil(year, 1, 1) + day.of_year(year)) * DAY_SECONDS + time - offset
        };
        (
            at(summer.start, self.standard),
            at(summer.end, summer.offset),
        )
    }
}

impl Day {
    /// Days after January 1 of `year`.
    fn of_year(self, year: i64) -> i64 {
        match self {
            Day::NoLeap(n) => n - 1 + i64::from(is_leap(year) && n >= 60),
            Day::Leap(n) => n,
            Day::Month {
                month,
                week,
                weekday,
            } => {
                let first = days_from_civil(year, month, 1);
                // 1970-01-01 was a Thursday (4).
                let first_weekday = (first + 4).rem_euclid(7);
                let mut day = (weekday - first_weekday).rem_euclid(7) + (week - 1) * 7;
                if day >= month_days(year, month) {
                    day -= 7;
                }
                first + day - days_from_civil(year, 1, 1)
            }
        }
    }
}

/// Parses a POSIX TZ rule (`std offset [dst [offset] ,start[/time],end[/time]]`).
/// Only the rule itself is read: never a zoneinfo file, whatever the text
/// names, so what a page shows depends on the stored rule alone.
pub fn parse_rule(rule: &str) -> Option<Zone> {
    if rule.len() > MAX_RULE_CHARS {
        return None;
    }
    let mut text = Scanner(rule.trim().as_bytes());
    text.name()?;
    let standard = -text.duration(24)?;
    if text.0.is_empty() {
        return Some(Zone {
            standard,
            summer: None,
        });
    }
    text.name()?;
    let offset = match text.0.first() {
        Some(b',') => standard + 3600,
        _ => -text.duration(24)?,
    };
    let start = text.change()?;
    let end = text.change()?;
    text.0.is_empty().then_some(Zone {
        standard,
        summer: Some(Summer { offset, start, end }),
    })
}

/// The unread rest of a rule.
struct Scanner<'a>(&'a [u8]);

impl Scanner<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.0.first() == Some(&byte);
        if found {
            self.0 = &self.0[1..];
        }
        found
    }

    /// Takes the longest run of bytes that `fits`.
    fn take(&mut self, fits: impl Fn(u8) -> bool) -> &[u8] {
        let n = self.0.iter().take_while(|&&b| fits(b)).count();
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }

    /// A zone name: letters, or `<…>` around letters, digits and signs.
    fn name(&mut self) -> Option<()> {
        let quoted = self.eat(b'<');
        let name = if quoted {
            self.take(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
        } else {
            self.take(|b| b.is_ascii_alphabetic())
        };
        (!name.is_empty() && (!quoted || self.eat(b'>'))).then_some(())
    }

    fn number(&mut self, max: i64) -> Option<i64> {
        let digits = self.take(|b| b.is_ascii_digit());
        if digits.is_empty() || digits.len() > 3 {
            return None;
        }
        let n = digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
        (n <= max).then_some(n)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, hours at most `max_hours`.
    fn duration(&mut self, max_hours: i64) -> Option<i64> {
        let sign = if self.eat(b'-') {
            -1
        } else {
            self.eat(b'+');
            1
        };
        let mut seconds = self.number(max_hours)? * 3600;
        for unit in [60, 1] {
            if !self.eat(b':') {
                break;
            }
            seconds += self.number(59)? * unit;
        }
        Some(sign * seconds)
    }

    /// `,day[/time]`: when daylight saving starts or ends.
    fn change(&mut self) -> Option<(Day, i64)> {
        if !self.eat(b',') {
            return None;
        }
        let day = if self.eat(b'J') {
            Day::NoLeap(self.number(365).filter(|&n| n >= 1)?)
        } else if self.eat(b'M') {
            let month = self.number(12).filter(|&n| n >= 1)?;
            let week = self.eat(b'.').then(|| self.number(5))??;
            let weekday = self.eat(b'.').then(|| self.number(6))??;
            if week == 0 {
                return None;
            }
            Day::Month {
                month,
                week,
                weekday,
            }
        } else {
            Day::Leap(self.number(365)?)
        };
        // POSIX's default is 02:00; the usual extension allows -167 to 167 hours.
        let time = if self.eat(b'/') {
            self.duration(167)?
        } else {
            7200
        };
        Some((day, time))
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn month_days(year: i64, month: i64) -> i64 {
    match month {
        2 => 28 + i64::from(is_leap(year)),
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day since 1970-01-01, as `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn year_of_day(days: i64) -> i64 {
    civil_from_days(days).0
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
pub fn to_local(zone: &Zone, ms: i64) -> Option<LocalTime> {
    let t = ms.div_euclid(1000);
    let local = t.checked_add(zone.offset_at(t))?;
    let (year, month, day) = civil_from_days(local.div_euclid(DAY_SECONDS));
    let second_of_day = local.rem_euclid(DAY_SECONDS);
    Some(LocalTime {
        year: i32::try_from(year).ok()?,
        month: month as u8,
        day: day as u8,
        hour: (second_of_day / 3600) as u8,
        minute: (second_of_day / 60 % 60) as u8,
    })
}

/// The UTC instant (ms) at which `zone`'s clocks show `local`. A time that
/// occurs twice (clocks going back) is its first occurrence; one that never
/// occurs (clocks jumping forward) is the instant of the jump.
pub fn to_utc_ms(zone: &Zone, local: LocalTime) -> Option<i64> {
    let wall = days_from_civil(
        i64::from(local.year),
        i64::from(local.month),
        i64::from(local.day),
    ) * DAY_SECONDS
        + i64::from(local.hour) * 3600
        + i64::from(local.minute) * 60;
    let offsets = [
        zone.standard,
        zone.summer.map_or(zone.standard, |s| s.offset),
    ];
    let found = offsets
        .iter()
        .map(|offset| wall - offset)
        .filter(|&t| t + zone.offset_at(t) == wall)
        .min()
        .or_else(|| {
            // In the gap of a jump forward: the jump that skipped it.
            let (start, end) = zone.changes(i64::from(local.year));
            let (low, high) = (
                wall - offsets[1].max(offsets[0]),
                wall - offsets[1].min(offsets[0]),
            );
            [start, end].into_iter().find(|t| (low..=high).contains(t))
        })?;
    Some(found * 1000)
}

/// "HH:MM" of a UTC timestamp in the zone of `rule`; UTC if the rule does
/// not parse.
pub fn clock(ms: i64, rule: &str) -> String {
    let zone = parse_rule(rule).unwrap_or(Zone::UTC);
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
        to_utc_ms(&Zone::UTC, at(year, month, day, hour, minute)).unwrap()
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

    #[test]
    fn southern_zones_have_summer_across_new_year() {
        // Sydney: summer from the first Sunday of October to that of April.
        let sydney = "AEST-10AEDT,M10.1.0,M4.1.0/3";
        assert_eq!(clock(utc(2024, 1, 15, 0, 0), sydney), "11:00");
        assert_eq!(clock(utc(2024, 7, 15, 0, 0), sydney), "10:00");
        assert_eq!(clock(utc(2024, 12, 31, 13, 30), sydney), "00:30");
        // Ireland keeps "summer" time in winter: a negative saving.
        let dublin = "IST-1GMT0,M10.5.0,M3.5.0/1";
        assert_eq!(clock(utc(2024, 1, 15, 12, 0), dublin), "12:00");
        assert_eq!(clock(utc(2024, 7, 15, 12, 0), dublin), "13:00");
    }

    #[test]
    fn julian_days_and_extended_change_times_are_understood() {
        // Jn never counts 29 February; n does, from 0.
        let no_leap = parse_rule("AAA0BBB,J60/0,J300/0").unwrap();
        let leap = parse_rule("AAA0BBB,59/0,300/0").unwrap();
        // 2024 is a leap year: J60 is 1 March, day 59 is 29 February.
        assert_eq!(
            to_local(&no_leap, utc(2024, 2, 29, 12, 0)).unwrap().hour,
            12
        );
        assert_eq!(to_local(&no_leap, utc(2024, 3, 1, 12, 0)).unwrap().hour, 13);
        assert_eq!(to_local(&leap, utc(2024, 2, 29, 12, 0)).unwrap().hour, 13);
        // Greenland changes on the last Sunday of March at -1:00, which is
        // 23:00 of the Saturday before.
        let nuuk = "<-02>2<-01>,M3.5.0/-1,M10.5.0/0";
        assert!(parse_rule(nuuk).is_some());
        assert_eq!(clock(utc(2024, 3, 31, 0, 59), nuuk), "22:59");
        assert_eq!(clock(utc(2024, 3, 31, 1, 0), nuuk), "00:00");
        // Surrounding blanks are ignored, as in /etc/TZ lines.
        assert_eq!(parse_rule(" UTC0 \n"), parse_rule(UTC_RULE));
        for bad in [
            "AAA1BBB,M13.1.0,M3.1.0",
            "AAA1BBB,M3.0.0,M4.1.0",
            "AAA1BBB,J0,J5",
            "AAA1BBB,366,3",
            "AAA1:60",
            "AAA25",
            "AAA1BBB,1",
            "AAA1BBB,1,2/168",
            "<>1",
            "AAA1 x",
        ] {
            assert!(parse_rule(bad).is_none(), "{bad:?}");
        }
    }
}
