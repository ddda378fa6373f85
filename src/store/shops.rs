//! Shops (stalls) of the venue.

use super::stored_enum;
use super::{Optional, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};

stored_enum! {
    /// Where a shop stands with the venue owner.
    ShopStatus {
        /// Registered, waiting for the owner; customers cannot see it.
        Pending = "pending",
        Approved = "approved",
        /// Hidden from customers; its keeper can look but not change anything.
        Suspended = "suspended",
    }
}

#[derive(Debug, Clone)]
pub struct ShopRow {
    pub id: i64,
    pub owner_user_id: i64,
    pub owner_email: String,
    pub name: String,
    pub description: String,
    pub status: ShopStatus,
    pub open: bool,
    pub created_at: i64,
    /// Takes no orders until this UTC instant, if set.
    pub paused_until: Option<i64>,
}

const SELECT: &str = "SELECT s.id, s.owner_user_id, u.email, s.name, s.description, s.status,
                             s.open, s.created_at, s.paused_until
                      FROM shops s JOIN users u ON u.id = s.owner_user_id";

fn from_row(r: &Row) -> rusqlite::Result<ShopRow> {
    let status = r.get(5)?;
    let mut c = super::Columns::new(r);
    let row = ShopRow {
        id: c.get(0),
        owner_user_id: c.get(1),
        owner_email: c.get(2),
        name: c.get(3),
        description: c.get(4),
        status,
        open: c.get(6),
        created_at: c.get(7),
        paused_until: c.get(8),
    };
    c.done(row)
}

pub fn insert(
    conn: &Connection,
    owner_user_id: i64,
    name: &str,
    description: &str,
    status: ShopStatus,
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO shops (owner_user_id, name, description, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![owner_user_id, name, description, status, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<ShopRow>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE s.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Every shop, pending ones first: the owner's approval list.
pub fn all(conn: &Connection) -> Result<Vec<ShopRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} ORDER BY s.status = 'pending' DESC, s.name COLLATE NOCASE"
    ))?;
    super::all_rows(&mut stmt, params![], from_row)
}

pub fn approved(conn: &Connection) -> Result<Vec<ShopRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE s.status = 'approved' ORDER BY s.name COLLATE NOCASE"
    ))?;
    super::all_rows(&mut stmt, params![], from_row)
}

/// How many shops stand at `status` (bounded registrations count pending ones).
pub fn count_with_status(conn: &Connection, status: ShopStatus) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM shops WHERE status = ?1",
        params![status],
        super::int,
    )
}

pub fn set_status(conn: &Connection, id: i64, status: ShopStatus) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE shops SET status = ?2 WHERE id = ?1",
        params![id, status],
    )? == 1)
}

pub fn update_profile(
    conn: &Connection,
    id: i64,
    name: &str,
    description: &str,
    open: bool,
) -> Result<()> {
    conn.execute(
        "UPDATE shops SET name = ?2, description = ?3, open = ?4 WHERE id = ?1",
        params![id, name, description, open],
    )?;
    Ok(())
}

/// Counts a change to what the shop's menu shows.
pub fn bump_menu_version(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE shops SET menu_version = menu_version + 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

pub fn menu_version(conn: &Connection, id: i64) -> Result<Option<i64>> {
    super::one_row(
        conn,
        "SELECT menu_version FROM shops WHERE id = ?1",
        params![id],
        super::int,
    )
    .optional()
}

// ---- The pause and the payment methods (schema 007) ----

/// The payment methods the shop takes, as stored (comma-separated).
pub fn methods(conn: &Connection, shop_id: i64) -> Result<String> {
    super::one_row(
        conn,
        "SELECT payment_methods FROM shops WHERE id = ?1",
        params![shop_id],
        |r| r.get(0),
    )
}

pub fn set_methods(conn: &Connection, shop_id: i64, methods: &str) -> Result<()> {
    conn.execute(
        "UPDATE shops SET payment_methods = ?2 WHERE id = ?1",
        params![shop_id, methods],
    )?;
    Ok(())
}

pub fn set_paused_until(conn: &Connection, shop_id: i64, until: Option<i64>) -> Result<()> {
    conn.execute(
        "UPDATE shops SET paused_until = ?2 WHERE id = ?1",
        params![shop_id, until],
    )?;
    Ok(())
}

/// Clears the pauses that have run out by `now`; returns those shops.
pub fn end_pauses(conn: &Connection, now: i64) -> Result<Vec<i64>> {
    let mut stmt =
        conn.prepare("UPDATE shops SET paused_until = NULL WHERE paused_until <= ?1 RETURNING id")?;
    let mut shops: Vec<i64> = super::all_rows(&mut stmt, params![now], super::int)?;
    shops.sort_unstable();
    Ok(shops)
}

/// A shop's pickup slots: its hours (minutes after local midnight) and
/// the most orders per 15-minute slot (0: no cap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slots {
    pub hours: Option<(i64, i64)>,
    pub cap: i64,
}

pub fn slots(conn: &Connection, shop_id: i64) -> Result<Slots> {
    Ok(conn
        .prepare_cached("SELECT opens_minute, closes_minute, slot_cap FROM shops WHERE id = ?1")?
        .query_row([shop_id], |r| {
            let hours = match (r.get(0)?, r.get(1)?) {
                (Some(from), Some(until)) => Some((from, until)),
                _ => None,
            };
            let mut c = super::Columns::new(r);
            let row = Slots {
                hours,
                cap: c.get(2),
            };
            c.done(row)
        })?)
}

pub fn set_slots(conn: &Connection, shop_id: i64, slots: Slots) -> Result<()> {
    conn.execute(
        "UPDATE shops SET opens_minute = ?2, closes_minute = ?3, slot_cap = ?4 WHERE id = ?1",
        params![
            shop_id,
            slots.hours.map(|h| h.0),
            slots.hours.map(|h| h.1),
            slots.cap
        ],
    )?;
    Ok(())
}
