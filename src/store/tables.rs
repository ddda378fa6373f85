//! The venue's tables and their QR secrets.

use super::{Optional, Result};
use rusqlite::{params, Connection, Row};

#[derive(Debug, Clone)]
pub struct TableRow {
    pub id: i64,
    pub name: String,
    pub area: String,
    pub code: String,
    pub secret: String,
}

const SELECT: &str = "SELECT id, name, area, code, secret FROM venue_tables";

fn from_row(r: &Row) -> rusqlite::Result<TableRow> {
    let mut c = super::Columns::new(r);
    let row = TableRow {
        id: c.get(0),
        name: c.get(1),
        area: c.get(2),
        code: c.get(3),
        secret: c.get(4),
    };
    c.done(row)
}

/// Inserts a table; `None` when `code` is taken.
pub fn insert(
    conn: &Connection,
    name: &str,
    area: &str,
    code: &str,
    secret: &str,
    now: i64,
) -> Result<Option<i64>> {
    let added = conn.execute(
        "INSERT INTO venue_tables (name, area, code, secret, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (code) DO NOTHING",
        params![name, area, code, secret, now],
    )?;
    Ok((added == 1).then(|| conn.last_insert_rowid()))
}

/// Whether the table exists.
pub fn rename(conn: &Connection, id: i64, name: &str, area: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE venue_tables SET name = ?2, area = ?3 WHERE id = ?1",
        params![id, name, area],
    )? == 1)
}

/// Whether the table exists.
pub fn set_secret(conn: &Connection, id: i64, secret: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE venue_tables SET secret = ?2 WHERE id = ?1",
        params![id, secret],
    )? == 1)
}

/// Whether the table existed.
pub fn delete(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM venue_tables WHERE id = ?1", params![id])? == 1)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<TableRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE id = ?1"),
        params![id],
        from_row,
    )
    .optional()
}

pub fn by_code(conn: &Connection, code: &str) -> Result<Option<TableRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE code = ?1"),
        params![code],
        from_row,
    )
    .optional()
}

/// Every table, by area and then name (numbers in their order: "2" before "10").
pub fn all(conn: &Connection) -> Result<Vec<TableRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} ORDER BY area COLLATE NOCASE, length(name), name COLLATE NOCASE, id"
    ))?;
    super::all_rows(&mut stmt, params![], from_row)
}

pub fn count(conn: &Connection) -> Result<i64> {
    super::one_row(conn, "SELECT count(*) FROM venue_tables", params![], |r| {
        r.get(0)
    })
}
