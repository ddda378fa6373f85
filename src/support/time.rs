//! Clock access and display. Stored times are UTC milliseconds; pages show
//! them in the venue's zone, configured as a fixed offset from UTC.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// "HH:MM" of a UTC timestamp in a zone `offset_minutes` east of UTC.
pub fn clock(ms: i64, offset_minutes: i64) -> String {
    let minutes = (ms.div_euclid(60_000) + offset_minutes).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_applies_the_venue_offset_and_wraps_midnight() {
        // 2024-01-01T23:30:00Z
        let ms = 1_704_151_800_000;
        assert_eq!(clock(ms, 0), "23:30");
        assert_eq!(clock(ms, 60), "00:30");
        assert_eq!(clock(ms, -330), "18:00");
    }
}
