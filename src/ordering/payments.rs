//! Payments at pickup: how an order was paid (in one or several payments,
//! by the methods its shop takes, with tips) and what was given back. All
//! money is integer cents; every payment and refund is its own row, the
//! order's money events. No card data ever reaches OrderSpot: "card" means
//! the shop's own terminal took it.

use crate::error::{Code, Error, Result};
use crate::live::{Data, Topic};
use crate::ordering::orders::{self, Actor, OrderView, Status, MAX_REASON_CHARS};
use crate::store::payments::{self as rows, Kind, NewPayment, PaymentRow};
use crate::store::shops;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::text;
use rusqlite::Connection;

/// The methods a shop may take; it takes all of them unless its keeper
/// chose fewer.
pub const METHODS: [&str; 3] = ["cash", "card", "upi"];
/// The most one payment, tip or refund may be (100,000.00 in a currency
/// of cents): far above any stall's order, far below overflow.
pub const MAX_CENTS: i64 = 10_000_000;
/// Payments and refunds one order may have: each is a stored row.
pub const MAX_ENTRIES: usize = 20;

/// One payment or refund as the board and the receipt show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub method: String,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub reason: String,
    pub by: String,
    pub at: i64,
}
json_object!(Entry: kind, method, amount_cents, tip_cents, reason, by, at);

/// An order's money: what was paid (without tips), tipped and refunded,
/// what is still due, and each payment and refund.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payments {
    pub paid_cents: i64,
    pub tip_cents: i64,
    pub refunded_cents: i64,
    pub due_cents: i64,
    /// Whether the payments cover the order's total.
    pub paid: bool,
    pub entries: Vec<Entry>,
}
json_object!(Payments: paid_cents, tip_cents, refunded_cents, due_cents, paid, entries);

impl Payments {
    /// What can still be given back: everything taken, tips too, less
    /// what was refunded already.
    pub fn refundable_cents(&self) -> i64 {
        self.paid_cents + self.tip_cents - self.refunded_cents
    }
}

/// Adds up an order's rows against its total.
pub fn summarize(total_cents: i64, rows: Vec<PaymentRow>) -> Payments {
    let mut p = Payments::default();
    for row in rows {
        match row.kind {
            Kind::Payment => {
                p.paid_cents += row.amount_cents;
                p.tip_cents += row.tip_cents;
            }
            Kind::Refund => p.refunded_cents += row.amount_cents,
        }
        p.entries.push(Entry {
            kind: row.kind,
            method: row.method,
            amount_cents: row.amount_cents,
            tip_cents: row.tip_cents,
            reason: row.reason,
            by: row.by,
            at: row.at,
        });
    }
    p.due_cents = (total_cents - p.paid_cents).max(0);
    p.paid = p.paid_cents >= total_cents;
    p
}

/// The methods a shop takes, from its stored setting.
pub fn allowed_methods(stored: &str) -> Vec<&'static str> {
    METHODS
        .into_iter()
        .filter(|m| stored.split(',').any(|s| s.trim() == *m))
        .collect()
}

fn bad_amount() -> Error {
    Error::bad(Code::PaymentBadAmount).with("max", MAX_CENTS)
}

/// A payment of `amount` with `tip` on top: each within bounds, something
/// in all, never more than is still due (the tip is extra).
pub fn check_payment(p: &Payments, amount: i64, tip: i64) -> Result<()> {
    if !(0..=MAX_CENTS).contains(&amount) || !(0..=MAX_CENTS).contains(&tip) || amount + tip == 0 {
        return Err(bad_amount());
    }
    if amount > p.due_cents {
        return Err(Error::conflict(Code::PaymentAboveDue).with_money("due", p.due_cents));
    }
    check_room(p)
}

/// A refund of `amount`: never above what was taken and not yet refunded.
pub fn check_refund(p: &Payments, amount: i64) -> Result<()> {
    if !(1..=MAX_CENTS).contains(&amount) {
        return Err(bad_amount());
    }
    if amount > p.refundable_cents() {
        return Err(Error::conflict(Code::RefundAbovePaid).with_money("paid", p.refundable_cents()));
    }
    check_room(p)
}

fn check_room(p: &Payments) -> Result<()> {
    if p.entries.len() >= MAX_ENTRIES {
        return Err(Error::conflict(Code::PaymentTooMany).with("max", MAX_ENTRIES));
    }
    Ok(())
}

/// A payment at the counter. Without `amount_cents`, what is still due:
/// the board's one-tap "paid by cash".
#[derive(Debug)]
pub struct PaymentRequest {
    pub method: String,
    pub amount_cents: Option<i64>,
    pub tip_cents: i64,
}

impl FromFields for PaymentRequest {
    fn from_fields(f: &Fields) -> Result<PaymentRequest> {
        f.done(PaymentRequest {
            method: f.required_text("method"),
            amount_cents: f.int("amount_cents"),
            tip_cents: f.int("tip_cents").unwrap_or(0),
        })
    }
}

#[derive(Debug)]
pub struct RefundRequest {
    pub amount_cents: i64,
    pub reason: String,
}

impl FromFields for RefundRequest {
    fn from_fields(f: &Fields) -> Result<RefundRequest> {
        f.done(RefundRequest {
            amount_cents: f.required_int("amount_cents"),
            reason: f.text_or_empty("reason"),
        })
    }
}

/// The order's money, for its view.
pub fn of_order(conn: &Connection, order_id: i64, total_cents: i64) -> Result<Payments> {
    Ok(summarize(total_cents, rows::for_order(conn, order_id)?))
}

/// The order as `actor` may see it, with its money.
fn current(tx: &Connection, order_id: i64, actor: &Actor) -> Result<OrderView> {
    let order = orders::visible_order(tx, order_id, actor)?;
    orders::load_view(tx, order)
}

/// Stores a payment or refund and moves the order's version, so its
/// customer's page and its shop's board follow.
fn save(tx: &Connection, new: &NewPayment, actor: &Actor) -> Result<OrderView> {
    rows::insert(tx, new)?;
    rows::touch_order(tx, new.order_id, new.now)?;
    current(tx, new.order_id, actor)
}

/// Records a payment of a shop's order by `user_id`.
pub fn pay(
    tx: &Connection,
    order_id: i64,
    actor: &Actor,
    user_id: i64,
    req: &PaymentRequest,
    now: i64,
) -> Result<OrderView> {
    let view = current(tx, order_id, actor)?;
    if view.order.status == Status::Cancelled {
        return Err(Error::conflict(Code::PaymentOrderCancelled));
    }
    let allowed = allowed_methods(&shops::methods(tx, view.order.shop_id)?);
    let method = allowed
        .iter()
        .copied()
        .find(|m| *m == req.method.trim())
        .ok_or_else(|| {
            Error::bad(Code::PaymentMethodNotTaken)
                .with("method", text::for_log(&req.method))
                .with("methods", allowed.join(", "))
        })?;
    let amount = req.amount_cents.unwrap_or(view.payments.due_cents);
    check_payment(&view.payments, amount, req.tip_cents)?;
    let new = NewPayment {
        order_id,
        kind: Kind::Payment,
        method,
        amount_cents: amount,
        tip_cents: req.tip_cents,
        reason: "",
        user_id,
        now,
    };
    save(tx, &new, actor)
}

/// Records a refund of a shop's order by `user_id`.
pub fn refund(
    tx: &Connection,
    order_id: i64,
    actor: &Actor,
    user_id: i64,
    req: &RefundRequest,
    now: i64,
) -> Result<OrderView> {
    let reason = text::required("reason", &req.reason, MAX_REASON_CHARS)?;
    let view = current(tx, order_id, actor)?;
    check_refund(&view.payments, req.amount_cents)?;
    let new = NewPayment {
        order_id,
        kind: Kind::Refund,
        method: "",
        amount_cents: req.amount_cents,
        tip_cents: 0,
        reason: &reason,
        user_id,
        now,
    };
    save(tx, &new, actor)
}

/// A change to an order's money.
#[derive(Debug)]
pub enum Money {
    Pay(PaymentRequest),
    Refund(RefundRequest),
}

/// Records a payment or refund by the shop `actor` and wakes the order's
/// waiters (its customer's page and its shop's board).
pub async fn record(data: &Data, order_id: i64, actor: Actor, change: Money) -> Result<OrderView> {
    let Actor::Shop { user_id, .. } = actor else {
        return Err(Error::not_found(Code::OrderNotFound));
    };
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| {
        let view = match &change {
            Money::Pay(req) => pay(tx, order_id, &actor, user_id, req, now)?,
            Money::Refund(req) => refund(tx, order_id, &actor, user_id, req, now)?,
        };
        changes.add(Topic::Order(order_id));
        changes.add(Topic::ShopOrders(view.order.shop_id));
        Ok(view)
    })
    .await
}

/// Sets the methods a shop takes: at least one, each one of `METHODS`.
pub fn set_methods(tx: &Connection, shop_id: i64, methods: &[String]) -> Result<Vec<&'static str>> {
    let chosen: Vec<&'static str> = METHODS
        .into_iter()
        .filter(|m| methods.iter().any(|c| c.trim() == *m))
        .collect();
    if chosen.is_empty() || chosen.len() != methods.len() {
        return Err(Error::bad(Code::PaymentMethodNotTaken)
            .with("method", text::for_log(&methods.join(", ")))
            .with("methods", METHODS.join(", ")));
    }
    shops::set_methods(tx, shop_id, &chosen.join(","))?;
    Ok(chosen)
}

/// The methods a shop takes.
pub fn methods_of(conn: &Connection, shop_id: i64) -> Result<Vec<&'static str>> {
    Ok(allowed_methods(&shops::methods(conn, shop_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

    fn row(kind: Kind, method: &str, amount: i64, tip: i64) -> PaymentRow {
        PaymentRow {
            kind,
            method: method.into(),
            amount_cents: amount,
            tip_cents: tip,
            reason: String::new(),
            by: "K".into(),
            at: 1,
        }
    }

    #[test]
    fn split_payments_tips_and_refunds_add_up() {
        let p = summarize(
            1_250,
            vec![
                row(Kind::Payment, "cash", 500, 0),
                row(Kind::Payment, "card", 750, 100),
                row(Kind::Refund, "", 300, 0),
            ],
        );
        assert_eq!(
            (p.paid_cents, p.tip_cents, p.refunded_cents, p.due_cents),
            (1_250, 100, 300, 0)
        );
        assert!(p.paid);
        assert_eq!(p.refundable_cents(), 1_050);
        assert_eq!(p.entries.len(), 3);
        let part = summarize(1_250, vec![row(Kind::Payment, "upi", 1_000, 0)]);
        assert_eq!((part.paid, part.due_cents), (false, 250));
        let nothing = summarize(0, Vec::new());
        assert!(nothing.paid);
    }

    #[test]
    fn payments_stop_at_what_is_due_and_tips_come_on_top() {
        let p = summarize(1_000, vec![row(Kind::Payment, "cash", 400, 0)]);
        assert!(check_payment(&p, 600, 0).is_ok());
        assert!(check_payment(&p, 600, 250).is_ok());
        assert!(check_payment(&p, 0, 250).is_ok(), "a tip alone");
        assert!(matches!(
            check_payment(&p, 601, 0).failure(),
            Err(Failure::Conflict(_))
        ));
        for (amount, tip) in [(0, 0), (-1, 0), (10, -5), (10, MAX_CENTS + 1)] {
            assert!(
                matches!(
                    check_payment(&p, amount, tip).failure(),
                    Err(Failure::BadRequest(_))
                ),
                "{amount} {tip}"
            );
        }
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        let p = summarize(
            1_000,
            vec![
                row(Kind::Payment, "cash", 1_000, 50),
                row(Kind::Refund, "", 600, 0),
            ],
        );
        assert!(check_refund(&p, 450).is_ok());
        assert!(matches!(
            check_refund(&p, 451).failure(),
            Err(Failure::Conflict(_))
        ));
        assert!(matches!(
            check_refund(&p, 0).failure(),
            Err(Failure::BadRequest(_))
        ));
        let unpaid = summarize(1_000, Vec::new());
        assert!(matches!(
            check_refund(&unpaid, 1).failure(),
            Err(Failure::Conflict(_))
        ));
    }

    #[test]
    fn an_order_holds_a_bounded_number_of_payments() {
        let rows = (0..MAX_ENTRIES)
            .map(|_| row(Kind::Payment, "cash", 0, 1))
            .collect();
        let p = summarize(1_000, rows);
        assert!(matches!(
            check_payment(&p, 1, 0).failure(),
            Err(Failure::Conflict(_))
        ));
        assert!(matches!(
            check_refund(&p, 1).failure(),
            Err(Failure::Conflict(_))
        ));
    }

    #[test]
    fn shops_take_the_methods_they_chose() {
        assert_eq!(allowed_methods("cash,card,upi"), METHODS);
        assert_eq!(allowed_methods("upi, cash,bitcoin"), ["cash", "upi"]);
        assert!(allowed_methods("").is_empty());
    }
}
