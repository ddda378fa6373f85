//! Option groups (a shop's "Size", "Milk", "Extras"), their options, and
//! which items offer which groups.

use super::{Optional, Result};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: i64,
    pub shop_id: i64,
    pub name: String,
    pub min_choices: i64,
    pub max_choices: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionRow {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
    pub price_delta_cents: i64,
    pub available: bool,
    pub position: i64,
}

const GROUP: &str = "SELECT id, shop_id, name, min_choices, max_choices FROM option_groups";
const OPTION: &str =
    "SELECT id, group_id, name, price_delta_cents, available, position FROM options";

fn group_row(r: &rusqlite::Row) -> rusqlite::Result<GroupRow> {
    let mut c = super::Columns::new(r);
    let row = GroupRow {
        id: c.get(0),
        shop_id: c.get(1),
        name: c.get(2),
        min_choices: c.get(3),
        max_choices: c.get(4),
    };
    c.done(row)
}

fn option_row(r: &rusqlite::Row) -> rusqlite::Result<OptionRow> {
    let mut c = super::Columns::new(r);
    let row = OptionRow {
        id: c.get(0),
        group_id: c.get(1),
        name: c.get(2),
        price_delta_cents: c.get(3),
        available: c.get(4),
        position: c.get(5),
    };
    c.done(row)
}

pub fn insert_group(
    conn: &Connection,
    shop_id: i64,
    name: &str,
    min: i64,
    max: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO option_groups (shop_id, name, min_choices, max_choices)
         VALUES (?1, ?2, ?3, ?4)",
        params![shop_id, name, min, max],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update_group(conn: &Connection, id: i64, name: &str, min: i64, max: i64) -> Result<()> {
    conn.execute(
        "UPDATE option_groups SET name = ?2, min_choices = ?3, max_choices = ?4 WHERE id = ?1",
        params![id, name, min, max],
    )?;
    Ok(())
}

/// Deletes the group and its options and detaches it from every item.
pub fn delete_group(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM item_option_groups WHERE group_id = ?1",
        params![id],
    )?;
    conn.execute(
        "UPDATE options SET deleted = 1 WHERE group_id = ?1",
        params![id],
    )?;
    conn.execute(
        "UPDATE option_groups SET deleted = 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

pub fn group_by_id(conn: &Connection, id: i64) -> Result<Option<GroupRow>> {
    super::one_row(
        conn,
        &format!("{GROUP} WHERE id = ?1 AND deleted = 0"),
        params![id],
        group_row,
    )
    .optional()
}

pub fn groups_for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<GroupRow>> {
    let mut stmt = conn.prepare(&format!(
        "{GROUP} WHERE shop_id = ?1 AND deleted = 0 ORDER BY name COLLATE NOCASE, id"
    ))?;
    super::all_rows(&mut stmt, params![shop_id], group_row)
}

pub fn count_groups_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM option_groups WHERE shop_id = ?1 AND deleted = 0",
        params![shop_id],
        super::int,
    )
}

pub fn insert_option(
    conn: &Connection,
    group_id: i64,
    name: &str,
    price_delta_cents: i64,
    available: bool,
    position: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO options (group_id, name, price_delta_cents, available, position)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![group_id, name, price_delta_cents, available, position],
    )?;
    Ok(conn.last_insert_rowid())
}

/// `(shop_id, group name, option name)` of any option ever made, removed
/// ones too: names what a stale cart asks for.
pub fn describe(conn: &Connection, id: i64) -> Result<Option<(i64, String, String)>> {
    Ok(conn.prepare_cached(
        "SELECT g.shop_id, g.name, o.name FROM options o JOIN option_groups g ON g.id = o.group_id
         WHERE o.id = ?1",
    )?
    .query_row([id], |r| {
        let mut c = super::Columns::new(r);
        let row = (c.get(0), c.get(1), c.get(2));
        c.done(row)
    })
    .optional()?)
}

pub fn update_option(conn: &Connection, o: &OptionRow) -> Result<()> {
    conn.execute(
        "UPDATE options SET name = ?2, price_delta_cents = ?3, available = ?4, position = ?5
         WHERE id = ?1",
        params![o.id, o.name, o.price_delta_cents, o.available, o.position],
    )?;
    Ok(())
}

pub fn delete_option(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("UPDATE options SET deleted = 1 WHERE id = ?1", params![id])?;
    Ok(())
}

pub fn option_by_id(conn: &Connection, id: i64) -> Result<Option<OptionRow>> {
    super::one_row(
        conn,
        &format!("{OPTION} WHERE id = ?1 AND deleted = 0"),
        params![id],
        option_row,
    )
    .optional()
}

/// A group's live options in display order.
pub fn options_of_group(conn: &Connection, group_id: i64) -> Result<Vec<OptionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{OPTION} WHERE group_id = ?1 AND deleted = 0 ORDER BY position, id"
    ))?;
    super::all_rows(&mut stmt, params![group_id], option_row)
}

/// Every live option of a shop's live groups, in display order per group.
pub fn options_for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<OptionRow>> {
    let mut stmt = conn.prepare(
        "SELECT o.id, o.group_id, o.name, o.price_delta_cents, o.available, o.position
         FROM options o JOIN option_groups g ON g.id = o.group_id
         WHERE g.shop_id = ?1 AND g.deleted = 0 AND o.deleted = 0
         ORDER BY o.group_id, o.position, o.id",
    )?;
    super::all_rows(&mut stmt, params![shop_id], option_row)
}

pub fn count_options_of_group(conn: &Connection, group_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM options WHERE group_id = ?1 AND deleted = 0",
        params![group_id],
        super::int,
    )
}

/// `(item_id, group_id)` for every item of the shop offering a live group,
/// in the item's display order of its groups.
pub fn attachments_for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT a.item_id, a.group_id FROM item_option_groups a
         JOIN option_groups g ON g.id = a.group_id
         WHERE g.shop_id = ?1 AND g.deleted = 0
         ORDER BY a.item_id, a.position, a.group_id",
    )?;
    super::all_rows(&mut stmt, params![shop_id], super::int_pair)
}

/// The live groups an item offers, in its display order.
pub fn groups_of_item(conn: &Connection, item_id: i64) -> Result<Vec<GroupRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.id, g.shop_id, g.name, g.min_choices, g.max_choices
         FROM item_option_groups a JOIN option_groups g ON g.id = a.group_id
         WHERE a.item_id = ?1 AND g.deleted = 0
         ORDER BY a.position, g.id",
    )?;
    super::all_rows(&mut stmt, params![item_id], group_row)
}

/// Sets exactly which groups an item offers, in this order.
pub fn set_item_groups(conn: &Connection, item_id: i64, group_ids: &[i64]) -> Result<()> {
    conn.execute(
        "DELETE FROM item_option_groups WHERE item_id = ?1",
        params![item_id],
    )?;
    let mut stmt = conn.prepare(
        "INSERT OR IGNORE INTO item_option_groups (item_id, group_id, position)
         VALUES (?1, ?2, ?3)",
    )?;
    for (position, group_id) in group_ids.iter().enumerate() {
        stmt.execute(params![item_id, group_id, position as i64])?;
    }
    Ok(())
}
