//! Retention: Wi-Fi client records and finished orders older than the
//! venue keeps them are deleted once a day, a bounded batch per
//! transaction, so the flash does not fill and orders keep flowing.

use crate::error::Result;
use crate::live::Data;
use crate::store::{clients, orders};
use crate::venue::settings::Venue;
use rusqlite::Connection;
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;
/// Rows one transaction deletes: short enough not to hold up orders.
const BATCH: i64 = 500;
/// Batches of each kind one daily run deletes at most; what is left goes
/// the next day.
const MAX_BATCHES: usize = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub clients: usize,
    pub orders: usize,
}

/// One batch of each kind at `now`, as `venue` says.
pub fn apply_batch(conn: &Connection, venue: &Venue, now: i64, batch: i64) -> Result<Deleted> {
    let clients =
        clients::delete_stale(conn, now - venue.client_retention_days * DAY_MS, now, batch)?;
    let orders = match venue.order_retention_days {
        0 => 0,
        days => orders::delete_finished_before(conn, now - days * DAY_MS, batch)?,
    };
    Ok(Deleted { clients, orders })
}

/// One daily run: batches until nothing is left or the run's bound.
pub async fn run(data: &Data, venue: &Venue) -> Result<Deleted> {
    let mut total = Deleted::default();
    for _ in 0..MAX_BATCHES {
        let venue = venue.clone();
        let now = crate::support::time::now_ms();
        let done = data
            .db
            .write(move |tx| apply_batch(tx, &venue, now, BATCH))
            .await?;
        total.clients += done.clients;
        total.orders += done.orders;
        if (done.clients as i64) < BATCH && (done.orders as i64) < BATCH {
            break;
        }
    }
    Ok(total)
}

/// Applies retention a minute after start and then every day.
pub async fn follow(data: Data, venue: impl Fn() -> Venue) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::time::sleep(wait).await;
        wait = Duration::from_secs(24 * 3600);
        match run(&data, &venue()).await {
            Ok(Deleted {
                clients: 0,
                orders: 0,
            }) => {}
            Ok(done) => log::info!(
                "retention: {} Wi-Fi client records and {} finished orders deleted",
                done.clients,
                done.orders
            ),
            Err(e) => log::warn!("retention: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn seed(conn: &Connection, now: i64) {
        conn.execute_batch(
            "INSERT INTO users (id, email, name, role, password_hash, created_at)
               VALUES (1, 'k@x', 'K', 'shopkeeper', 'x', 0);
             INSERT INTO shops (id, owner_user_id, name, status, created_at) VALUES (1, 1, 'S', 'approved', 0);
             INSERT INTO menu_items (id, shop_id, name, price_cents, created_at, updated_at)
               VALUES (1, 1, 'Tea', 100, 0, 0);",
        )
        .unwrap();
        // (id, days ago, status)
        for (id, days, status) in [
            (1, 40, "completed"),
            (2, 40, "cancelled"),
            (3, 40, "ready"),
            (4, 5, "completed"),
        ] {
            let at = now - days * DAY_MS;
            conn.execute(
                "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name, status,
                   version, pickup_code, total_cents, created_at, updated_at)
                 VALUES (?1, 1, ?2, 'h', 'C', ?3, 1, 'A1', 100, ?4, ?4)",
                params![id, format!("ref-{id}"), status, at],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO order_items (id, order_id, item_id, name, unit_price_cents, qty, line_total_cents)
                 VALUES (?1, ?1, 1, 'Tea', 100, 1, 100)",
                [id],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO order_events (order_id, to_status, actor_role, created_at) VALUES (?1, 'placed', 'customer', ?2)",
                params![id, at],
            )
            .unwrap();
        }
        // (ip, days since last seen, acceptance ends in days)
        for (ip, seen, expires) in [
            ("10.0.0.1", 40, None),
            ("10.0.0.2", 40, Some(1)),
            ("10.0.0.3", 40, Some(-1)),
            ("10.0.0.4", 2, None),
        ] {
            conn.execute(
                "INSERT INTO clients (ip, first_seen, last_seen, expires_at) VALUES (?1, 0, ?2, ?3)",
                params![ip, now - seen * DAY_MS, expires.map(|d: i64| now + d * DAY_MS)],
            )
            .unwrap();
        }
    }

    fn ids(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn only_old_finished_orders_and_stale_clients_go() {
        let conn = crate::db::test_connection();
        let now = 1_720_000_000_000;
        seed(&conn, now);
        let forever = Venue::default();
        assert_eq!(
            apply_batch(&conn, &forever, now, 100).unwrap(),
            Deleted {
                clients: 2,
                orders: 0
            }
        );
        assert_eq!(
            ids(&conn, "SELECT ip FROM clients ORDER BY ip"),
            ["10.0.0.2", "10.0.0.4"]
        );
        assert_eq!(ids(&conn, "SELECT count(*) || '' FROM orders"), ["4"]);

        let month = Venue {
            order_retention_days: 30,
            ..Venue::default()
        };
        assert_eq!(apply_batch(&conn, &month, now, 1).unwrap().orders, 1);
        assert_eq!(apply_batch(&conn, &month, now, 100).unwrap().orders, 1);
        assert_eq!(apply_batch(&conn, &month, now, 100).unwrap().orders, 0);
        assert_eq!(
            ids(&conn, "SELECT id || status FROM orders ORDER BY id"),
            ["3ready", "4completed"]
        );
        assert_eq!(
            ids(&conn, "SELECT group_concat(order_id) FROM order_items"),
            ["3,4"]
        );
        assert_eq!(
            ids(&conn, "SELECT group_concat(order_id) FROM order_events"),
            ["3,4"]
        );
    }
}
