//! Orders, their lines and their event log.

use super::stored_enum;
use super::{Optional, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};

stored_enum! {
    /// An order's stage.
    Status {
        Placed = "placed",
        Accepted = "accepted",
        Preparing = "preparing",
        Ready = "ready",
        Completed = "completed",
        Cancelled = "cancelled",
    }
}

stored_enum! {
    /// Who recorded an order event.
    ActorRole {
        Customer = "customer",
        Shop = "shop",
    }
}

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: String,
    pub customer_token_hash: String,
    /// What the placement asked for; a replayed `client_ref` must match it.
    pub request_hash: String,
    pub customer_name: String,
    pub note: String,
    pub status: Status,
    pub version: i64,
    pub pickup_code: String,
    pub total_cents: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub checkout_id: Option<i64>,
    pub pickup_at: Option<i64>,
    /// What a promo code took off (`total_cents` is net of it), and the code.
    pub discount_cents: i64,
    pub promo_code: String,
    /// The table's name when ordered ('' for none).
    pub table_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub item_id: i64,
    pub name: String,
    /// The item's price with its options, each unit.
    pub unit_price_cents: i64,
    pub qty: i64,
    pub line_total_cents: i64,
    pub note: String,
    pub options: Vec<LineOptionRow>,
}

/// An option chosen on an order line, as named and priced when ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOptionRow {
    pub option_id: i64,
    pub group_name: String,
    pub name: String,
    pub price_delta_cents: i64,
}

/// Units an order took from a count: an item's own or an ingredient's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Item { item_id: i64, qty: i64 },
    Ingredient { ingredient_id: i64, qty: i64 },
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub from: Option<Status>,
    pub to: Status,
    pub actor: String,
    pub reason: String,
    pub at: i64,
}

/// A new order's row before it has an id.
pub struct NewOrder<'a> {
    pub shop_id: i64,
    pub client_ref: &'a str,
    pub customer_token_hash: &'a str,
    pub request_hash: &'a str,
    /// The client address it was placed from, for the per-device limit.
    pub placed_from: &'a str,
    pub customer_name: &'a str,
    pub note: &'a str,
    pub status: Status,
    pub pickup_code: &'a str,
    pub total_cents: i64,
    pub now: i64,
    pub checkout_id: Option<i64>,
    /// The pickup slot asked for, and when the order reaches the board
    /// (0: at once).
    pub pickup_at: Option<i64>,
    pub release_at: i64,
    pub discount_cents: i64,
    pub promo_code: &'a str,
    /// The table it was ordered at: its id and name.
    pub table: Option<(i64, &'a str)>,
}

/// The order columns `from_row` reads, then `$tail`, as one literal;
/// `$from` names how orders `o` are read (`orders o` by default).
macro_rules! select {
    ($tail:literal) => {
        select!("orders o", $tail)
    };
    ($from:literal, $tail:literal) => {
        concat!(
            "SELECT o.id, o.shop_id, s.name, o.customer_token_hash, o.customer_name,
                             o.note, o.status, o.version, o.pickup_code,
                             o.total_cents, o.created_at, o.updated_at, o.request_hash,
                             o.checkout_id, o.pickup_at, o.discount_cents, o.promo_code,
                             o.table_name FROM ",
            $from,
            " JOIN shops s ON s.id = o.shop_id ",
            $tail
        )
    };
}

/// Open orders, worded exactly as in the partial indexes of schema 018
/// (a literal, for `concat!`): `finished_at` is set (by triggers) only when
/// an order completes or is cancelled, so a stage move leaves those indexes
/// alone. A shop's open orders are read `INDEXED BY orders_open_code`:
/// without statistics SQLite takes orders_shop_created as readily, which
/// holds the shop's whole history.
macro_rules! open {
    () => {
        "finished_at IS NULL"
    };
}
const OPEN: &str = open!();

fn from_row(r: &Row) -> rusqlite::Result<OrderRow> {
    let status = r.get(6)?;
    let mut c = super::Columns::new(r);
    let row = OrderRow {
        id: c.get(0),
        shop_id: c.get(1),
        shop_name: c.get(2),
        customer_token_hash: c.get(3),
        customer_name: c.get(4),
        note: c.get(5),
        status,
        version: c.get(7),
        pickup_code: c.get(8),
        total_cents: c.get(9),
        created_at: c.get(10),
        updated_at: c.get(11),
        request_hash: c.get(12),
        checkout_id: c.get(13),
        pickup_at: c.get(14),
        discount_cents: c.get(15),
        promo_code: c.get(16),
        table_name: c.get(17),
    };
    c.done(row)
}

/// Stores a new order, its change number at its shop's latest until its
/// first event (`record_event`) takes the next: its `orders_shop_change`
/// entry is written once, at the end of the shop's range. At 0 it went to
/// the range's start, a page of the shop's oldest orders, then moved.
pub fn insert(conn: &Connection, o: &NewOrder) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO orders (shop_id, client_ref, customer_token_hash, request_hash, placed_from,
                             customer_name, note, status, version, pickup_code, total_cents,
                             created_at, updated_at, checkout_id, pickup_at, release_at,
                             discount_cents, promo_code, table_id, table_name, change_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, (SELECT coalesce(max(change_seq), 0) FROM orders WHERE shop_id = ?1))",
    )?
    .execute(params![
        o.shop_id,
        o.client_ref,
        o.customer_token_hash,
        o.request_hash,
        o.placed_from,
        o.customer_name,
        o.note,
        o.status,
        o.pickup_code,
        o.total_cents,
        o.now,
        o.checkout_id,
        o.pickup_at,
        o.release_at,
        o.discount_cents,
        o.promo_code,
        o.table.map(|t| t.0),
        o.table.map_or("", |t| t.1)
    ])?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_line(conn: &Connection, order_id: i64, line: &LineRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO order_items (order_id, item_id, name, unit_price_cents, qty, line_total_cents,
                                  note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        order_id,
        line.item_id,
        line.name,
        line.unit_price_cents,
        line.qty,
        line.line_total_cents,
        line.note
    ])?;
    let line_id = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO order_line_options (line_id, option_id, group_name, name, price_delta_cents)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for o in &line.options {
        stmt.execute(params![
            line_id,
            o.option_id,
            o.group_name,
            o.name,
            o.price_delta_cents
        ])?;
    }
    Ok(())
}

pub fn record_taken(conn: &Connection, order_id: i64, taken: Taken) -> Result<()> {
    let (item_id, ingredient_id, qty) = match taken {
        Taken::Item { item_id, qty } => (Some(item_id), None, qty),
        Taken::Ingredient { ingredient_id, qty } => (None, Some(ingredient_id), qty),
    };
    conn.prepare_cached(
        "INSERT INTO order_stock (order_id, item_id, ingredient_id, qty) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![order_id, item_id, ingredient_id, qty])?;
    Ok(())
}

/// What the order took from stock and has not given back, then forgets
/// it: each unit is given back at most once.
pub fn take_back_stock(conn: &Connection, order_id: i64) -> Result<Vec<Taken>> {
    let mut stmt =
        conn.prepare("SELECT item_id, ingredient_id, qty FROM order_stock WHERE order_id = ?1")?;
    let taken = super::all_rows(&mut stmt, params![order_id], |r| {
        let item: Option<i64> = r.get(0)?;
        let ingredient: Option<i64> = r.get(1)?;
        let qty: i64 = r.get(2)?;
        Ok(match (item, ingredient) {
            (Some(item_id), _) => Taken::Item { item_id, qty },
            (None, ingredient) => Taken::Ingredient {
                ingredient_id: ingredient.unwrap_or_default(),
                qty,
            },
        })
    })?;
    conn.execute(
        "DELETE FROM order_stock WHERE order_id = ?1",
        params![order_id],
    )?;
    Ok(taken)
}

/// One recorded change of an order's status.
pub struct NewEvent<'a> {
    pub order_id: i64,
    pub from: Option<Status>,
    pub to: Status,
    pub actor_role: ActorRole,
    pub actor_user_id: Option<i64>,
    pub reason: &'a str,
    pub now: i64,
}

/// The next change number for an order: above every event's id and every
/// change of its shop (payments and station marks take numbers without an
/// event, `store::payments::touch_order`), so a shop's version only rises.
pub fn next_change_seq(conn: &Connection, order_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT max((SELECT coalesce(max(id), 0) FROM order_events),
                    (SELECT coalesce(max(change_seq), 0) FROM orders
                     WHERE shop_id = (SELECT shop_id FROM orders WHERE id = ?1))) + 1",
        )?
        .query_row([order_id], super::int)?)
}

/// Appends an event and stamps the order with it; returns the event id,
/// which is the shop's new change sequence number.
pub fn record_event(conn: &Connection, e: &NewEvent) -> Result<i64> {
    let seq = next_change_seq(conn, e.order_id)?;
    conn.prepare_cached(
        "INSERT INTO order_events (id, order_id, from_status, to_status, actor_role,
                                   actor_user_id, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        e.order_id,
        e.from,
        e.to,
        e.actor_role,
        e.actor_user_id,
        e.reason,
        e.now
    ])?;
    // The same pages as the INSERT and the stage move before it: this
    // transaction writes them once.
    conn.prepare_cached("UPDATE orders SET change_seq = ?2 WHERE id = ?1")?
        .execute(params![e.order_id, seq])?;
    Ok(seq)
}

/// Moves an order to `status` if it is still at `expected_version`;
/// returns false when someone else changed it first.
pub fn set_status(
    conn: &Connection,
    id: i64,
    status: Status,
    expected_version: i64,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE orders SET status = ?2, version = version + 1, updated_at = ?4
             WHERE id = ?1 AND version = ?3",
        )?
        .execute(params![id, status, expected_version, now])?
        == 1)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<OrderRow>> {
    Ok(conn
        .prepare_cached(select!("WHERE o.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub fn by_client_ref(conn: &Connection, client_ref: &str) -> Result<Option<OrderRow>> {
    Ok(conn
        .prepare_cached(select!("WHERE o.client_ref = ?1"))?
        .query_row([client_ref], from_row)
        .optional()?)
}

pub fn lines(conn: &Connection, order_id: i64) -> Result<Vec<LineRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, item_id, name, unit_price_cents, qty, line_total_cents, note
         FROM order_items WHERE order_id = ?1 ORDER BY id",
    )?;
    let mut options = conn.prepare_cached(
        "SELECT option_id, group_name, name, price_delta_cents
         FROM order_line_options WHERE line_id = ?1 ORDER BY rowid",
    )?;
    let rows = super::all_rows(&mut stmt, params![order_id], |r| {
        let mut c = super::Columns::new(r);
        let row = (
            c.get::<i64>(0),
            LineRow {
                item_id: c.get(1),
                name: c.get(2),
                unit_price_cents: c.get(3),
                qty: c.get(4),
                line_total_cents: c.get(5),
                note: c.get(6),
                options: Vec::new(),
            },
        );
        c.done(row)
    })?;
    let mut lines = Vec::new();
    for (line_id, mut line) in rows {
        line.options = super::all_rows(&mut options, params![line_id], |r| {
            let mut c = super::Columns::new(r);
            let row = LineOptionRow {
                option_id: c.get(0),
                group_name: c.get(1),
                name: c.get(2),
                price_delta_cents: c.get(3),
            };
            c.done(row)
        })?;
        lines.push(line);
    }
    Ok(lines)
}

pub fn events(conn: &Connection, order_id: i64) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.from_status, e.to_status,
                CASE WHEN u.name IS NULL THEN e.actor_role ELSE e.actor_role || ' ' || u.name END,
                e.reason, e.created_at
         FROM order_events e LEFT JOIN users u ON u.id = e.actor_user_id
         WHERE e.order_id = ?1 ORDER BY e.id",
    )?;
    super::all_rows(&mut stmt, params![order_id], |r| {
        let to = r.get(1)?;
        let mut c = super::Columns::new(r);
        let row = EventRow {
            from: c.get(0),
            to,
            actor: c.get(2),
            reason: c.get(3),
            at: c.get(4),
        };
        c.done(row)
    })
}

/// The highest change sequence number among a shop's orders (0 if none).
pub fn shop_version(conn: &Connection, shop_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(change_seq), 0) FROM orders WHERE shop_id = ?1")?
        .query_row([shop_id], super::int)?)
}

/// Up to `limit` of a shop's open orders with ids above `after`, oldest
/// first; scheduled ones only once their moment has come by `now`.
pub fn open_for_shop(
    conn: &Connection,
    shop_id: i64,
    after: i64,
    limit: i64,
    now: i64,
) -> Result<Vec<OrderRow>> {
    let mut stmt = conn.prepare_cached(select!(
        "orders o INDEXED BY orders_open_code",
        "WHERE o.shop_id = ?1 AND o.finished_at IS NULL
           AND o.id > ?2 AND o.release_at <= ?4 ORDER BY o.id LIMIT ?3"
    ))?;
    super::all_rows(&mut stmt, params![shop_id, after, limit, now], from_row)
}

/// Up to `limit` of a shop's orders finished since `finished_after`, latest first.
pub fn finished_for_shop(
    conn: &Connection,
    shop_id: i64,
    finished_after: i64,
    limit: i64,
) -> Result<Vec<OrderRow>> {
    let mut stmt = conn.prepare_cached(select!(
        "WHERE o.shop_id = ?1 AND o.status IN ('completed', 'cancelled')
           AND o.updated_at > ?2 ORDER BY o.updated_at DESC LIMIT ?3"
    ))?;
    super::all_rows(&mut stmt, params![shop_id, finished_after, limit], from_row)
}

/// How many open orders a shop has.
pub fn open_count_for_shop(conn: &Connection, shop_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT COUNT(*) FROM orders INDEXED BY orders_open_code WHERE shop_id = ?1 AND ",
            open!()
        ))?
        .query_row([shop_id], super::int)?)
}

/// How many open orders were placed under a customer token or from an address.
pub fn open_count_for_device(
    conn: &Connection,
    token_hash: &str,
    placed_from: &str,
) -> Result<i64> {
    Ok(conn
        .prepare_cached(OPEN_FOR_DEVICE)?
        .query_row(params![token_hash, placed_from], super::int)?)
}

/// The token's open orders plus the address's under other tokens: a
/// `COUNT(*)` over a `UNION` of the two was prepared again by SQLite at
/// every run (its plan depends on the bound values), a quarter of a
/// placement's CPU.
const OPEN_FOR_DEVICE: &str = concat!(
    "SELECT (SELECT COUNT(*) FROM orders WHERE customer_token_hash = ?1 AND ",
    open!(),
    ") + (SELECT COUNT(*) FROM orders WHERE placed_from = ?2 AND ",
    open!(),
    " AND customer_token_hash <> ?1)"
);

/// Whether an open order of the shop uses `code`.
pub fn pickup_code_taken(conn: &Connection, shop_id: i64, code: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE shop_id = ?1 AND pickup_code = ?2 AND ",
            open!(),
            ")"
        ))?
        .query_row(params![shop_id, code], |r| r.get(0))?)
}

/// Whether any order was placed under this customer token.
pub fn token_known(conn: &Connection, token_hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM orders WHERE customer_token_hash = ?1)")?
        .query_row([token_hash], |r| r.get(0))?)
}

/// A customer's orders, newest first: the device's order history.
pub fn for_customer(conn: &Connection, token_hash: &str) -> Result<Vec<OrderRow>> {
    let mut stmt = conn.prepare_cached(select!(
        "WHERE o.customer_token_hash = ?1 ORDER BY o.id DESC LIMIT 50"
    ))?;
    super::all_rows(&mut stmt, params![token_hash], from_row)
}

// ---- Checkouts: one order per shop, placed together ----

/// A checkout's row: who placed it, and what was asked (for replays).
#[derive(Debug, Clone)]
pub struct CheckoutRow {
    pub id: i64,
    pub customer_token_hash: String,
    pub request_hash: String,
    pub created_at: i64,
}

pub fn insert_checkout(
    conn: &Connection,
    client_ref: &str,
    token_hash: &str,
    request_hash: &str,
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO checkouts (client_ref, customer_token_hash, request_hash, created_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![client_ref, token_hash, request_hash, now],
    )?;
    Ok(conn.last_insert_rowid())
}

fn checkout_row(r: &Row) -> rusqlite::Result<CheckoutRow> {
    let mut c = super::Columns::new(r);
    let row = CheckoutRow {
        id: c.get(0),
        customer_token_hash: c.get(1),
        request_hash: c.get(2),
        created_at: c.get(3),
    };
    c.done(row)
}

const CHECKOUT_SELECT: &str =
    "SELECT id, customer_token_hash, request_hash, created_at FROM checkouts";

pub fn checkout_by_id(conn: &Connection, id: i64) -> Result<Option<CheckoutRow>> {
    super::one_row(
        conn,
        &format!("{CHECKOUT_SELECT} WHERE id = ?1"),
        params![id],
        checkout_row,
    )
    .optional()
}

pub fn checkout_by_client_ref(conn: &Connection, client_ref: &str) -> Result<Option<CheckoutRow>> {
    super::one_row(
        conn,
        &format!("{CHECKOUT_SELECT} WHERE client_ref = ?1"),
        params![client_ref],
        checkout_row,
    )
    .optional()
}

/// The orders of a checkout, by shop.
pub fn of_checkout(conn: &Connection, checkout_id: i64) -> Result<Vec<OrderRow>> {
    let mut stmt = conn.prepare(select!("WHERE o.checkout_id = ?1 ORDER BY o.shop_id, o.id"))?;
    super::all_rows(&mut stmt, params![checkout_id], from_row)
}

/// The open orders of a shop being worked on before `order_id` (on the
/// board by `now`, not yet ready): at most `limit` ids.
pub fn ahead_of(
    conn: &Connection,
    shop_id: i64,
    order_id: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM orders INDEXED BY orders_open_code
         WHERE shop_id = ?1 AND id < ?2 AND release_at <= ?3
           AND status IN ('placed', 'accepted', 'preparing')
           AND finished_at IS NULL ORDER BY id LIMIT ?4",
    )?;
    super::all_rows(&mut stmt, params![shop_id, order_id, now, limit], |r| {
        r.get(0)
    })
}

/// How many orders not cancelled a shop has for the pickup slot `pickup_at`.
pub fn count_in_slot(conn: &Connection, shop_id: i64, pickup_at: i64) -> Result<i64> {
    super::one_row(
        conn,
        "SELECT COUNT(*) FROM orders WHERE shop_id = ?1 AND pickup_at = ?2
           AND status <> 'cancelled'",
        params![shop_id, pickup_at],
        super::int,
    )
}

/// Scheduled orders whose moment has come by `now`: at most `limit` of
/// them, as (order, shop, status). They stay due until `mark_released`.
pub fn due_releases(conn: &Connection, now: i64, limit: i64) -> Result<Vec<(i64, i64, Status)>> {
    let mut stmt = conn.prepare(
        "SELECT id, shop_id, status FROM orders WHERE release_at > 0 AND release_at <= ?1
         ORDER BY release_at LIMIT ?2",
    )?;
    super::all_rows(&mut stmt, params![now, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

pub fn mark_released(conn: &Connection, order_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE orders SET release_at = 0 WHERE id = ?1",
        params![order_id],
    )?;
    Ok(())
}

// ---- The kitchen display and the now-serving board ----

/// Minutes the slowest item of each order takes (`menu_items.prep_minutes`),
/// for the given orders.
pub fn slowest_prep_minutes(conn: &Connection, order_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT MAX(m.prep_minutes) FROM order_items l JOIN menu_items m ON m.id = l.item_id
         WHERE l.order_id = ?1",
    )?;
    order_ids
        .iter()
        .map(|&id| {
            Ok((
                id,
                stmt.query_row([id], |r| r.get::<_, Option<i64>>(0))?
                    .unwrap_or(0),
            ))
        })
        .collect()
}

/// How many of an item with the same options wait across a shop's orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRow {
    pub item_id: i64,
    pub name: String,
    /// The options' names, comma-separated, in the menu's order.
    pub options: String,
    pub qty: i64,
}

/// Items of a shop's orders not yet ready, summed per item and options,
/// most first; at most `limit` rows. Scheduled orders count once their
/// moment has come by `now`.
pub fn waiting_items(
    conn: &Connection,
    shop_id: i64,
    limit: i64,
    now: i64,
) -> Result<Vec<WaitingRow>> {
    let mut stmt = conn.prepare(
        "SELECT l.item_id, MAX(l.name),
                COALESCE((SELECT group_concat(lo.name, ', ' ORDER BY lo.option_id)
                          FROM order_line_options lo WHERE lo.line_id = l.id), '') AS chosen,
                SUM(l.qty) AS total
         FROM orders o INDEXED BY orders_open_code JOIN order_items l ON l.order_id = o.id
         WHERE o.shop_id = ?1 AND o.status IN ('placed', 'accepted', 'preparing')
           AND o.finished_at IS NULL AND o.release_at <= ?3
         GROUP BY l.item_id, chosen ORDER BY total DESC, MAX(l.name), chosen LIMIT ?2",
    )?;
    super::all_rows(&mut stmt, params![shop_id, limit, now], |r| {
        let mut c = super::Columns::new(r);
        let row = WaitingRow {
            item_id: c.get(0),
            name: c.get(1),
            options: c.get(2),
            qty: c.get(3),
        };
        c.done(row)
    })
}

/// A pickup code on the now-serving board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingRow {
    pub shop_id: i64,
    pub shop_name: String,
    pub pickup_code: String,
    /// When it turned ready (0 while not ready).
    pub ready_at: i64,
}

/// When an order last turned ready, from its events: `updated_at` moves
/// with any later change to the order.
const READY_AT: &str = "(SELECT COALESCE(MAX(e.created_at), 0) FROM order_events e
                         WHERE e.order_id = o.id AND e.to_status = 'ready')";

fn serving_row(r: &Row) -> rusqlite::Result<ServingRow> {
    let mut c = super::Columns::new(r);
    let row = ServingRow {
        shop_id: c.get(0),
        shop_name: c.get(1),
        pickup_code: c.get(2),
        ready_at: c.get(3),
    };
    c.done(row)
}

/// Approved shops' (or one shop's) orders being prepared, oldest first:
/// at most `limit`; scheduled ones once their moment has come by `now`.
pub fn preparing_codes(
    conn: &Connection,
    shop_id: Option<i64>,
    limit: i64,
    now: i64,
) -> Result<Vec<ServingRow>> {
    let mut stmt = conn.prepare(
        "SELECT o.shop_id, s.name, o.pickup_code, 0
         FROM orders o INDEXED BY orders_open_code JOIN shops s ON s.id = o.shop_id
         WHERE o.status IN ('placed', 'accepted', 'preparing')
           AND o.finished_at IS NULL AND s.status = 'approved'
           AND (?1 IS NULL OR o.shop_id = ?1) AND o.release_at <= ?3
         ORDER BY o.id LIMIT ?2",
    )?;
    super::all_rows(&mut stmt, params![shop_id, limit, now], serving_row)
}

/// Approved shops' (or one shop's) ready orders that turned ready after
/// `ready_after`, latest first: at most `limit`.
pub fn ready_codes(
    conn: &Connection,
    shop_id: Option<i64>,
    ready_after: i64,
    limit: i64,
) -> Result<Vec<ServingRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT * FROM (
             SELECT o.shop_id, s.name, o.pickup_code, {READY_AT} AS ready_at
             FROM orders o INDEXED BY orders_open_code JOIN shops s ON s.id = o.shop_id
             WHERE o.status = 'ready' AND o.finished_at IS NULL
               AND s.status = 'approved' AND (?1 IS NULL OR o.shop_id = ?1))
         WHERE ready_at > ?2 ORDER BY ready_at DESC LIMIT ?3"
    ))?;
    super::all_rows(&mut stmt, params![shop_id, ready_after, limit], serving_row)
}

/// The latest change to any order (or to one shop's): the now-serving
/// board's version. Event ids only grow, across every shop.
pub fn serving_version(conn: &Connection, shop_id: Option<i64>) -> Result<i64> {
    match shop_id {
        Some(shop_id) => shop_version(conn, shop_id),
        None => super::one_row(
            conn,
            "SELECT COALESCE(MAX(id), 0) FROM order_events",
            params![],
            super::int,
        ),
    }
}

/// Deletes up to `limit` finished (completed or cancelled) orders placed
/// before `before`, with their lines, options, events, stock records and
/// payments (their money stays in the report rollups). The order with the
/// newest event stays, so event ids (the board's versions) go on from it.
/// Returns how many orders went.
pub fn delete_finished_before(conn: &Connection, before: i64, limit: i64) -> Result<usize> {
    let mut stmt = conn.prepare(
        "SELECT id FROM orders WHERE shop_id IN (SELECT id FROM shops) AND created_at < ?1
           AND status IN ('completed', 'cancelled')
           AND id IS NOT (SELECT order_id FROM order_events ORDER BY id DESC LIMIT 1)
         LIMIT ?2",
    )?;
    let ids: Vec<i64> = super::all_rows(&mut stmt, params![before, limit], super::int)?;
    for id in &ids {
        conn.execute(
            "DELETE FROM order_line_options WHERE line_id IN
               (SELECT id FROM order_items WHERE order_id = ?1)",
            params![id],
        )?;
        for table in [
            "order_items",
            "order_events",
            "order_stock",
            "order_payments",
        ] {
            conn.execute(
                &format!("DELETE FROM {table} WHERE order_id = ?1"),
                params![id],
            )?;
        }
        conn.execute("DELETE FROM orders WHERE id = ?1", params![id])?;
    }
    Ok(ids.len())
}

/// Which of these orders are finished (completed, cancelled, or gone).
pub fn finished_among(conn: &Connection, ids: &[i64]) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE id = ?1 AND {OPEN})"
    ))?;
    let mut finished = Vec::new();
    for &id in ids {
        if !stmt.query_row([id], |r| r.get::<_, bool>(0))? {
            finished.push(id);
        }
    }
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_s_open_orders_are_counted_once_without_preparing_again() {
        let conn = crate::db::test_connection();
        conn.execute_batch(crate::db::TEST_SHOP).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, pickup_code, total_cents, created_at,
                                 updated_at, placed_from)
                 VALUES (1, 1, 'a', 't', 'Ann', 'placed', 1, 'A1', 500, 0, 0, '10.0.0.2'),
                        (2, 1, 'b', 't', 'Ann', 'ready', 1, 'B2', 500, 0, 0, '10.0.0.3'),
                        (3, 1, 'c', 'u', 'Bo', 'placed', 1, 'C3', 500, 0, 0, '10.0.0.2'),
                        (4, 1, 'd', 'u', 'Bo', 'completed', 1, 'D4', 500, 0, 0, '10.0.0.2');",
        )
        .unwrap();
        assert_eq!(open_count_for_device(&conn, "t", "10.0.0.2").unwrap(), 3);
        assert_eq!(open_count_for_device(&conn, "u", "10.0.0.3").unwrap(), 2);
        assert_eq!(open_count_for_device(&conn, "v", "10.0.0.9").unwrap(), 0);
        let stmt = conn.prepare_cached(OPEN_FOR_DEVICE).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    #[test]
    fn a_new_order_sits_at_its_shop_s_latest_change_until_its_first_event() {
        let conn = crate::db::test_connection();
        conn.execute_batch(crate::db::TEST_SHOP).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, change_seq, pickup_code, total_cents,
                                 created_at, updated_at)
                 VALUES (1, 1, 'a', 't', 'Ann', 'placed', 1, 7, 'A1', 500, 0, 0);",
        )
        .unwrap();
        let id = insert(
            &conn,
            &NewOrder {
                shop_id: 1,
                client_ref: "b",
                customer_token_hash: "u",
                request_hash: "",
                placed_from: "10.0.0.2",
                customer_name: "Bo",
                note: "",
                status: Status::Placed,
                pickup_code: "B2",
                total_cents: 500,
                now: 0,
                checkout_id: None,
                pickup_at: None,
                release_at: 0,
                discount_cents: 0,
                promo_code: "",
                table: None,
            },
        )
        .unwrap();
        let seq = |id: i64| -> i64 {
            conn.query_row("SELECT change_seq FROM orders WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(seq(id), 7);
        let event = record_event(
            &conn,
            &NewEvent {
                order_id: id,
                from: None,
                to: Status::Placed,
                actor_role: ActorRole::Customer,
                actor_user_id: None,
                reason: "",
                now: 0,
            },
        )
        .unwrap();
        assert_eq!((event, seq(id)), (8, 8));
        assert_eq!(shop_version(&conn, 1).unwrap(), 8);
    }

    #[test]
    fn retention_keeps_the_newest_event_so_event_ids_never_go_back() {
        let conn = crate::db::test_connection();
        conn.execute_batch(crate::db::TEST_SHOP).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                                 status, version, change_seq, pickup_code, total_cents,
                                 created_at, updated_at)
                 VALUES (1, 1, 'a', 't', 'Ann', 'completed', 2, 5, 'A1', 500, 1000, 2000),
                        (2, 1, 'b', 't', 'Bo', 'completed', 2, 8, 'B2', 500, 1500, 2500);
             INSERT INTO order_events (id, order_id, to_status, actor_role, created_at)
                 VALUES (4, 1, 'placed', 'customer', 1000), (5, 1, 'completed', 'shop', 2000),
                        (7, 2, 'placed', 'customer', 1500), (8, 2, 'completed', 'shop', 2500);",
        )
        .unwrap();
        assert_eq!(delete_finished_before(&conn, 10_000, 10).unwrap(), 1);
        assert!(by_id(&conn, 1).unwrap().is_none());
        assert!(by_id(&conn, 2).unwrap().is_some());
        assert_eq!(serving_version(&conn, None).unwrap(), 8);
    }
}
