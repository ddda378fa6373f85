//! Kitchen stations, the items routed to them and their marks on orders.
//! An order's stations are those its items are routed to now.

use super::{Optional, Result};
use rusqlite::{params, Connection};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationRow {
    pub id: i64,
    pub name: String,
    pub position: i64,
}

/// A `StationRow` from columns id, name, position.
fn station_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StationRow> {
    let mut c = super::Columns::new(r);
    let row = StationRow {
        id: c.get(0),
        name: c.get(1),
        position: c.get(2),
    };
    c.done(row)
}

/// A shop's stations (not removed), in their order.
pub fn list(conn: &Connection, shop_id: i64) -> Result<Vec<StationRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, position FROM stations WHERE shop_id = ?1 AND deleted = 0
         ORDER BY position, id",
    )?;
    super::all_rows(&mut stmt, params![shop_id], station_row)
}

pub fn find(conn: &Connection, shop_id: i64, id: i64) -> Result<Option<StationRow>> {
    super::one_row(
        conn,
        "SELECT id, name, position FROM stations WHERE id = ?1 AND shop_id = ?2 AND deleted = 0",
        params![id, shop_id],
        station_row,
    )
    .optional()
}

pub fn name_taken(conn: &Connection, shop_id: i64, name: &str, other_than: i64) -> Result<bool> {
    super::one_row(
        conn,
        "SELECT EXISTS (SELECT 1 FROM stations WHERE shop_id = ?1 AND name = ?2
                        AND deleted = 0 AND id != ?3)",
        params![shop_id, name, other_than],
        |r| r.get(0),
    )
}

pub fn insert(conn: &Connection, shop_id: i64, name: &str, position: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO stations (shop_id, name, position) VALUES (?1, ?2, ?3)",
        params![shop_id, name, position],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, name: &str, position: i64) -> Result<()> {
    conn.execute(
        "UPDATE stations SET name = ?2, position = ?3 WHERE id = ?1",
        params![id, name, position],
    )?;
    Ok(())
}

/// Marks the station removed and sends its items back to no station.
pub fn remove(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM station_items WHERE station_id = ?1",
        params![id],
    )?;
    conn.execute("UPDATE stations SET deleted = 1 WHERE id = ?1", params![id])?;
    Ok(())
}

/// Routes an item to a station, or to none.
pub fn route(conn: &Connection, item_id: i64, station_id: Option<i64>) -> Result<()> {
    match station_id {
        Some(station) => conn.execute(
            "INSERT INTO station_items (item_id, station_id) VALUES (?1, ?2)
             ON CONFLICT (item_id) DO UPDATE SET station_id = excluded.station_id",
            params![item_id, station],
        )?,
        None => conn.execute(
            "DELETE FROM station_items WHERE item_id = ?1",
            params![item_id],
        )?,
    };
    Ok(())
}

/// `(item id, station id)` of a shop's routed items.
pub fn routes(conn: &Connection, shop_id: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT si.item_id, si.station_id FROM station_items si
         JOIN stations s ON s.id = si.station_id WHERE s.shop_id = ?1 ORDER BY si.item_id",
    )?;
    super::all_rows(&mut stmt, params![shop_id], super::int_pair)
}

/// The item ids routed to a station.
pub fn items_of(conn: &Connection, station_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT item_id FROM station_items WHERE station_id = ?1")?;
    super::all_rows(&mut stmt, params![station_id], super::int)
}

/// A station holding items of an order, and when it marked them done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStationRow {
    pub station_id: i64,
    pub name: String,
    pub items: i64,
    pub done_at: Option<i64>,
}

/// The stations an order's items are routed to, in the shop's order.
pub fn of_order(conn: &Connection, order_id: i64) -> Result<Vec<OrderStationRow>> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.name, sum(oi.qty), os.done_at
         FROM order_items oi
         JOIN station_items si ON si.item_id = oi.item_id
         JOIN stations s ON s.id = si.station_id
         LEFT JOIN order_stations os ON os.order_id = oi.order_id AND os.station_id = s.id
         WHERE oi.order_id = ?1 GROUP BY s.id ORDER BY s.position, s.id",
    )?;
    super::all_rows(&mut stmt, params![order_id], |r| {
        let mut c = super::Columns::new(r);
        let row = OrderStationRow {
            station_id: c.get(0),
            name: c.get(1),
            items: c.get(2),
            done_at: c.get(3),
        };
        c.done(row)
    })
}

/// How many of an order's lines go to no station.
pub fn unrouted_lines(conn: &Connection, order_id: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT count(*) FROM order_items oi
         WHERE oi.order_id = ?1
           AND NOT EXISTS (SELECT 1 FROM station_items si WHERE si.item_id = oi.item_id)",
        params![order_id],
        super::int,
    )
}

pub fn mark_done(
    conn: &Connection,
    order_id: i64,
    station_id: i64,
    items: i64,
    user_id: i64,
    now: i64,
) -> Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO order_stations (order_id, station_id, items, user_id, done_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![order_id, station_id, items, user_id, now],
    )? == 1)
}

pub fn unmark(conn: &Connection, order_id: i64, station_id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM order_stations WHERE order_id = ?1 AND station_id = ?2",
        params![order_id, station_id],
    )? == 1)
}

/// Up to `limit` ids of a shop's orders not yet handed over (placed to
/// ready) with items at the station, oldest first; scheduled ones once
/// their moment has come by `now`.
pub fn open_orders_at(
    conn: &Connection,
    shop_id: i64,
    station_id: i64,
    limit: i64,
    now: i64,
) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT o.id FROM orders o INDEXED BY orders_open_code
         WHERE o.shop_id = ?1 AND o.finished_at IS NULL
           AND o.release_at <= ?4 AND EXISTS (SELECT 1 FROM order_items oi
                       JOIN station_items si ON si.item_id = oi.item_id
                       WHERE oi.order_id = o.id AND si.station_id = ?2)
         ORDER BY o.id LIMIT ?3",
    )?;
    super::all_rows(&mut stmt, params![shop_id, station_id, limit, now], |r| {
        r.get(0)
    })
}

/// A station's mark: the station, the order's placement, how long the
/// station took and how many items it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRow {
    pub station_id: i64,
    pub station: String,
    pub placed_at: i64,
    pub took_ms: i64,
    pub items: i64,
}

/// Marks on orders placed in `[from, to)`, of one shop or all, by station.
pub fn marks(conn: &Connection, from: i64, to: i64, shop: Option<i64>) -> Result<Vec<MarkRow>> {
    // One form per case, so each plan knows whether a shop is given.
    let shop_filter = match shop {
        Some(_) => "o.shop_id = ?3",
        None => "?3 IS NULL",
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT s.id, s.name, o.created_at, os.done_at - o.created_at, os.items
         FROM orders o JOIN order_stations os ON os.order_id = o.id
         JOIN stations s ON s.id = os.station_id
         WHERE o.created_at >= ?1 AND o.created_at < ?2 AND {shop_filter}
         ORDER BY s.shop_id, s.position, s.id"
    ))?;
    super::all_rows(&mut stmt, params![from, to, shop], |r| {
        let mut c = super::Columns::new(r);
        let row = MarkRow {
            station_id: c.get(0),
            station: c.get(1),
            placed_at: c.get(2),
            took_ms: c.get(3),
            items: c.get(4),
        };
        c.done(row)
    })
}
