//! Menu items of a shop, and the search over them.

use super::{Optional, Result};
use crate::support::case;
use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub shop_id: i64,
    pub fields: ItemFields,
    pub photo: String,
}

/// The editable fields of an item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFields {
    pub name: String,
    pub description: String,
    pub category_id: Option<i64>,
    pub price_cents: i64,
    pub available: bool,
    pub position: i64,
    /// Bit sets over `ordering::menu::TAGS` and `ALLERGENS`.
    pub tags: i64,
    pub allergens: i64,
    pub prep_minutes: i64,
    /// `None`: not counted.
    pub stock: Option<i64>,
    pub low_stock: i64,
    /// Minutes after local midnight.
    pub window: Option<(i64, i64)>,
}

const SELECT: &str = "SELECT m.id, m.shop_id, m.name, m.description, m.category_id,
                             m.price_cents, m.available, m.position, m.tags, m.allergens,
                             m.prep_minutes, m.stock, m.low_stock, m.window_from,
                             m.window_until, m.photo
                      FROM menu_items m LEFT JOIN categories c ON c.id = m.category_id";

/// Display order: categories by their position (uncategorised last), then
/// items by theirs.
const DISPLAY_ORDER: &str =
    "c.position IS NULL, c.position, c.id, m.position, m.name COLLATE NOCASE, m.id";

fn from_row(r: &Row) -> rusqlite::Result<ItemRow> {
    let mut c = super::Columns::new(r);
    let window = match (c.get(13), c.get(14)) {
        (Some(from), Some(until)) => Some((from, until)),
        _ => None,
    };
    let row = ItemRow {
        id: c.get(0),
        shop_id: c.get(1),
        fields: ItemFields {
            name: c.get(2),
            description: c.get(3),
            category_id: c.get(4),
            price_cents: c.get(5),
            available: c.get(6),
            position: c.get(7),
            tags: c.get(8),
            allergens: c.get(9),
            prep_minutes: c.get(10),
            stock: c.get(11),
            low_stock: c.get(12),
            window,
        },
        photo: c.get(15),
    };
    c.done(row)
}

/// What search compares against: name and description, lower-cased.
pub fn search_text(f: &ItemFields) -> String {
    case::lowercase(&format!("{} {}", f.name, f.description))
}

pub fn insert(conn: &Connection, shop_id: i64, f: &ItemFields, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO menu_items (shop_id, name, price_cents, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![shop_id, f.name, f.price_cents, now],
    )?;
    let id = conn.last_insert_rowid();
    update(conn, id, f, now)?;
    Ok(id)
}

pub fn update(conn: &Connection, id: i64, f: &ItemFields, now: i64) -> Result<()> {
    let (window_from, window_until) = f.window.unzip();
    conn.execute(
        "UPDATE menu_items SET name = ?2, description = ?3, category_id = ?4, price_cents = ?5,
                               available = ?6, position = ?7, tags = ?8, allergens = ?9,
                               prep_minutes = ?10, stock = ?11, low_stock = ?12,
                               window_from = ?13, window_until = ?14, search_text = ?15,
                               updated_at = ?16
         WHERE id = ?1 AND deleted = 0",
        params![
            id,
            f.name,
            f.description,
            f.category_id,
            f.price_cents,
            f.available,
            f.position,
            f.tags,
            f.allergens,
            f.prep_minutes,
            f.stock,
            f.low_stock,
            window_from,
            window_until,
            search_text(f),
            now
        ],
    )?;
    Ok(())
}

pub fn mark_deleted(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE menu_items SET deleted = 1, available = 0, photo = '', photo_bytes = 0,
                               updated_at = ?2
         WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Sets an item's photo: its file name ('' for none) and size.
pub fn set_photo(conn: &Connection, id: i64, photo: &str, bytes: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE menu_items SET photo = ?2, photo_bytes = ?3, updated_at = ?4
         WHERE id = ?1 AND deleted = 0",
        params![id, photo, bytes, now],
    )?;
    Ok(())
}

/// What the photos of the venue's items take, leaving out `except_item`'s
/// (the one being replaced). Deleted items hold none.
pub fn photo_bytes_total(conn: &Connection, except_item: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COALESCE(SUM(photo_bytes), 0) FROM menu_items WHERE id != ?1",
        params![except_item],
        super::int,
    )
}

/// Whether an item shows the photo file `photo` (items may share one).
pub fn photo_in_use(conn: &Connection, photo: &str) -> Result<bool> {
    super::one_row(
        conn,
        "SELECT EXISTS (SELECT 1 FROM menu_items WHERE photo = ?1)",
        params![photo],
        |r| r.get(0),
    )
}

/// A live (not deleted) item.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<ItemRow>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE m.id = ?1 AND m.deleted = 0"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The live items of `shop_id` among `ids` (at most a few dozen: an
/// order's lines), in no particular order.
pub fn of_shop_by_ids(conn: &Connection, shop_id: i64, ids: &[i64]) -> Result<Vec<ItemRow>> {
    let mut found = Vec::with_capacity(ids.len());
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE m.id = ?1 AND m.shop_id = ?2 AND m.deleted = 0"
    ))?;
    for id in ids {
        if let Some(row) = stmt.query_row(params![id, shop_id], from_row).optional()? {
            found.push(row);
        }
    }
    Ok(found)
}

/// A shop's menu in display order.
pub fn for_shop(conn: &Connection, shop_id: i64) -> Result<Vec<ItemRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE m.shop_id = ?1 AND m.deleted = 0 ORDER BY {DISPLAY_ORDER}"
    ))?;
    super::all_rows(&mut stmt, params![shop_id], from_row)
}

/// `(id, name, stock)` of a shop's counted items at or below their
/// low-stock threshold, fewest left first, at most `limit`.
pub fn running_low(conn: &Connection, shop_id: i64, limit: i64) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, stock FROM menu_items
         WHERE shop_id = ?1 AND deleted = 0 AND stock IS NOT NULL AND stock <= low_stock
         ORDER BY stock, name COLLATE NOCASE, id LIMIT ?2",
    )?;
    super::all_rows(&mut stmt, params![shop_id, limit], |r| {
        let mut c = super::Columns::new(r);
        let row = (c.get(0), c.get(1), c.get(2));
        c.done(row)
    })
}

pub fn count_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM menu_items WHERE shop_id = ?1 AND deleted = 0",
        params![shop_id],
        super::int,
    )
}

/// Items of every shop of the venue, not deleted.
pub fn count_in_venue(conn: &Connection) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM menu_items WHERE deleted = 0",
        params![],
        super::int,
    )
}

/// Takes `qty` units of a counted item if that many are left; an item
/// that is not counted always gives. Returns whether it gave.
pub fn take_stock(conn: &Connection, id: i64, qty: i64) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE menu_items SET stock = stock - ?2
             WHERE id = ?1 AND stock IS NOT NULL AND stock >= ?2",
        )?
        .execute(params![id, qty])?;
    if changed == 1 {
        return Ok(true);
    }
    let uncounted: Option<bool> = super::one_row(
        conn,
        "SELECT stock IS NULL FROM menu_items WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()?;
    Ok(uncounted == Some(true))
}

/// Gives back units an order took; an item no longer counted stays so.
pub fn return_stock(conn: &Connection, id: i64, qty: i64) -> Result<()> {
    conn.execute(
        "UPDATE menu_items SET stock = stock + ?2 WHERE id = ?1 AND stock IS NOT NULL",
        params![id, qty],
    )?;
    Ok(())
}

/// Marks the items as sold out (or back) at once; returns how many changed.
pub fn set_available(
    conn: &Connection,
    shop_id: i64,
    ids: &[i64],
    available: bool,
    now: i64,
) -> Result<usize> {
    let mut stmt = conn.prepare(
        "UPDATE menu_items SET available = ?3, updated_at = ?4
         WHERE id = ?1 AND shop_id = ?2 AND deleted = 0",
    )?;
    let mut changed = 0;
    for id in ids {
        changed += stmt.execute(params![id, shop_id, available, now])?;
    }
    Ok(changed)
}

/// What a customer's search asks for. Text is matched as a lower-cased
/// substring of name and description.
#[derive(Debug, Default, Clone)]
pub struct SearchQuery {
    pub text: String,
    pub shop_id: Option<i64>,
    pub category_id: Option<i64>,
    /// Every one of these tags.
    pub tags: i64,
    /// None of these allergens.
    pub without: i64,
    pub limit: i64,
}

/// Live items of approved shops matching `q`, in display order of their
/// shops. A well-indexed scan: items of one shop come from the shop index.
pub fn search(conn: &Connection, q: &SearchQuery) -> Result<Vec<ItemRow>> {
    let mut sql = format!(
        "{SELECT} WHERE m.deleted = 0 AND m.tags & ?1 = ?1 AND m.allergens & ?2 = 0
                  AND m.shop_id IN (SELECT id FROM shops WHERE status = 'approved')"
    );
    let mut args: Vec<rusqlite::types::Value> = vec![q.tags.into(), q.without.into()];
    if !q.text.is_empty() {
        args.push(q.text.clone().into());
        sql += &format!(" AND instr(m.search_text, ?{}) > 0", args.len());
    }
    if let Some(shop_id) = q.shop_id {
        args.push(shop_id.into());
        sql += &format!(" AND m.shop_id = ?{}", args.len());
    }
    if let Some(category_id) = q.category_id {
        args.push(category_id.into());
        sql += &format!(" AND m.category_id = ?{}", args.len());
    }
    args.push(q.limit.into());
    sql += &format!(" ORDER BY m.shop_id, {DISPLAY_ORDER} LIMIT ?{}", args.len());
    let mut stmt = conn.prepare(&sql)?;
    let args: Vec<&dyn rusqlite::ToSql> = args.iter().map(|a| a as _).collect();
    super::all_rows(&mut stmt, &args, from_row)
}

/// Shops with a live item whose time window opens or closes at local
/// `minute` (minutes after midnight); with `None`, every shop with a
/// windowed item. Few items have windows: the scan stays small.
pub fn shops_with_window_edge(conn: &Connection, minute: Option<i64>) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT shop_id FROM menu_items
         WHERE deleted = 0 AND window_from IS NOT NULL
               AND (?1 IS NULL OR window_from = ?1 OR window_until % 1440 = ?1)
         ORDER BY shop_id",
    )?;
    super::all_rows(&mut stmt, params![minute], super::int)
}
