//! What shops announce to customers for a while, and the items each names.

use super::{Optional, Result};
use rusqlite::{params, Connection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionRow {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: String,
    pub text: String,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
}

const SELECT: &str = "SELECT p.id, p.shop_id, s.name, p.text, p.starts_at, p.ends_at
                      FROM promotions p JOIN shops s ON s.id = p.shop_id";

fn from_row(r: &Row) -> rusqlite::Result<PromotionRow> {
    let mut c = super::Columns::new(r);
    let row = PromotionRow {
        id: c.get(0),
        shop_id: c.get(1),
        shop_name: c.get(2),
        text: c.get(3),
        starts_at: c.get(4),
        ends_at: c.get(5),
    };
    c.done(row)
}

pub fn insert(
    conn: &Connection,
    shop_id: i64,
    text: &str,
    window: (Option<i64>, Option<i64>),
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO promotions (shop_id, text, starts_at, ends_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![shop_id, text, window.0, window.1, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// `false` when the promotion is not the shop's.
pub fn update(
    conn: &Connection,
    shop_id: i64,
    id: i64,
    text: &str,
    window: (Option<i64>, Option<i64>),
) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE promotions SET text = ?3, starts_at = ?4, ends_at = ?5
         WHERE id = ?1 AND shop_id = ?2",
        params![id, shop_id, text, window.0, window.1],
    )? == 1)
}

/// `false` when the promotion is not the shop's.
pub fn delete(conn: &Connection, shop_id: i64, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM promotions WHERE id = ?1 AND shop_id = ?2",
        params![id, shop_id],
    )? == 1)
}

pub fn by_id(conn: &Connection, shop_id: i64, id: i64) -> Result<Option<PromotionRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE p.id = ?1 AND p.shop_id = ?2"),
        params![id, shop_id],
        from_row,
    )
    .optional()
}

/// A shop's promotions, newest first.
pub fn for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<PromotionRow>> {
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE p.shop_id = ?1 ORDER BY p.id DESC"))?;
    super::all_rows(&mut stmt, params![shop_id], from_row)
}

/// Promotions running at `now` of approved shops (`shop_id` 0: every
/// shop), by shop; at most `limit`.
pub fn running(conn: &Connection, shop_id: i64, now: i64, limit: i64) -> Result<Vec<PromotionRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE s.status = 'approved' AND (?1 = 0 OR p.shop_id = ?1)
           AND (p.starts_at IS NULL OR p.starts_at <= ?2)
           AND (p.ends_at IS NULL OR p.ends_at > ?2)
         ORDER BY s.name COLLATE NOCASE, s.id, p.id DESC LIMIT ?3"
    ))?;
    super::all_rows(&mut stmt, params![shop_id, now, limit], from_row)
}

/// Shops with a promotion that started or ended after `after`, up to `now`.
pub fn shops_with_edge(conn: &Connection, after: i64, now: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT shop_id FROM promotions
         WHERE (starts_at > ?1 AND starts_at <= ?2) OR (ends_at > ?1 AND ends_at <= ?2)",
    )?;
    super::all_rows(&mut stmt, params![after, now], super::int)
}

/// How many of the shop's promotions have not ended by `now`.
pub fn count_not_ended(conn: &Connection, shop_id: i64, now: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT count(*) FROM promotions
         WHERE shop_id = ?1 AND (ends_at IS NULL OR ends_at > ?2)",
        params![shop_id, now],
        super::int,
    )
}

pub fn count_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT count(*) FROM promotions WHERE shop_id = ?1",
        params![shop_id],
        super::int,
    )
}

/// Replaces the items a promotion names.
pub fn set_items(conn: &Connection, promotion_id: i64, items: &[i64]) -> Result<()> {
    conn.execute(
        "DELETE FROM promotion_items WHERE promotion_id = ?1",
        params![promotion_id],
    )?;
    let mut stmt = conn
        .prepare("INSERT OR IGNORE INTO promotion_items (promotion_id, item_id) VALUES (?1, ?2)")?;
    for item in items {
        stmt.execute(params![promotion_id, item])?;
    }
    Ok(())
}

/// `(id, name)` of the live items a promotion names.
pub fn items_of(conn: &Connection, promotion_id: i64) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare(
        "SELECT m.id, m.name FROM promotion_items pi JOIN menu_items m ON m.id = pi.item_id
         WHERE pi.promotion_id = ?1 AND m.deleted = 0 ORDER BY m.name COLLATE NOCASE",
    )?;
    super::all_rows(&mut stmt, params![promotion_id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}
