//! The audit log: appended to, read, never changed.

use super::Result;
use rusqlite::{params, Connection, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub shop_id: Option<i64>,
    pub detail: String,
}

pub struct NewAudit<'a> {
    pub at: i64,
    pub user_id: Option<i64>,
    pub actor: &'a str,
    pub address: &'a str,
    pub action: &'a str,
    pub shop_id: Option<i64>,
    pub detail: &'a str,
}

pub fn insert(conn: &Connection, entry: &NewAudit) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, user_id, actor, address, action, shop_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            entry.at,
            entry.user_id,
            entry.actor,
            entry.address,
            entry.action,
            entry.shop_id,
            entry.detail
        ],
    )?;
    Ok(())
}

fn from_row(r: &Row) -> rusqlite::Result<AuditRow> {
    let mut c = super::Columns::new(r);
    let row = AuditRow {
        id: c.get(0),
        at: c.get(1),
        user_id: c.get(2),
        actor: c.get(3),
        address: c.get(4),
        action: c.get(5),
        shop_id: c.get(6),
        detail: c.get(7),
    };
    c.done(row)
}

/// Newest first, entries below `before` (an id; `i64::MAX` for the newest),
/// optionally of one action and one shop.
pub fn list(
    conn: &Connection,
    action: Option<&str>,
    shop_id: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, user_id, actor, address, action, shop_id, detail FROM audit_log
         WHERE id < ?1 AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR shop_id = ?3)
         ORDER BY id DESC LIMIT ?4",
    )?;
    super::all_rows(&mut stmt, params![before, action, shop_id, limit], from_row)
}
