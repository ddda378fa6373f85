//! Shop-level ingredient counts several items draw on (buns, cups), the
//! recipes that say how many each item uses, and recorded waste.

use super::{Optional, Result};
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngredientRow {
    pub id: i64,
    pub shop_id: i64,
    pub name: String,
    pub stock: i64,
    pub low_stock: i64,
}

const SELECT: &str = "SELECT id, shop_id, name, stock, low_stock FROM ingredients";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<IngredientRow> {
    let mut c = super::Columns::new(r);
    let row = IngredientRow {
        id: c.get(0),
        shop_id: c.get(1),
        name: c.get(2),
        stock: c.get(3),
        low_stock: c.get(4),
    };
    c.done(row)
}

pub fn insert(
    conn: &Connection,
    shop_id: i64,
    name: &str,
    stock: i64,
    low_stock: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO ingredients (shop_id, name, stock, low_stock) VALUES (?1, ?2, ?3, ?4)",
        params![shop_id, name, stock, low_stock],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, i: &IngredientRow) -> Result<()> {
    conn.execute(
        "UPDATE ingredients SET name = ?2, stock = ?3, low_stock = ?4 WHERE id = ?1",
        params![i.id, i.name, i.stock, i.low_stock],
    )?;
    Ok(())
}

/// Deletes the ingredient and takes it out of every recipe.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM item_ingredients WHERE ingredient_id = ?1",
        params![id],
    )?;
    conn.execute(
        "UPDATE ingredients SET deleted = 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<IngredientRow>> {
    super::one_row(
        conn,
        &format!("{SELECT} WHERE id = ?1 AND deleted = 0"),
        params![id],
        from_row,
    )
    .optional()
}

pub fn for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<IngredientRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE shop_id = ?1 AND deleted = 0 ORDER BY name COLLATE NOCASE, id"
    ))?;
    super::all_rows(&mut stmt, params![shop_id], from_row)
}

pub fn count_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM ingredients WHERE shop_id = ?1 AND deleted = 0",
        params![shop_id],
        super::int,
    )
}

/// `(ingredient_id, qty per item)` of an item's recipe.
pub fn recipe(conn: &Connection, item_id: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.ingredient_id, r.qty FROM item_ingredients r
         JOIN ingredients i ON i.id = r.ingredient_id
         WHERE r.item_id = ?1 AND i.deleted = 0 ORDER BY r.ingredient_id",
    )?;
    super::all_rows(&mut stmt, params![item_id], super::int_pair)
}

/// `(item_id, ingredient_id, qty)` of every recipe in a shop.
pub fn recipes_for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<(i64, i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT r.item_id, r.ingredient_id, r.qty FROM item_ingredients r
         JOIN ingredients i ON i.id = r.ingredient_id
         WHERE i.shop_id = ?1 AND i.deleted = 0 ORDER BY r.item_id, r.ingredient_id",
    )?;
    super::all_rows(&mut stmt, params![shop_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

/// Sets exactly which ingredients (and how many of each) an item uses.
pub fn set_recipe(conn: &Connection, item_id: i64, uses: &[(i64, i64)]) -> Result<()> {
    conn.execute(
        "DELETE FROM item_ingredients WHERE item_id = ?1",
        params![item_id],
    )?;
    let mut stmt = conn.prepare(
        "INSERT OR REPLACE INTO item_ingredients (item_id, ingredient_id, qty)
         VALUES (?1, ?2, ?3)",
    )?;
    for (ingredient_id, qty) in uses {
        stmt.execute(params![item_id, ingredient_id, qty])?;
    }
    Ok(())
}

/// Takes `qty` units if that many are left; returns whether it did.
pub fn take(conn: &Connection, id: i64, qty: i64) -> Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE ingredients SET stock = stock - ?2 WHERE id = ?1 AND stock >= ?2")?
        .execute(params![id, qty])?;
    Ok(changed == 1)
}

pub fn give_back(conn: &Connection, id: i64, qty: i64) -> Result<()> {
    conn.execute(
        "UPDATE ingredients SET stock = stock + ?2 WHERE id = ?1",
        params![id, qty],
    )?;
    Ok(())
}

pub struct NewWaste<'a> {
    pub shop_id: i64,
    pub ingredient_id: i64,
    pub qty: i64,
    pub reason: &'a str,
    pub user_id: Option<i64>,
    pub now: i64,
}

pub fn record_waste(conn: &Connection, w: &NewWaste) -> Result<i64> {
    conn.execute(
        "INSERT INTO waste (shop_id, ingredient_id, qty, reason, user_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            w.shop_id,
            w.ingredient_id,
            w.qty,
            w.reason,
            w.user_id,
            w.now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasteRow {
    pub ingredient_id: i64,
    pub ingredient: String,
    pub qty: i64,
    pub reason: String,
    pub created_at: i64,
}

/// A shop's waste recorded in `[from, until)`, newest first, at most `limit`.
pub fn waste_between(
    conn: &Connection,
    shop_id: i64,
    from: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<WasteRow>> {
    let mut stmt = conn.prepare(
        "SELECT w.ingredient_id, i.name, w.qty, w.reason, w.created_at
         FROM waste w JOIN ingredients i ON i.id = w.ingredient_id
         WHERE w.shop_id = ?1 AND w.created_at >= ?2 AND w.created_at < ?3
         ORDER BY w.created_at DESC, w.id DESC LIMIT ?4",
    )?;
    super::all_rows(&mut stmt, params![shop_id, from, until, limit], |r| {
        let mut c = super::Columns::new(r);
        let row = WasteRow {
            ingredient_id: c.get(0),
            ingredient: c.get(1),
            qty: c.get(2),
            reason: c.get(3),
            created_at: c.get(4),
        };
        c.done(row)
    })
}
