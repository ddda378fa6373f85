//! A shop's menu categories, in the order its keeper sets.

use super::{Optional, Result};
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRow {
    pub id: i64,
    pub shop_id: i64,
    pub name: String,
    pub position: i64,
}

const SELECT: &str = "SELECT id, shop_id, name, position FROM categories";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<CategoryRow> {
    let mut c = super::Columns::new(r);
    let row = CategoryRow {
        id: c.get(0),
        shop_id: c.get(1),
        name: c.get(2),
        position: c.get(3),
    };
    c.done(row)
}

pub fn insert(conn: &Connection, shop_id: i64, name: &str, position: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO categories (shop_id, name, position) VALUES (?1, ?2, ?3)",
        params![shop_id, name, position],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, name: &str, position: i64) -> Result<()> {
    conn.execute(
        "UPDATE categories SET name = ?2, position = ?3 WHERE id = ?1",
        params![id, name, position],
    )?;
    Ok(())
}

/// Removes the category; its items stay, uncategorised.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE menu_items SET category_id = NULL WHERE category_id = ?1",
        params![id],
    )?;
    conn.execute("DELETE FROM categories WHERE id = ?1", params![id])?;
    Ok(())
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<CategoryRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE id = ?1"),
        params![id],
        from_row,
    )
    .optional()
}

/// A shop's categories in display order.
pub fn for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<CategoryRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE shop_id = ?1 ORDER BY position, id"
    ))?;
    super::all_rows(&mut stmt, params![shop_id], from_row)
}

pub fn count_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM categories WHERE shop_id = ?1",
        params![shop_id],
        super::int,
    )
}

/// The shop's category with this name (any case), if any.
pub fn by_name(conn: &Connection, shop_id: i64, name: &str) -> Result<Option<i64>> {
    super::one_row(
        conn,
        "SELECT id FROM categories WHERE shop_id = ?1 AND name = ?2 COLLATE NOCASE",
        params![shop_id, name],
        super::int,
    )
    .optional()
}
