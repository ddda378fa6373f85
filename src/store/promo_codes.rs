//! Shops' promo codes and how often each was used.

use super::stored_enum;
use super::{Optional, Result};
use crate::support::json::json_object;
use rusqlite::{params, Connection, Row};

stored_enum! {
    /// How a code takes money off.
    Kind {
        /// `value` percent of the shop's subtotal.
        Percent = "percent",
        /// `value` minor units.
        Fixed = "fixed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoCodeRow {
    pub id: i64,
    pub shop_id: i64,
    pub code: String,
    pub kind: Kind,
    pub value: i64,
    pub min_subtotal_cents: i64,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub use_limit: Option<i64>,
    pub used: i64,
}
json_object!(PromoCodeRow: id, shop_id, code, kind, value, min_subtotal_cents, starts_at, ends_at,
    use_limit, used);

/// The fields a keeper sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoFields {
    pub code: String,
    pub kind: Kind,
    pub value: i64,
    pub min_subtotal_cents: i64,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub use_limit: Option<i64>,
}

const SELECT: &str = "SELECT id, shop_id, code, kind, value, min_subtotal_cents, starts_at,
                             ends_at, use_limit, used
                      FROM promo_codes";

fn from_row(r: &Row) -> rusqlite::Result<PromoCodeRow> {
    let kind = r.get(3)?;
    let mut c = super::Columns::new(r);
    let row = PromoCodeRow {
        id: c.get(0),
        shop_id: c.get(1),
        code: c.get(2),
        kind,
        value: c.get(4),
        min_subtotal_cents: c.get(5),
        starts_at: c.get(6),
        ends_at: c.get(7),
        use_limit: c.get(8),
        used: c.get(9),
    };
    c.done(row)
}

/// The new code's id; `None` when the shop already has this code.
pub fn insert(conn: &Connection, shop_id: i64, f: &PromoFields, now: i64) -> Result<Option<i64>> {
    let added = conn.execute(
        "INSERT INTO promo_codes (shop_id, code, kind, value, min_subtotal_cents, starts_at,
                                  ends_at, use_limit, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (shop_id, code) DO NOTHING",
        params![
            shop_id,
            f.code,
            f.kind,
            f.value,
            f.min_subtotal_cents,
            f.starts_at,
            f.ends_at,
            f.use_limit,
            now
        ],
    )?;
    Ok((added == 1).then(|| conn.last_insert_rowid()))
}

/// `false` when the code is not the shop's.
pub fn update(conn: &Connection, shop_id: i64, id: i64, f: &PromoFields) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE promo_codes SET code = ?3, kind = ?4, value = ?5, min_subtotal_cents = ?6,
                starts_at = ?7, ends_at = ?8, use_limit = ?9
         WHERE id = ?1 AND shop_id = ?2",
        params![
            id,
            shop_id,
            f.code,
            f.kind,
            f.value,
            f.min_subtotal_cents,
            f.starts_at,
            f.ends_at,
            f.use_limit
        ],
    )? == 1)
}

/// `false` when the code is not the shop's.
pub fn delete(conn: &Connection, shop_id: i64, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM promo_codes WHERE id = ?1 AND shop_id = ?2",
        params![id, shop_id],
    )? == 1)
}

pub fn by_id(conn: &Connection, shop_id: i64, id: i64) -> Result<Option<PromoCodeRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE id = ?1 AND shop_id = ?2"),
        params![id, shop_id],
        from_row,
    )
    .optional()
}

/// The shop's code spelt `code` (stored upper case).
pub fn by_code(conn: &Connection, shop_id: i64, code: &str) -> Result<Option<PromoCodeRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE shop_id = ?1 AND code = ?2"),
        params![shop_id, code],
        from_row,
    )
    .optional()
}

pub fn for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<PromoCodeRow>> {
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE shop_id = ?1 ORDER BY code"))?;
    super::all_rows(&mut stmt, params![shop_id], from_row)
}

pub fn count_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT count(*) FROM promo_codes WHERE shop_id = ?1",
        params![shop_id],
        super::int,
    )
}

/// Takes one use of the code if any is left, in one statement: of any
/// number of transactions claiming the last uses, exactly as many succeed
/// as there were uses left. `false` when none is left.
pub fn claim_use(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE promo_codes SET used = used + 1
         WHERE id = ?1 AND (use_limit IS NULL OR used < use_limit)",
        params![id],
    )? == 1)
}
