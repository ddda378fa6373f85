//! What the kitchen display adds to a shop's orders (each ticket's
//! estimate, the all-day counts), and the now-serving board: every shop's
//! (or one shop's) pickup codes being prepared and ready, for a TV.

use crate::error::Result;
use crate::live::{Answer, Audience, Built, Data, Topic};
use crate::ordering::catalog;
use crate::ordering::orders::OrderView;
use crate::ordering::stations::{self, TicketStation};
use crate::store::orders as rows;
use crate::support::json::json_object;
use rusqlite::Connection;
use std::time::Duration;

/// Rows of the all-day counts: the kinds of item a kitchen keeps in mind.
pub const ALL_DAY_SHOWN: i64 = 40;
/// Codes a TV shows in each column; more would not be readable anyway.
pub const PREPARING_SHOWN: i64 = 120;
pub const READY_SHOWN: i64 = 60;

/// A ticket on the kitchen display: the order and how long it should take.
#[derive(Debug)]
pub struct BoardOrder {
    pub view: OrderView,
    /// The slowest of its items' preparation times, at least a minute:
    /// items are prepared side by side.
    pub estimate_minutes: i64,
    /// The stations holding its items, each done or pending.
    pub stations: Vec<TicketStation>,
}
json_object!(BoardOrder: ..view, estimate_minutes, stations);

pub fn estimate_minutes(slowest_prep_minutes: i64) -> i64 {
    slowest_prep_minutes.max(1)
}

/// The orders with their estimates and stations.
pub fn with_estimates(conn: &Connection, views: Vec<OrderView>) -> Result<Vec<BoardOrder>> {
    let ids: Vec<i64> = views.iter().map(|v| v.order.id).collect();
    let slowest = rows::slowest_prep_minutes(conn, &ids)?;
    let mut orders = Vec::with_capacity(views.len());
    for (view, (_, minutes)) in views.into_iter().zip(slowest) {
        orders.push(BoardOrder {
            stations: stations::of_order(conn, view.order.id)?,
            view,
            estimate_minutes: estimate_minutes(minutes),
        });
    }
    Ok(orders)
}

/// How many of an item, with these options, wait across the shop's orders
/// that are not ready yet.
#[derive(Debug)]
pub struct WaitingCount {
    pub item_id: i64,
    pub name: String,
    pub options: String,
    pub qty: i64,
}
json_object!(WaitingCount: item_id, name, options, qty);

/// The all-day counts at `now`: an order for later counts once released.
pub fn all_day(conn: &Connection, shop_id: i64, now: i64) -> Result<Vec<WaitingCount>> {
    Ok(rows::waiting_items(conn, shop_id, ALL_DAY_SHOWN, now)?
        .into_iter()
        .map(|r| WaitingCount {
            item_id: r.item_id,
            name: r.name,
            options: r.options,
            qty: r.qty,
        })
        .collect())
}

/// A pickup code on the TV. No customer names: the board is public.
#[derive(Debug)]
pub struct ServingCode {
    pub shop_id: i64,
    pub shop: String,
    pub code: String,
    /// When it turned ready (0 while being prepared).
    pub ready_at: i64,
}
json_object!(ServingCode: shop_id, shop, code, ready_at);

/// The now-serving board.
#[derive(Debug)]
pub struct NowServing {
    pub version: i64,
    /// The server's clock, so a TV with a wrong one still counts right.
    pub now: i64,
    /// How long a ready code stays up unless collected earlier.
    pub ready_seconds: i64,
    pub preparing: Vec<ServingCode>,
    pub ready: Vec<ServingCode>,
}
json_object!(NowServing: version, now, ready_seconds, preparing, ready);

fn codes(found: Vec<rows::ServingRow>) -> Vec<ServingCode> {
    found
        .into_iter()
        .map(|r| ServingCode {
            shop_id: r.shop_id,
            shop: r.shop_name,
            code: r.pickup_code,
            ready_at: r.ready_at,
        })
        .collect()
}

/// The board of one approved shop, or of all when `shop_id` is `None`, at
/// `now`: ready codes leave `ready_seconds` after they turned ready.
pub fn now_serving(
    conn: &Connection,
    shop_id: Option<i64>,
    ready_seconds: i64,
    now: i64,
) -> Result<NowServing> {
    if let Some(id) = shop_id {
        catalog::approved_shop(conn, id)?;
    }
    Ok(NowServing {
        version: rows::serving_version(conn, shop_id)?,
        now,
        ready_seconds,
        preparing: codes(rows::preparing_codes(conn, shop_id, PREPARING_SHOWN, now)?),
        ready: codes(rows::ready_codes(
            conn,
            shop_id,
            now - ready_seconds * 1000,
            READY_SHOWN,
        )?),
    })
}

impl NowServing {
    /// How long until the first ready code leaves, if any is up: a waiter
    /// is answered then, so the TV needs no timers of its own.
    pub fn until_a_code_leaves(&self) -> Option<Duration> {
        let first = self.ready.iter().map(|c| c.ready_at).min()?;
        let leaves_at = first + self.ready_seconds * 1000;
        // A little after, so the next answer no longer shows it.
        Some(Duration::from_millis(
            (leaves_at - self.now).max(0) as u64 + 50,
        ))
    }
}

/// The board once its version is above `since`, or a ready code has left,
/// waiting up to `wait`.
pub async fn wait_for_board(
    data: &Data,
    shop_id: Option<i64>,
    since: i64,
    wait: Duration,
    ready_seconds: i64,
) -> Result<Answer> {
    let board = || {
        let now = crate::support::time::now_ms();
        data.read(move |c| now_serving(c, shop_id, ready_seconds, now))
    };
    let first = board().await?;
    if first.version > since {
        return Ok(Built::json(first.version, &first).body);
    }
    let wait = first
        .until_a_code_leaves()
        .map_or(wait, |leaves| wait.min(leaves));
    let version = data.read(move |c| Ok(rows::serving_version(c, shop_id)?));
    let build = || async {
        let board = board().await?;
        Ok(Built::json(board.version, &board))
    };
    data.live
        .answer(
            Topic::NowServing(shop_id),
            Audience::Customer,
            since,
            wait,
            version,
            build,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ordering::orders::{change_status, place, Actor, Status};
    use crate::support::json::JsonOut;

    fn demo() -> Connection {
        let conn = crate::db::test_connection();
        crate::venue::demo::seed(&conn).unwrap();
        conn
    }

    fn order(conn: &Connection, shop_id: i64, client_ref: &str, lines: &[(i64, i64)]) -> i64 {
        let json = serde_json::json!({
            "shop_id": shop_id,
            "items": lines.iter().map(|(item, qty)| serde_json::json!({"item_id": item, "qty": qty})).collect::<Vec<_>>(),
            "customer_name": "Ann",
            "client_ref": client_ref,
        });
        let req = crate::support::fields::from_json(&json.to_string()).unwrap();
        let who = crate::ordering::orders::Placement {
            holder: crate::ordering::orders::Holder::Anonymous,
            placed_from: client_ref.into(),
            limits: crate::ordering::orders::OpenOrderLimits {
                per_device: 50,
                per_shop: 1000,
            },
            minute_of_day: 12 * 60,
            zone_rule: crate::support::time::UTC_RULE.into(),
        };
        place(conn, &req, &who, 1_000).unwrap().view.order.id
    }

    fn advance(conn: &Connection, id: i64, to: Status, now: i64) {
        let shop = Actor::Shop {
            shop_id: 1,
            user_id: 2,
        };
        change_status(conn, id, to, &shop, "out of stock", now).unwrap();
    }

    /// Items of the demo's first shop without required options.
    fn plain_items(conn: &Connection) -> (i64, i64) {
        let mut stmt = conn
            .prepare(
                "SELECT id FROM menu_items m WHERE shop_id = 1 AND NOT EXISTS
                 (SELECT 1 FROM item_option_groups g WHERE g.item_id = m.id) ORDER BY id LIMIT 2",
            )
            .unwrap();
        let ids: Vec<i64> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        (ids[0], ids[1])
    }

    #[test]
    fn estimates_take_the_slowest_item_and_never_zero() {
        assert_eq!(estimate_minutes(0), 1);
        assert_eq!(estimate_minutes(12), 12);
        let conn = demo();
        let (a, b) = plain_items(&conn);
        conn.execute("UPDATE menu_items SET prep_minutes = 4 WHERE id = ?1", [a])
            .unwrap();
        conn.execute("UPDATE menu_items SET prep_minutes = 9 WHERE id = ?1", [b])
            .unwrap();
        let id = order(&conn, 1, "ref-est-1", &[(a, 1), (b, 2)]);
        assert_eq!(rows::slowest_prep_minutes(&conn, &[id]).unwrap(), [(id, 9)]);
    }

    #[test]
    fn all_day_counts_sum_items_waiting_across_open_orders() {
        let conn = demo();
        let (a, b) = plain_items(&conn);
        order(&conn, 1, "ref-day-01", &[(a, 2), (b, 1)]);
        order(&conn, 1, "ref-day-02", &[(a, 3)]);
        let ready = order(&conn, 1, "ref-day-03", &[(b, 5)]);
        for to in [Status::Accepted, Status::Preparing, Status::Ready] {
            advance(&conn, ready, to, 2_000);
        }
        let counts: Vec<(i64, i64)> = all_day(&conn, 1, 2_000)
            .unwrap()
            .iter()
            .map(|c| (c.item_id, c.qty))
            .collect();
        assert_eq!(counts, [(a, 5), (b, 1)]);
    }

    #[test]
    fn ready_codes_leave_after_their_time_and_the_board_names_no_customer() {
        let conn = demo();
        let (a, _) = plain_items(&conn);
        let first = order(&conn, 1, "ref-tv-001", &[(a, 1)]);
        let second = order(&conn, 1, "ref-tv-002", &[(a, 1)]);
        for to in [Status::Accepted, Status::Preparing, Status::Ready] {
            advance(&conn, first, to, 10_000);
        }
        let board = now_serving(&conn, None, 60, 10_000 + 59_000).unwrap();
        assert_eq!((board.preparing.len(), board.ready.len()), (1, 1));
        assert_eq!(
            board.until_a_code_leaves(),
            Some(Duration::from_millis(1_050))
        );
        assert!(!String::from_utf8(JsonOut::write(&board))
            .unwrap()
            .contains("Ann"));
        let later = now_serving(&conn, Some(1), 60, 10_000 + 60_000).unwrap();
        assert_eq!((later.preparing.len(), later.ready.len()), (1, 0));
        assert_eq!(later.until_a_code_leaves(), None);
        advance(&conn, second, Status::Cancelled, 70_000);
        assert!(now_serving(&conn, Some(1), 60, 70_000)
            .unwrap()
            .preparing
            .is_empty());
        assert!(now_serving(&conn, Some(99), 60, 70_000).is_err());
    }
}
