//! Money is integer minor units (cents) everywhere; these turn it into text
//! and back without ever touching floating point. How it looks (symbol,
//! decimals, separators) is the venue's `MoneyFormat`, used by the pages,
//! by messages and, through data attributes, by the script.

use crate::error::{Code, Error, Result};
use crate::support::json::json_object;

/// The largest price a menu item may have, in minor units (100,000.00).
pub const MAX_PRICE_CENTS: i64 = 10_000_000;
/// Currencies have at most three digits after the separator (dinars).
pub const MAX_DECIMALS: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoneyFormat {
    pub symbol: String,
    /// Digits of the minor unit: 2 for cents, 0 where there are none.
    pub decimals: u32,
    pub decimal_separator: String,
    /// Between groups of three digits; empty for none.
    pub thousands_separator: String,
    /// "12,50 €" instead of "€12.50".
    pub symbol_after: bool,
}
json_object!(MoneyFormat: symbol, decimals, decimal_separator, thousands_separator, symbol_after);

impl Default for MoneyFormat {
    fn default() -> Self {
        MoneyFormat {
            symbol: "€".into(),
            decimals: 2,
            decimal_separator: ".".into(),
            thousands_separator: String::new(),
            symbol_after: false,
        }
    }
}

impl MoneyFormat {
    fn scale(&self) -> u64 {
        10u64.pow(self.decimals.min(MAX_DECIMALS))
    }

    /// An amount as people read it: "€1,234.50", "1.234,50 €".
    pub fn format(&self, minor_units: i64) -> String {
        let number = self.number(minor_units, &self.thousands_separator);
        if self.symbol_after {
            format!("{number} {}", self.symbol)
        } else {
            format!("{}{number}", self.symbol)
        }
    }

    /// An amount as typed into a form, without symbol or grouping: "1234.50".
    pub fn amount(&self, minor_units: i64) -> String {
        self.number(minor_units, "")
    }

    fn number(&self, minor_units: i64, thousands: &str) -> String {
        let sign = if minor_units < 0 { "-" } else { "" };
        let abs = minor_units.unsigned_abs();
        let scale = self.scale();
        let whole = (abs / scale).to_string();
        let mut grouped = String::with_capacity(whole.len() * 2);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push_str(thousands);
            }
            grouped.push(digit);
        }
        if self.decimals == 0 {
            return format!("{sign}{grouped}");
        }
        let width = self.decimals.min(MAX_DECIMALS) as usize;
        format!(
            "{sign}{grouped}{}{:0width$}",
            self.decimal_separator,
            abs % scale
        )
    }

    /// Parses "12", "12.5" or "12.50" (a comma works as the separator too)
    /// into minor units, within 0..=MAX_PRICE_CENTS.
    pub fn parse_price(&self, text: &str) -> Result<i64> {
        let invalid = || {
            Error::bad(Code::PriceInvalid)
                .with("text", text)
                .with_money("example", 450 * self.scale() as i64 / 100)
        };
        let text = text.trim();
        let (whole, fraction) = match text.split_once(['.', ',']) {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let decimals = self.decimals.min(MAX_DECIMALS) as usize;
        if !digits(whole)
            || fraction.len() > decimals
            || (!fraction.is_empty() && !digits(fraction))
        {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction: i64 = if decimals == 0 {
            0
        } else {
            format!("{fraction:0<decimals$}")
                .parse()
                .map_err(|_| invalid())?
        };
        let minor = whole
            .checked_mul(self.scale() as i64)
            .and_then(|w| w.checked_add(fraction))
            .ok_or_else(invalid)?;
        check_price(minor)?;
        Ok(minor)
    }
}

pub fn check_price(cents: i64) -> Result<()> {
    if !(0..=MAX_PRICE_CENTS).contains(&cents) {
        return Err(Error::bad(Code::PriceOutOfRange)
            .with_money("min", 0)
            .with_money("max", MAX_PRICE_CENTS));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn euro_de() -> MoneyFormat {
        MoneyFormat {
            symbol: "€".into(),
            decimals: 2,
            decimal_separator: ",".into(),
            thousands_separator: ".".into(),
            symbol_after: true,
        }
    }

    #[test]
    fn formats_minor_units() {
        let plain = MoneyFormat::default();
        assert_eq!(plain.format(0), "€0.00");
        assert_eq!(plain.format(5), "€0.05");
        assert_eq!(plain.format(1250), "€12.50");
        assert_eq!(plain.format(-199), "€-1.99");
        assert_eq!(plain.format(123_456_789), "€1234567.89");
        assert_eq!(euro_de().format(123_456_789), "1.234.567,89 €");
        assert_eq!(euro_de().format(100_000), "1.000,00 €");
        assert_eq!(euro_de().amount(123_456), "1234,56");
        let yen = MoneyFormat {
            symbol: "¥".into(),
            decimals: 0,
            thousands_separator: ",".into(),
            ..MoneyFormat::default()
        };
        assert_eq!(yen.format(1_500), "¥1,500");
        assert_eq!(yen.format(999), "¥999");
    }

    #[test]
    fn parses_prices_without_floats() {
        let plain = MoneyFormat::default();
        assert_eq!(plain.parse_price("12"), Ok(1200));
        assert_eq!(plain.parse_price("12.5"), Ok(1250));
        assert_eq!(plain.parse_price(" 0,99 "), Ok(99));
        assert_eq!(plain.parse_price("0.07"), Ok(7));
        assert_eq!(euro_de().parse_price(&euro_de().amount(4_50)), Ok(450));
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
            assert!(plain.parse_price(bad).is_err(), "{bad} should be refused");
        }
        let yen = MoneyFormat {
            decimals: 0,
            ..MoneyFormat::default()
        };
        assert_eq!(yen.parse_price("450"), Ok(450));
        assert!(yen.parse_price("4.50").is_err());
    }
}
