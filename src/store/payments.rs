//! Payments and refunds of orders: one row each, never changed.

use super::stored_enum;
use super::Result;
use rusqlite::{params, Connection};

stored_enum! {
    /// A row of an order's money: money in, or money back.
    Kind {
        Payment = "payment",
        Refund = "refund",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub kind: Kind,
    /// Empty for refunds.
    pub method: String,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub reason: String,
    /// The name of who recorded it.
    pub by: String,
    pub at: i64,
}

pub struct NewPayment<'a> {
    pub order_id: i64,
    pub kind: Kind,
    pub method: &'a str,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub reason: &'a str,
    pub user_id: i64,
    pub now: i64,
}

pub fn insert(conn: &Connection, p: &NewPayment) -> Result<()> {
    conn.execute(
        "INSERT INTO order_payments
             (order_id, kind, method, amount_cents, tip_cents, reason, user_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            p.order_id,
            p.kind,
            p.method,
            p.amount_cents,
            p.tip_cents,
            p.reason,
            p.user_id,
            p.now
        ],
    )?;
    Ok(())
}

/// An order's payments and refunds in the order they were recorded.
pub fn for_order(conn: &Connection, order_id: i64) -> Result<Vec<PaymentRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.kind, p.method, p.amount_cents, p.tip_cents, p.reason,
                COALESCE(u.name, ''), p.created_at
         FROM order_payments p LEFT JOIN users u ON u.id = p.user_id
         WHERE p.order_id = ?1 ORDER BY p.id",
    )?;
    super::all_rows(&mut stmt, params![order_id], |r| {
        let kind = r.get(0)?;
        let mut c = super::Columns::new(r);
        let row = PaymentRow {
            kind,
            method: c.get(1),
            amount_cents: c.get(2),
            tip_cents: c.get(3),
            reason: c.get(4),
            by: c.get(5),
            at: c.get(6),
        };
        c.done(row)
    })
}

/// Moves the order's version and its shop's board version without a
/// change of stage: its customer's and its shop's long-polls then answer.
/// The board's version is the highest `change_seq`: the order takes the
/// next change number, which later events go above (`next_change_seq`).
pub fn touch_order(conn: &Connection, order_id: i64, now: i64) -> Result<()> {
    let seq = super::orders::next_change_seq(conn, order_id)?;
    conn.execute(
        "UPDATE orders SET version = version + 1, change_seq = ?2, updated_at = ?3 WHERE id = ?1",
        params![order_id, seq, now],
    )?;
    Ok(())
}
