//! Menu items of a shop.

use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub shop_id: i64,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub available: bool,
    pub position: i64,
}

/// The editable fields of an item.
#[derive(Debug, Clone)]
pub struct ItemFields {
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub available: bool,
    pub position: i64,
}

const SELECT: &str = "SELECT id, shop_id, name, description, category, price_cents, available,
                             position
                      FROM menu_items";

fn from_row(r: &Row) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        shop_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        category: r.get(4)?,
        price_cents: r.get(5)?,
        available: r.get(6)?,
        position: r.get(7)?,
    })
}

pub fn insert(conn: &Connection, shop_id: i64, f: &ItemFields, now: i64) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO menu_items (shop_id, name, description, category, price_cents, available,
                                 position, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            shop_id,
            f.name,
            f.description,
            f.category,
            f.price_cents,
            f.available,
            f.position,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, f: &ItemFields, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE menu_items SET name = ?2, description = ?3, category = ?4, price_cents = ?5,
                               available = ?6, position = ?7, updated_at = ?8
         WHERE id = ?1 AND deleted = 0",
        params![
            id,
            f.name,
            f.description,
            f.category,
            f.price_cents,
            f.available,
            f.position,
            now
        ],
    )?;
    Ok(())
}

pub fn mark_deleted(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE menu_items SET deleted = 1, available = 0, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// A live (not deleted) item.
pub fn by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<ItemRow>> {
    conn.query_row(
        &format!("{SELECT} WHERE id = ?1 AND deleted = 0"),
        [id],
        from_row,
    )
    .optional()
}

/// A shop's menu in display order.
pub fn for_shop(conn: &Connection, shop_id: i64) -> rusqlite::Result<Vec<ItemRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE shop_id = ?1 AND deleted = 0
         ORDER BY category COLLATE NOCASE, position, name COLLATE NOCASE"
    ))?;
    let rows = stmt.query_map([shop_id], from_row)?;
    rows.collect()
}

pub fn count_for_shop(conn: &Connection, shop_id: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM menu_items WHERE shop_id = ?1 AND deleted = 0",
        [shop_id],
        |r| r.get(0),
    )
}
