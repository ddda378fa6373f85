//! Report queries over orders, their lines, options and events, and over
//! their rollups (migration 016). Every query reads one range of
//! `orders.created_at` (UTC ms, end excluded), or of its quarter hours in
//! the rollups, for one shop or for all.

use super::Result;
use rusqlite::{params, Connection};

/// Which of the range's orders a direct query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orders {
    /// Every order, through `orders_shop_created`.
    All,
    /// Orders not finished, which the rollups do not hold yet, through a
    /// partial index of open orders (the range's and the shop's columns
    /// are kept out of the plan: a month holds 300,000 orders, the venue a
    /// few hundred open ones).
    Open,
}

/// The filter on orders `o`: the range is ?1..?2, the shop ?3.
fn range(shop: Option<i64>, orders: Orders) -> &'static str {
    match (orders, shop) {
        (Orders::All, Some(_)) => "o.shop_id = ?3 AND o.created_at >= ?1 AND o.created_at < ?2",
        // Each shop's part of orders_shop_created (migration 018 dropped
        // the venue-wide orders_created: a page written per order).
        (Orders::All, None) => {
            "o.shop_id IN (SELECT id FROM shops) AND o.created_at >= ?1 AND o.created_at < ?2
             AND ?3 IS NULL"
        }
        (Orders::Open, Some(_)) => {
            "o.finished_at IS NULL AND +o.shop_id = ?3
             AND +o.created_at >= ?1 AND +o.created_at < ?2"
        }
        (Orders::Open, None) => {
            "o.finished_at IS NULL
             AND +o.created_at >= ?1 AND +o.created_at < ?2 AND ?3 IS NULL"
        }
    }
}

/// The filter on a rollup table: quarter hours ?1..?2, the shop ?3. The
/// venue's form probes each shop's rows rather than scanning them all.
fn quarters(shop: Option<i64>) -> &'static str {
    match shop {
        Some(_) => "shop_id = ?3 AND quarter >= ?1 AND quarter < ?2",
        None => {
            "shop_id IN (SELECT id FROM shops) AND quarter >= ?1 AND quarter < ?2 AND ?3 IS NULL"
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Totals {
    pub orders: i64,
    pub completed: i64,
    pub cancelled: i64,
    pub revenue_cents: i64,
}

pub fn totals(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
    orders: Orders,
) -> Result<Totals> {
    let sql = format!(
        "SELECT count(*), coalesce(sum(o.status = 'completed'), 0),
                coalesce(sum(o.status = 'cancelled'), 0),
                coalesce(sum(CASE WHEN o.status = 'completed' THEN o.total_cents END), 0)
         FROM orders o WHERE {}",
        range(shop, orders)
    );
    Ok(conn
        .prepare(&sql)?
        .query_row(params![from, to, shop], |r| {
            let mut c = super::Columns::new(r);
            let row = Totals {
                orders: c.get(0),
                completed: c.get(1),
                cancelled: c.get(2),
                revenue_cents: c.get(3),
            };
            c.done(row)
        })?)
}

/// Milliseconds from placement to the first `ready` event of each order
/// that got there. A correlated subquery rather than a join grouped by
/// order: for the whole venue the join's plan scanned every event ever
/// recorded (5 s at 3.6 million orders) instead of the range's orders.
pub fn prep_times(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
    orders: Orders,
) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT (SELECT min(e.created_at) FROM order_events e
                 WHERE e.order_id = o.id AND e.to_status = 'ready') - o.created_at
         FROM orders o WHERE {}",
        range(shop, orders)
    );
    let mut stmt = conn.prepare(&sql)?;
    let all: Vec<Option<i64>> = super::all_rows(&mut stmt, params![from, to, shop], |r| r.get(0))?;
    Ok(all.into_iter().flatten().collect())
}

/// Orders placed per quarter hour since the epoch: every zone's offset is
/// a whole number of quarter hours, so each falls in one local hour.
pub fn quarter_hours(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
    orders: Orders,
) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT o.created_at / 900000, count(*) FROM orders o WHERE {} GROUP BY 1",
        range(shop, orders)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop], super::int_pair)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemSales {
    pub name: String,
    /// The line's options, "Group: Option" joined by ", " in a fixed order.
    pub options: String,
    pub qty: i64,
    pub revenue_cents: i64,
}

/// An `ItemSales` from columns name, options, qty, revenue.
fn item_sales(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemSales> {
    let mut c = super::Columns::new(r);
    let row = ItemSales {
        name: c.get(0),
        options: c.get(1),
        qty: c.get(2),
        revenue_cents: c.get(3),
    };
    c.done(row)
}

/// The most ordered items of orders not cancelled, each with its options.
pub fn top_items(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
    orders: Orders,
    limit: i64,
) -> Result<Vec<ItemSales>> {
    let sql = format!(
        "SELECT oi.name,
                coalesce((SELECT group_concat(x.label, ', ') FROM
                    (SELECT group_name || ': ' || name AS label FROM order_line_options
                     WHERE line_id = oi.id ORDER BY group_name, name) x), '') AS opts,
                sum(oi.qty), sum(oi.line_total_cents)
         FROM orders o JOIN order_items oi ON oi.order_id = o.id
         WHERE {} AND o.status != 'cancelled'
         GROUP BY oi.name, opts ORDER BY 3 DESC, 4 DESC, 1, 2 LIMIT ?4",
        range(shop, orders)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop, limit], item_sales)
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ShopDay {
    pub open: i64,
    pub orders: i64,
    pub revenue_cents: i64,
}

/// Each shop's open orders now, and orders and revenue in `from..to`, in
/// shop id order.
pub fn shops_at_a_glance(conn: &Connection, from: i64, to: i64) -> Result<Vec<(i64, ShopDay)>> {
    let mut stmt = conn.prepare(
        "SELECT s.id,
            (SELECT count(*) FROM orders o INDEXED BY orders_open_code WHERE o.shop_id = s.id
               AND o.finished_at IS NULL),
            (SELECT count(*) FROM orders o WHERE o.shop_id = s.id
               AND o.created_at >= ?1 AND o.created_at < ?2),
            (SELECT coalesce(sum(o.total_cents), 0) FROM orders o WHERE o.shop_id = s.id
               AND o.created_at >= ?1 AND o.created_at < ?2 AND o.status = 'completed')
         FROM shops s ORDER BY s.id",
    )?;
    super::all_rows(&mut stmt, params![from, to], |r| {
        Ok((
            r.get(0)?,
            ShopDay {
                open: r.get(1)?,
                orders: r.get(2)?,
                revenue_cents: r.get(3)?,
            },
        ))
    })
}

/// Money taken per payment method for the orders placed in the range:
/// `(method, amount, tips, payments)`, biggest first.
pub fn by_payment_method(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
) -> Result<Vec<(String, i64, i64, i64)>> {
    let sql = format!(
        "SELECT p.method, sum(p.amount_cents), sum(p.tip_cents), count(*)
         FROM orders o JOIN order_payments p ON p.order_id = o.id
         WHERE {} AND p.kind = 'payment' GROUP BY p.method ORDER BY 2 DESC, 1",
        range(shop, Orders::All)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
}

/// What was refunded on the orders placed in the range.
pub fn refunded(conn: &Connection, from: i64, to: i64, shop: Option<i64>) -> Result<i64> {
    let sql = format!(
        "SELECT coalesce(sum(p.amount_cents), 0)
         FROM orders o JOIN order_payments p ON p.order_id = o.id
         WHERE {} AND p.kind = 'refund'",
        range(shop, Orders::All)
    );
    Ok(conn
        .prepare(&sql)?
        .query_row(params![from, to, shop], super::int)?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasteSum {
    pub shop: String,
    pub ingredient: String,
    pub qty: i64,
    pub entries: i64,
}

/// Waste recorded in `[from, to)`, summed per ingredient, most first.
pub fn waste(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
    limit: i64,
) -> Result<Vec<WasteSum>> {
    // One form per case, so each plan knows whether a shop is given.
    let shop_filter = match shop {
        Some(_) => "w.shop_id = ?3",
        None => "?3 IS NULL",
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT s.name, i.name, sum(w.qty), count(*)
         FROM waste w JOIN ingredients i ON i.id = w.ingredient_id
         JOIN shops s ON s.id = w.shop_id
         WHERE w.created_at >= ?1 AND w.created_at < ?2 AND {}
         GROUP BY w.ingredient_id ORDER BY 3 DESC, 2 LIMIT ?4",
        shop_filter
    ))?;
    super::all_rows(&mut stmt, params![from, to, shop, limit], |r| {
        let mut c = super::Columns::new(r);
        let row = WasteSum {
            shop: c.get(0),
            ingredient: c.get(1),
            qty: c.get(2),
            entries: c.get(3),
        };
        c.done(row)
    })
}

/// The rollups' figures for quarter hours `from..to` (see migration 016).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rollup {
    pub totals: Totals,
    pub refunded_cents: i64,
    pub prep_orders: i64,
    pub prep_ms: i64,
}

pub fn rollup(conn: &Connection, from: i64, to: i64, shop: Option<i64>) -> Result<Rollup> {
    let sql = format!(
        "SELECT coalesce(sum(completed + cancelled), 0), coalesce(sum(completed), 0),
                coalesce(sum(cancelled), 0), coalesce(sum(revenue_cents), 0),
                coalesce(sum(refunded_cents), 0), coalesce(sum(prep_orders), 0),
                coalesce(sum(prep_ms), 0)
         FROM report_quarters WHERE {}",
        quarters(shop)
    );
    Ok(conn
        .prepare(&sql)?
        .query_row(params![from, to, shop], |r| {
            let mut c = super::Columns::new(r);
            let row = Rollup {
                totals: Totals {
                    orders: c.get(0),
                    completed: c.get(1),
                    cancelled: c.get(2),
                    revenue_cents: c.get(3),
                },
                refunded_cents: c.get(4),
                prep_orders: c.get(5),
                prep_ms: c.get(6),
            };
            c.done(row)
        })?)
}

/// Finished orders per quarter hour.
pub fn rollup_quarter_hours(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT quarter, sum(completed + cancelled) FROM report_quarters WHERE {} GROUP BY 1",
        quarters(shop)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop], super::int_pair)
}

/// Finished orders per whole minute from placement to ready.
pub fn rollup_prep_minutes(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT minute, sum(orders) FROM report_prep WHERE {} GROUP BY 1",
        quarters(shop)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop], super::int_pair)
}

/// Every item and options sold in completed orders (not only the top).
pub fn rollup_items(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
) -> Result<Vec<ItemSales>> {
    let sql = format!(
        "SELECT name, options, sum(qty), sum(revenue_cents) FROM report_items
         WHERE {} GROUP BY name, options HAVING sum(qty) > 0",
        quarters(shop)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop], item_sales)
}

/// Money taken per method, as `by_payment_method`.
pub fn rollup_methods(
    conn: &Connection,
    from: i64,
    to: i64,
    shop: Option<i64>,
) -> Result<Vec<(String, i64, i64, i64)>> {
    let sql = format!(
        "SELECT method, sum(amount_cents), sum(tip_cents), sum(payments) FROM report_methods
         WHERE {} GROUP BY method ORDER BY 2 DESC, 1",
        quarters(shop)
    );
    let mut stmt = conn.prepare(&sql)?;
    super::all_rows(&mut stmt, params![from, to, shop], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
}
