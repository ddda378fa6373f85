//! Promo codes (a shop's discounts, claimed at checkout) and promotions
//! (what a shop announces on its menu and on the venue's offers page).

use crate::error::{Code, Error, Result};
use crate::store::promo_codes::{self, Kind, PromoCodeRow, PromoFields};
use crate::store::promotions::{self, PromotionRow};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::text;
use crate::support::time::Zone;
use crate::venue::reports::{self, Date};
use rusqlite::Connection;

/// Promo codes a shop may keep.
pub const MAX_CODES: i64 = 100;
/// Promotions of a shop not yet ended at once.
pub const MAX_PROMOTIONS: i64 = 5;
/// Promotions a shop may keep in all, ended ones included.
pub const MAX_PROMOTIONS_STORED: i64 = 20;
/// Items one promotion may name.
pub const MAX_PROMOTION_ITEMS: usize = 10;
/// Promotions the venue's offers page and `GET /api/promotions` list.
pub const MAX_OFFERS: i64 = 200;
const MAX_CODE_CHARS: usize = 20;
const MAX_TEXT_CHARS: usize = 200;
/// The largest fixed discount, minimum subtotal or use limit.
const MAX_AMOUNT: i64 = 10_000_000;

/// The discount `code` gives on a shop's `subtotal_cents` at `now` (UTC
/// ms), in minor units: a percentage rounds half down (12.5 → 12, 12.51
/// → 13) so a discount never exceeds the stated share by half a cent or
/// more; never more than the subtotal, never negative. Whether a use is
/// left is only decided by `claim` inside the checkout's transaction.
pub fn promo_discount(code: &PromoCodeRow, subtotal_cents: i64, now: i64) -> Result<i64> {
    if code.starts_at.is_some_and(|start| now < start) {
        return Err(Error::conflict(Code::PromoNotYet).with("code", &code.code));
    }
    if code.ends_at.is_some_and(|end| now >= end) {
        return Err(Error::conflict(Code::PromoExpired).with("code", &code.code));
    }
    if code.use_limit.is_some_and(|limit| code.used >= limit) {
        return Err(Error::conflict(Code::PromoUsedUp).with("code", &code.code));
    }
    let subtotal = subtotal_cents.max(0);
    if subtotal < code.min_subtotal_cents {
        return Err(Error::conflict(Code::PromoBelowMinimum)
            .with("code", &code.code)
            .with_money("min", code.min_subtotal_cents));
    }
    let discount = match code.kind {
        Kind::Fixed => code.value,
        Kind::Percent => {
            let share = i128::from(subtotal) * i128::from(code.value.clamp(0, 100));
            let (whole, rest) = (share / 100, share % 100);
            i64::try_from(whole + i128::from(rest > 50)).unwrap_or(i64::MAX)
        }
    };
    Ok(discount.clamp(0, subtotal))
}

/// For checkout, inside its write transaction: the discount the shop's
/// `code` (any case) gives on `subtotal_cents`, with one use claimed. Of
/// concurrent checkouts for the last uses exactly as many get it as
/// there were uses left; the others get `409 promo.used_up`.
pub fn apply(
    tx: &Connection,
    shop_id: i64,
    code: &str,
    subtotal_cents: i64,
    now: i64,
) -> Result<i64> {
    let row = find(tx, shop_id, code)?;
    let discount = promo_discount(&row, subtotal_cents, now)?;
    claim(tx, &row)?;
    Ok(discount)
}

/// The shop's code as a customer typed it; an unknown one is 404.
pub fn find(conn: &Connection, shop_id: i64, code: &str) -> Result<PromoCodeRow> {
    let typed = code.trim().to_ascii_uppercase();
    if typed.is_empty() || typed.chars().count() > MAX_CODE_CHARS {
        return Err(Error::not_found(Code::PromoNotFound));
    }
    promo_codes::by_code(conn, shop_id, &typed)?
        .ok_or_else(|| Error::not_found(Code::PromoNotFound).with("code", typed))
}

/// Takes one use of `code` in the caller's transaction.
pub fn claim(tx: &Connection, code: &PromoCodeRow) -> Result<()> {
    if promo_codes::claim_use(tx, code.id)? {
        Ok(())
    } else {
        Err(Error::conflict(Code::PromoUsedUp).with("code", &code.code))
    }
}

/// A validity window as the keeper's form or the API sends it: UTC ms
/// (`starts_at`, `ends_at`), or the venue's days (`from`, `until`, both
/// included); left out or empty for no bound. Each patch carries these
/// four fields itself (forms cannot fill a flattened struct).
macro_rules! window_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($field)*
            pub starts_at: Option<Option<i64>>,
            pub ends_at: Option<Option<i64>>,
            pub from: Option<String>,
            pub until: Option<String>,
        }

        impl $name {
            /// The window `[start, end)`, keeping `current`'s bounds not sent.
            fn window(
                &self,
                zone: &Zone,
                current: (Option<i64>, Option<i64>),
            ) -> Result<(Option<i64>, Option<i64>)> {
                resolve_window(
                    zone,
                    (self.starts_at, self.ends_at),
                    (self.from.as_deref(), self.until.as_deref()),
                    current,
                )
            }
        }
    };
}

fn resolve_window(
    zone: &Zone,
    instants: (Option<Option<i64>>, Option<Option<i64>>),
    days: (Option<&str>, Option<&str>),
    current: (Option<i64>, Option<i64>),
) -> Result<(Option<i64>, Option<i64>)> {
    let day = |field: &'static str, text: &str| -> Result<Option<(i64, i64)>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let date = Date::parse(field, text)?;
        reports::span(zone, date, date).map(Some)
    };
    let start = match (days.0, instants.0) {
        (Some(text), _) => day("from", text)?.map(|(start, _)| start),
        (None, Some(ms)) => ms,
        (None, None) => current.0,
    };
    let end = match (days.1, instants.1) {
        (Some(text), _) => day("until", text)?.map(|(_, end)| end),
        (None, Some(ms)) => ms,
        (None, None) => current.1,
    };
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            return Err(Error::bad(Code::PromoBadWindow));
        }
    }
    Ok((start, end))
}

window_fields! {
    /// A promo code as the keeper's form or the API sends it; the fields
    /// left out keep their values.
    #[derive(Debug, Default)]
    pub struct CodePatch {
        pub code: Option<String>,
        /// "percent" or "fixed".
        pub kind: Option<String>,
        pub value: Option<i64>,
        pub min_subtotal_cents: Option<Option<i64>>,
        pub use_limit: Option<Option<i64>>,
    }
}

impl FromFields for CodePatch {
    fn from_fields(f: &Fields) -> Result<CodePatch> {
        f.done(CodePatch {
            code: f.text("code"),
            kind: f.text("kind"),
            value: f.int("value"),
            min_subtotal_cents: f.clearable_int("min_subtotal_cents"),
            use_limit: f.clearable_int("use_limit"),
            starts_at: f.clearable_int("starts_at"),
            ends_at: f.clearable_int("ends_at"),
            from: f.text("from"),
            until: f.text("until"),
        })
    }
}

impl CodePatch {
    fn fields(&self, zone: &Zone, current: Option<&PromoCodeRow>) -> Result<PromoFields> {
        let code = match (&self.code, current) {
            (Some(code), _) => code_word(code)?,
            (None, Some(row)) => row.code.clone(),
            (None, None) => {
                return Err(Error::bad(Code::FieldRequired).with_key("field", "field.code"))
            }
        };
        let kind = match (&self.kind, current) {
            (Some(kind), _) => Kind::parse(kind.trim()).ok_or_else(bad_value)?,
            (None, Some(row)) => row.kind,
            (None, None) => Kind::Percent,
        };
        let value = self
            .value
            .or(current.map(|row| row.value))
            .ok_or_else(bad_value)?;
        let top = if kind == Kind::Percent {
            100
        } else {
            MAX_AMOUNT
        };
        if !(1..=top).contains(&value) {
            return Err(bad_value());
        }
        let min_subtotal_cents = match self.min_subtotal_cents {
            Some(min) => min.unwrap_or(0),
            None => current.map_or(0, |row| row.min_subtotal_cents),
        };
        let use_limit = match self.use_limit {
            Some(limit) => limit,
            None => current.and_then(|row| row.use_limit),
        };
        if !(0..=MAX_AMOUNT).contains(&min_subtotal_cents)
            || use_limit.is_some_and(|limit| !(0..=MAX_AMOUNT).contains(&limit))
        {
            return Err(bad_value());
        }
        let (starts_at, ends_at) = self.window(
            zone,
            current.map_or((None, None), |r| (r.starts_at, r.ends_at)),
        )?;
        Ok(PromoFields {
            code,
            kind,
            value,
            min_subtotal_cents,
            starts_at,
            ends_at,
            use_limit,
        })
    }
}

fn bad_value() -> Error {
    Error::bad(Code::PromoBadValue).with("max", MAX_AMOUNT)
}

/// A code as stored: upper case, 2–20 ASCII letters, digits, `-` or `_`
/// (so only ASCII is upper-cased: "straße" is refused, not read as
/// "STRASSE").
fn code_word(text: &str) -> Result<String> {
    let code = text.trim().to_ascii_uppercase();
    let fits = (2..=MAX_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fits {
        Ok(code)
    } else {
        Err(Error::bad(Code::PromoMalformed).with("max", MAX_CODE_CHARS))
    }
}

pub fn codes(conn: &Connection, shop_id: i64) -> Result<Vec<PromoCodeRow>> {
    Ok(promo_codes::for_shop(conn, shop_id)?)
}

pub fn create_code(
    conn: &Connection,
    zone: &Zone,
    shop_id: i64,
    patch: &CodePatch,
    now: i64,
) -> Result<PromoCodeRow> {
    let fields = patch.fields(zone, None)?;
    if promo_codes::count_for_shop(conn, shop_id)? >= MAX_CODES {
        return Err(Error::conflict(Code::PromoTooMany).with("max", MAX_CODES));
    }
    let id = promo_codes::insert(conn, shop_id, &fields, now)?
        .ok_or_else(|| Error::conflict(Code::PromoCodeTaken).with("code", &fields.code))?;
    own_code(conn, shop_id, id)
}

pub fn update_code(
    conn: &Connection,
    zone: &Zone,
    shop_id: i64,
    id: i64,
    patch: &CodePatch,
) -> Result<PromoCodeRow> {
    let current = own_code(conn, shop_id, id)?;
    let fields = patch.fields(zone, Some(&current))?;
    let taken = promo_codes::by_code(conn, shop_id, &fields.code)?.is_some_and(|c| c.id != id);
    if taken {
        return Err(Error::conflict(Code::PromoCodeTaken).with("code", &fields.code));
    }
    promo_codes::update(conn, shop_id, id, &fields)?;
    own_code(conn, shop_id, id)
}

/// Returns the deleted code, for the audit log.
pub fn delete_code(conn: &Connection, shop_id: i64, id: i64) -> Result<PromoCodeRow> {
    let code = own_code(conn, shop_id, id)?;
    promo_codes::delete(conn, shop_id, id)?;
    Ok(code)
}

fn own_code(conn: &Connection, shop_id: i64, id: i64) -> Result<PromoCodeRow> {
    promo_codes::by_id(conn, shop_id, id)?.ok_or_else(|| Error::not_found(Code::PromoNotFound))
}

/// A promotion as customers see it.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: String,
    pub text: String,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub items: Vec<LinkedItem>,
}
json_object!(Promotion: id, shop_id, shop_name, text, starts_at, ends_at, items);

#[derive(Debug, Clone)]
pub struct LinkedItem {
    pub id: i64,
    pub name: String,
}
json_object!(LinkedItem: id, name);

fn view(conn: &Connection, row: PromotionRow) -> Result<Promotion> {
    let items = promotions::items_of(conn, row.id)?
        .into_iter()
        .map(|(id, name)| LinkedItem { id, name })
        .collect();
    Ok(Promotion {
        id: row.id,
        shop_id: row.shop_id,
        shop_name: row.shop_name,
        text: row.text,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        items,
    })
}

/// Promotions running at `now`: one approved shop's, or (`shop_id` 0)
/// every approved shop's, at most `MAX_OFFERS`.
pub fn running(conn: &Connection, shop_id: i64, now: i64) -> Result<Vec<Promotion>> {
    views(conn, promotions::running(conn, shop_id, now, MAX_OFFERS)?)
}

/// Every promotion of the shop, ended and future ones too.
pub fn shop_promotions(conn: &Connection, shop_id: i64) -> Result<Vec<Promotion>> {
    views(conn, promotions::for_shop(conn, shop_id)?)
}

fn views(conn: &Connection, rows: Vec<PromotionRow>) -> Result<Vec<Promotion>> {
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(view(conn, row)?);
    }
    Ok(views)
}

window_fields! {
    #[derive(Debug, Default)]
    pub struct PromotionPatch {
        pub text: Option<String>,
        /// Items of the shop it names (others are dropped); `[]` names none.
        pub items: Option<Vec<i64>>,
    }
}

impl FromFields for PromotionPatch {
    fn from_fields(f: &Fields) -> Result<PromotionPatch> {
        f.done(PromotionPatch {
            text: f.text("text"),
            items: f.ids("items"),
            starts_at: f.clearable_int("starts_at"),
            ends_at: f.clearable_int("ends_at"),
            from: f.text("from"),
            until: f.text("until"),
        })
    }
}

pub fn create_promotion(
    conn: &Connection,
    zone: &Zone,
    shop_id: i64,
    patch: &PromotionPatch,
    now: i64,
) -> Result<Promotion> {
    let text = match &patch.text {
        Some(text) => text::required("text", text, MAX_TEXT_CHARS)?,
        None => return Err(Error::bad(Code::FieldRequired).with_key("field", "field.text")),
    };
    let window = patch.window(zone, (None, None))?;
    if promotions::count_for_shop(conn, shop_id)? >= MAX_PROMOTIONS_STORED {
        return Err(Error::conflict(Code::PromotionTooMany).with("max", MAX_PROMOTIONS));
    }
    let id = promotions::insert(conn, shop_id, &text, window, now)?;
    finish_promotion(conn, shop_id, id, patch, now)
}

pub fn update_promotion(
    conn: &Connection,
    zone: &Zone,
    shop_id: i64,
    id: i64,
    patch: &PromotionPatch,
    now: i64,
) -> Result<Promotion> {
    let current = own_promotion(conn, shop_id, id)?;
    let text = match &patch.text {
        Some(text) => text::required("text", text, MAX_TEXT_CHARS)?,
        None => current.text,
    };
    let window = patch.window(zone, (current.starts_at, current.ends_at))?;
    promotions::update(conn, shop_id, id, &text, window)?;
    finish_promotion(conn, shop_id, id, patch, now)
}

/// Sets the items and checks that no more than `MAX_PROMOTIONS` of the
/// shop's promotions are running or to come (the caller's transaction
/// rolls back the change otherwise).
fn finish_promotion(
    conn: &Connection,
    shop_id: i64,
    id: i64,
    patch: &PromotionPatch,
    now: i64,
) -> Result<Promotion> {
    if let Some(items) = &patch.items {
        if items.len() > MAX_PROMOTION_ITEMS {
            return Err(Error::bad(Code::MenuTooMany).with("max", MAX_PROMOTION_ITEMS));
        }
        let own: Vec<i64> = crate::store::items::of_shop_by_ids(conn, shop_id, items)?
            .iter()
            .map(|item| item.id)
            .collect();
        promotions::set_items(conn, id, &own)?;
    }
    if promotions::count_not_ended(conn, shop_id, now)? > MAX_PROMOTIONS {
        return Err(Error::conflict(Code::PromotionTooMany).with("max", MAX_PROMOTIONS));
    }
    view(conn, own_promotion(conn, shop_id, id)?)
}

pub fn delete_promotion(conn: &Connection, shop_id: i64, id: i64) -> Result<()> {
    if !promotions::delete(conn, shop_id, id)? {
        return Err(Error::not_found(Code::PromotionNotFound));
    }
    Ok(())
}

fn own_promotion(conn: &Connection, shop_id: i64, id: i64) -> Result<PromotionRow> {
    promotions::by_id(conn, shop_id, id)?.ok_or_else(|| Error::not_found(Code::PromotionNotFound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Data;
    use crate::ordering::testing::shop;

    #[test]
    fn codes_are_ascii_words_in_upper_case() {
        assert_eq!(code_word(" summer-10_b ").unwrap(), "SUMMER-10_B");
        for refused in ["straße", "ﬁx", "é2", "a", "two words", &"X".repeat(21)] {
            assert!(code_word(refused).is_err(), "{refused}");
        }
    }

    fn code(kind: Kind, value: i64) -> PromoCodeRow {
        PromoCodeRow {
            id: 1,
            shop_id: 1,
            code: "SAVE".into(),
            kind,
            value,
            min_subtotal_cents: 0,
            starts_at: None,
            ends_at: None,
            use_limit: None,
            used: 0,
        }
    }

    #[test]
    fn percent_rounds_half_down_and_fixed_never_exceeds_the_subtotal() {
        let ten = code(Kind::Percent, 10);
        assert_eq!(promo_discount(&ten, 1000, 0), Ok(100));
        assert_eq!(promo_discount(&ten, 125, 0), Ok(12)); // 12.5 → 12
        assert_eq!(promo_discount(&ten, 126, 0), Ok(13)); // 12.6 → 13
        assert_eq!(promo_discount(&ten, 124, 0), Ok(12)); // 12.4 → 12
        assert_eq!(promo_discount(&ten, 0, 0), Ok(0));
        assert_eq!(promo_discount(&code(Kind::Percent, 100), 999, 0), Ok(999));
        assert!(promo_discount(&code(Kind::Percent, 33), i64::MAX, 0).unwrap() > 0);
        let fixed = code(Kind::Fixed, 500);
        assert_eq!(promo_discount(&fixed, 2000, 0), Ok(500));
        assert_eq!(promo_discount(&fixed, 300, 0), Ok(300));
        assert_eq!(promo_discount(&fixed, -5, 0), Ok(0));
    }

    #[test]
    fn no_drift_the_discount_and_the_rest_add_up_to_the_subtotal() {
        for percent in [1, 7, 15, 33, 50, 99] {
            let rule = code(Kind::Percent, percent);
            for subtotal in 0..2000 {
                let discount = promo_discount(&rule, subtotal, 0).unwrap();
                let exact = subtotal as f64 * percent as f64 / 100.0;
                assert!(
                    (discount as f64 - exact).abs() <= 0.5,
                    "{percent}% of {subtotal}"
                );
                assert!((0..=subtotal).contains(&discount));
            }
        }
    }

    #[test]
    fn window_minimum_and_uses_are_checked() {
        let mut rule = code(Kind::Fixed, 100);
        rule.starts_at = Some(1000);
        rule.ends_at = Some(2000);
        let kind = |r: Result<i64>| r.unwrap_err().kind();
        assert_eq!(kind(promo_discount(&rule, 500, 999)), Code::PromoNotYet);
        assert_eq!(promo_discount(&rule, 500, 1000), Ok(100));
        assert_eq!(promo_discount(&rule, 500, 1999), Ok(100));
        assert_eq!(kind(promo_discount(&rule, 500, 2000)), Code::PromoExpired);
        rule.min_subtotal_cents = 500;
        assert_eq!(
            kind(promo_discount(&rule, 499, 1500)),
            Code::PromoBelowMinimum
        );
        assert_eq!(promo_discount(&rule, 500, 1500), Ok(100));
        rule.use_limit = Some(3);
        rule.used = 3;
        assert_eq!(kind(promo_discount(&rule, 500, 1500)), Code::PromoUsedUp);
    }

    fn patch(code: &str, kind: &str, value: i64) -> CodePatch {
        CodePatch {
            code: Some(code.into()),
            kind: Some(kind.into()),
            value: Some(value),
            ..CodePatch::default()
        }
    }

    #[test]
    fn codes_are_checked_and_belong_to_their_shop() {
        let conn = crate::db::test_connection();
        let zone = Zone::UTC;
        let mine = shop(&conn, "a@x.y");
        let theirs = shop(&conn, "b@x.y");
        let made = create_code(&conn, &zone, mine, &patch(" save10 ", "percent", 10), 0).unwrap();
        assert_eq!(made.code, "SAVE10");
        for bad in [
            patch("SAVE", "percent", 101),
            patch("SAVE", "percent", 0),
            patch("SAVE", "fixed", -1),
            patch("SAVE", "half", 5),
            patch("A", "fixed", 5),
            patch("NO SPACES", "fixed", 5),
        ] {
            assert!(create_code(&conn, &zone, mine, &bad, 0).is_err(), "{bad:?}");
        }
        let taken = create_code(&conn, &zone, mine, &patch("save10", "fixed", 5), 0);
        assert_eq!(taken.unwrap_err().kind(), Code::PromoCodeTaken);
        // Another shop may have the same word; neither sees the other's.
        create_code(&conn, &zone, theirs, &patch("SAVE10", "fixed", 5), 0).unwrap();
        assert!(update_code(&conn, &zone, theirs, made.id, &patch("X1", "fixed", 1)).is_err());
        assert!(delete_code(&conn, theirs, made.id).is_err());
        assert_eq!(find(&conn, mine, "Save10").unwrap().id, made.id);
        let days = CodePatch {
            from: Some("2024-03-01".into()),
            until: Some("2024-03-02".into()),
            ..CodePatch::default()
        };
        let dated = update_code(&conn, &zone, mine, made.id, &days).unwrap();
        assert_eq!(
            (dated.starts_at, dated.ends_at, dated.value),
            (Some(1_709_251_200_000), Some(1_709_424_000_000), 10)
        );
        let backwards = CodePatch {
            starts_at: Some(Some(5)),
            ends_at: Some(Some(5)),
            ..CodePatch::default()
        };
        assert!(update_code(&conn, &zone, mine, made.id, &backwards).is_err());
    }

    #[test]
    fn at_most_five_promotions_run_or_wait_at_once() {
        let conn = crate::db::test_connection();
        let zone = Zone::UTC;
        let mine = shop(&conn, "a@x.y");
        let text = |t: &str| PromotionPatch {
            text: Some(t.into()),
            ..PromotionPatch::default()
        };
        let ended = PromotionPatch {
            ends_at: Some(Some(50)),
            ..text("over")
        };
        create_promotion(&conn, &zone, mine, &ended, 0).unwrap();
        for i in 0..MAX_PROMOTIONS {
            create_promotion(&conn, &zone, mine, &text(&format!("deal {i}")), 100).unwrap();
        }
        let sixth = create_promotion(&conn, &zone, mine, &text("one more"), 100);
        assert_eq!(sixth.unwrap_err().kind(), Code::PromotionTooMany);
        // The shop is pending: nothing runs for customers yet.
        assert!(running(&conn, mine, 100).unwrap().is_empty());
    }

    /// 50 checkouts at once through the real writer for a code with 5 uses
    /// left: exactly 5 get the discount.
    #[tokio::test(flavor = "current_thread")]
    async fn fifty_concurrent_claims_for_five_uses_left_give_five() {
        let dir = std::env::temp_dir().join(format!("orderspot-promos-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = Data::new(crate::db::Db::open(&dir).unwrap());
        let shop_id = data
            .write(|tx, _| {
                let shop_id = shop(tx, "a@x.y");
                let mut limited = patch("FIVE", "fixed", 100);
                limited.use_limit = Some(Some(12));
                let made = create_code(tx, &Zone::UTC, shop_id, &limited, 0)?;
                for _ in 0..7 {
                    claim(tx, &made)?;
                }
                Ok(shop_id)
            })
            .await
            .unwrap();
        let claims = (0..50).map(|_| {
            let data = data.clone();
            async move {
                data.write(move |tx, _| apply(tx, shop_id, "five", 1000, 0))
                    .await
            }
        });
        let results = futures_join(claims).await;
        let granted = results.iter().filter(|r| r.is_ok()).count();
        let used_up = results
            .iter()
            .filter(|r| matches!(r, Err(e) if e.kind() == Code::PromoUsedUp))
            .count();
        assert_eq!((granted, used_up), (5, 45));
        let used = data
            .read(move |c| Ok(find(c, shop_id, "FIVE")?.used))
            .await
            .unwrap();
        assert_eq!(used, 12);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Runs the futures concurrently on this runtime, as tasks.
    async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}
