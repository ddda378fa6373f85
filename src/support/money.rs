//! Money is integer minor units (cents) everywhere; these turn it into text
//! and back without ever touching floating point.

use crate::error::{Error, Result};

/// Cents as "12.50".
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The largest price a menu item may have: 100,000.00.
pub const MAX_PRICE_CENTS: i64 = 10_000_000;

/// Parses "12", "12.5" or "12.50" (a comma works as the separator too).
pub fn parse_price(text: &str) -> Result<i64> {
    let invalid = || Error::bad(format!("'{text}' is not a price like 4.50"));
    let text = text.trim();
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.len() > 2 || (!fraction.is_empty() && !digits(fraction)) {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let cents = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(invalid)?;
    check_price(cents)?;
    Ok(cents)
}

pub fn check_price(cents: i64) -> Result<()> {
    if !(0..=MAX_PRICE_CENTS).contains(&cents) {
        return Err(Error::bad(format!(
            "price must be between 0 and {}",
            format_cents(MAX_PRICE_CENTS)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_cents() {
        assert_eq!(format_cents(0), "0.00");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(1250), "12.50");
        assert_eq!(format_cents(-199), "-1.99");
    }

    #[test]
    fn parses_prices_without_floats() {
        assert_eq!(parse_price("12"), Ok(1200));
        assert_eq!(parse_price("12.5"), Ok(1250));
        assert_eq!(parse_price(" 0,99 "), Ok(99));
        assert_eq!(parse_price("0.07"), Ok(7));
        for bad in [
            "",
            "-1",
            "1.234",
            "abc",
            "1e3",
            ".5",
            "100001",
            "99999999999999999999",
        ] {
            assert!(parse_price(bad).is_err(), "{bad} should be refused");
        }
    }
}
