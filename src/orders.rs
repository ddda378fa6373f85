//! Orders: the stage rules, pricing, pickup codes, and the use cases that
//! place an order and move it through its stages. Prices always come from
//! the database; the client only says what and how many.

use crate::app::App;
use crate::crypto;
use crate::error::{Error, Result};
use crate::live::Topic;
use crate::store::items::{self, ItemRow};
use crate::store::orders::{self as rows, EventRow, LineRow, NewEvent, NewOrder, OrderRow};
use crate::store::shops;
use crate::text;
use hyper::body::Bytes;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Placed,
    Accepted,
    Preparing,
    Ready,
    Completed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Placed,
        Status::Accepted,
        Status::Preparing,
        Status::Ready,
        Status::Completed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Placed => "placed",
            Status::Accepted => "accepted",
            Status::Preparing => "preparing",
            Status::Ready => "ready",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The stage a shop moves an order to with one tap.
    pub fn next(self) -> Option<Status> {
        match self {
            Status::Placed => Some(Status::Accepted),
            Status::Accepted => Some(Status::Preparing),
            Status::Preparing => Some(Status::Ready),
            Status::Ready => Some(Status::Completed),
            Status::Completed | Status::Cancelled => None,
        }
    }

    pub fn is_open(self) -> bool {
        !matches!(self, Status::Completed | Status::Cancelled)
    }
}

/// Who asks for a change: decides which moves are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mover {
    Customer,
    Shop,
}

/// The stage rules. `reason` is what the mover gave (may be empty).
pub fn check_move(from: Status, to: Status, mover: Mover, reason: &str) -> Result<()> {
    let allowed = match (mover, to) {
        (Mover::Shop, Status::Cancelled) => {
            matches!(from, Status::Placed | Status::Accepted | Status::Preparing)
        }
        (Mover::Shop, to) => from.next() == Some(to),
        (Mover::Customer, Status::Cancelled) => from == Status::Placed,
        (Mover::Customer, _) => false,
    };
    if !allowed {
        let hint = match (mover, to) {
            (Mover::Customer, Status::Cancelled) => {
                " (a customer can cancel only before the shop accepts it)"
            }
            _ => "",
        };
        return Err(Error::conflict(format!(
            "cannot move order to {}: order is {}{hint}",
            to.as_str(),
            from.as_str()
        )));
    }
    if mover == Mover::Shop && to == Status::Cancelled && reason.trim().is_empty() {
        return Err(Error::bad("a reason is required to cancel an order"));
    }
    Ok(())
}

pub const MAX_LINES: usize = 30;
pub const MAX_QTY: i64 = 50;
pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_NOTE_CHARS: usize = 300;
pub const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, Clone, Deserialize)]
pub struct LineRequest {
    pub item_id: i64,
    pub qty: i64,
}

/// What a customer sends. Anything else in the body (prices, totals) is ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRequest {
    pub shop_id: i64,
    pub items: Vec<LineRequest>,
    #[serde(default)]
    pub customer_name: String,
    #[serde(default)]
    pub note: String,
    pub client_ref: String,
}

/// A request that passed `validate_request`: text cleaned, items merged.
#[derive(Debug, PartialEq, Eq)]
pub struct ValidOrder {
    /// `(item_id, qty)` pairs, one per item.
    pub items: Vec<(i64, i64)>,
    pub customer_name: String,
    pub note: String,
}

/// Checks the request's shape, cleans its text and merges repeated items.
pub fn validate_request(req: &OrderRequest) -> Result<ValidOrder> {
    let customer_name = text::optional_line("customer_name", &req.customer_name, MAX_NAME_CHARS)?;
    if customer_name.is_empty() {
        return Err(Error::bad("please give a name so the shop can call you"));
    }
    let note = text::optional_text("note", &req.note, MAX_NOTE_CHARS)?;
    let client_ref_ok = (8..=64).contains(&req.client_ref.len())
        && req
            .client_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !client_ref_ok {
        return Err(Error::bad(
            "client_ref must be 8 to 64 letters, digits, '-' or '_'",
        ));
    }
    if req.items.is_empty() {
        return Err(Error::bad("the order has no items"));
    }
    if req.items.len() > MAX_LINES {
        return Err(Error::bad(format!(
            "an order can hold at most {MAX_LINES} lines"
        )));
    }
    let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
    for line in &req.items {
        if line.qty <= 0 || line.qty > MAX_QTY {
            return Err(Error::bad(format!(
                "quantity must be between 1 and {MAX_QTY}"
            )));
        }
        *merged.entry(line.item_id).or_default() += line.qty;
    }
    if merged.values().any(|&qty| qty > MAX_QTY) {
        return Err(Error::bad(format!(
            "quantity must be between 1 and {MAX_QTY}"
        )));
    }
    Ok(ValidOrder {
        items: merged.into_iter().collect(),
        customer_name,
        note,
    })
}

/// Order lines priced from the menu; refuses items of other shops and sold-out ones.
pub fn price_lines(shop_id: i64, wanted: &[(i64, i64)], menu: &[ItemRow]) -> Result<Vec<LineRow>> {
    wanted
        .iter()
        .map(|&(item_id, qty)| {
            let item = menu
                .iter()
                .find(|i| i.id == item_id && i.shop_id == shop_id)
                .ok_or_else(|| Error::bad(format!("unknown item {item_id} for this shop")))?;
            if !item.available {
                return Err(Error::conflict(format!("{} is sold out", item.name)));
            }
            Ok(LineRow {
                item_id,
                name: item.name.clone(),
                unit_price_cents: item.price_cents,
                qty,
                line_total_cents: item.price_cents * qty,
            })
        })
        .collect()
}

pub fn total_cents(lines: &[LineRow]) -> i64 {
    lines.iter().map(|l| l.line_total_cents).sum()
}

/// Letters and digits that cannot be misread when called out or shown on a
/// cracked phone screen (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
const PICKUP_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";

/// A three-character code not used by another open order of the shop.
pub fn new_pickup_code(taken: &[String]) -> Result<String> {
    loop {
        let code: String = crypto::random_bytes::<3>()?
            .iter()
            .map(|b| PICKUP_ALPHABET[*b as usize % PICKUP_ALPHABET.len()] as char)
            .collect();
        // 15,625 codes; a shop never has that many open orders.
        if !taken.contains(&code) {
            return Ok(code);
        }
    }
}

/// An order as customers and shops see it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: OrderRow,
    pub items: Vec<LineRow>,
    pub events: Vec<EventRow>,
}

impl OrderView {
    pub fn status(&self) -> Status {
        Status::parse(&self.order.status).unwrap_or(Status::Placed)
    }
}

pub fn load_view(conn: &Connection, order: OrderRow) -> Result<OrderView> {
    Ok(OrderView {
        items: rows::lines(conn, order.id)?,
        events: rows::events(conn, order.id)?,
        order,
    })
}

/// Places an order in one transaction. Returns the order and whether it was
/// created now (false: the same `client_ref` was already placed).
pub fn place(
    tx: &Connection,
    req: &OrderRequest,
    token_hash: &str,
    now: i64,
) -> Result<(OrderView, bool)> {
    let valid = validate_request(req)?;
    if let Some(existing) = rows::by_client_ref(tx, &req.client_ref)? {
        if !crypto::constant_time_eq(
            existing.customer_token_hash.as_bytes(),
            token_hash.as_bytes(),
        ) {
            return Err(Error::conflict(
                "client_ref was already used for another order",
            ));
        }
        return Ok((load_view(tx, existing)?, false));
    }
    let shop = shops::by_id(tx, req.shop_id)?
        .filter(|s| s.status == "approved")
        .ok_or_else(|| Error::not_found("shop"))?;
    if !shop.open {
        return Err(Error::conflict(format!(
            "{} is closed right now",
            shop.name
        )));
    }
    let menu = items::for_shop(tx, shop.id)?;
    let lines = price_lines(shop.id, &valid.items, &menu)?;
    let pickup_code = new_pickup_code(&rows::open_pickup_codes(tx, shop.id)?)?;
    let order_id = rows::insert(
        tx,
        &NewOrder {
            shop_id: shop.id,
            client_ref: &req.client_ref,
            customer_token_hash: token_hash,
            customer_name: &valid.customer_name,
            note: &valid.note,
            status: Status::Placed.as_str(),
            pickup_code: &pickup_code,
            total_cents: total_cents(&lines),
            now,
        },
    )?;
    for line in &lines {
        rows::insert_line(tx, order_id, line)?;
    }
    rows::record_event(
        tx,
        &NewEvent {
            order_id,
            from: None,
            to: Status::Placed.as_str(),
            actor_role: "customer",
            actor_user_id: None,
            reason: "",
            now,
        },
    )?;
    let order = rows::by_id(tx, order_id)?.ok_or_else(|| Error::not_found("order"))?;
    Ok((load_view(tx, order)?, true))
}

/// Who is moving an order, as far as access goes.
#[derive(Clone, Debug)]
pub enum Actor {
    Customer { token_hash: String },
    Shop { shop_id: i64, user_id: i64 },
}

impl Actor {
    fn mover(&self) -> Mover {
        match self {
            Actor::Customer { .. } => Mover::Customer,
            Actor::Shop { .. } => Mover::Shop,
        }
    }

    /// Whether this actor may see the order. Others get "not found" so that
    /// order ids reveal nothing.
    pub fn can_see(&self, order: &OrderRow) -> bool {
        match self {
            Actor::Customer { token_hash } => crypto::constant_time_eq(
                order.customer_token_hash.as_bytes(),
                token_hash.as_bytes(),
            ),
            Actor::Shop { shop_id, .. } => order.shop_id == *shop_id,
        }
    }
}

/// The order if `actor` may see it.
pub fn visible_order(conn: &Connection, id: i64, actor: &Actor) -> Result<OrderRow> {
    rows::by_id(conn, id)?
        .filter(|o| actor.can_see(o))
        .ok_or_else(|| Error::not_found("order"))
}

/// Moves an order to `to`, recording who and why; returns the new order and
/// the shop's change sequence number.
pub fn change_status(
    tx: &Connection,
    order_id: i64,
    to: Status,
    actor: &Actor,
    reason: &str,
    now: i64,
) -> Result<(OrderView, i64)> {
    let reason = text::optional_text("reason", reason, MAX_REASON_CHARS)?;
    let order = visible_order(tx, order_id, actor)?;
    let from = Status::parse(&order.status)
        .ok_or_else(|| Error::Internal(format!("order {order_id} has status {}", order.status)))?;
    check_move(from, to, actor.mover(), &reason)?;
    // The writer transaction is exclusive, so the version cannot have moved.
    if !rows::set_status(tx, order_id, to.as_str(), order.version, now)? {
        return Err(Error::conflict("the order changed meanwhile, try again"));
    }
    let (actor_role, actor_user_id) = match actor {
        Actor::Customer { .. } => ("customer", None),
        Actor::Shop { user_id, .. } => ("shop", Some(*user_id)),
    };
    let seq = rows::record_event(
        tx,
        &NewEvent {
            order_id,
            from: Some(from.as_str()),
            to: to.as_str(),
            actor_role,
            actor_user_id,
            reason: &reason,
            now,
        },
    )?;
    let order = rows::by_id(tx, order_id)?.ok_or_else(|| Error::not_found("order"))?;
    Ok((load_view(tx, order)?, seq))
}

/// A shop's board: open orders and recently finished ones (for recall).
#[derive(Debug, Serialize)]
pub struct ShopOrders {
    pub version: i64,
    pub orders: Vec<OrderView>,
}

/// How long finished orders stay on the board.
const FINISHED_VISIBLE_MS: i64 = 2 * 60 * 60 * 1000;

pub fn shop_orders(conn: &Connection, shop_id: i64, now: i64) -> Result<ShopOrders> {
    let version = rows::shop_version(conn, shop_id)?;
    let orders = rows::for_shop(conn, shop_id, now - FINISHED_VISIBLE_MS)?
        .into_iter()
        .map(|o| load_view(conn, o))
        .collect::<Result<_>>()?;
    Ok(ShopOrders { version, orders })
}

// ---- Use cases: database work off the async threads, then wake waiters ----

pub async fn place_order(
    app: &App,
    req: OrderRequest,
    token_hash: String,
) -> Result<(OrderView, bool)> {
    let now = crate::time::now_ms();
    let (view, created) = app
        .db
        .write(move |tx| place(tx, &req, &token_hash, now))
        .await?;
    if created {
        let order = &view.order;
        app.live
            .publish(Topic::Shop(order.shop_id), order.change_seq, None);
        log::info!(
            "order {} placed at shop {} ({} cents)",
            order.id,
            order.shop_id,
            order.total_cents
        );
    }
    Ok((view, created))
}

pub async fn move_order(
    app: &App,
    order_id: i64,
    to: Status,
    actor: Actor,
    reason: String,
) -> Result<OrderView> {
    let now = crate::time::now_ms();
    let (view, seq) = app
        .db
        .write(move |tx| change_status(tx, order_id, to, &actor, &reason, now))
        .await?;
    // Serialised once here, answered as is to every customer waiting on it.
    let body = to_json(&view)?;
    app.live
        .publish(Topic::Order(order_id), view.order.version, Some(body));
    app.live.publish(Topic::Shop(view.order.shop_id), seq, None);
    Ok(view)
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("serialising: {e}")))
}

/// The order's JSON once its version is above `since`, waiting up to `wait`.
pub async fn wait_for_order(
    app: &App,
    order_id: i64,
    actor: Actor,
    since: i64,
    wait: Duration,
) -> Result<Bytes> {
    let deadline = Instant::now() + wait.min(crate::live::MAX_WAIT);
    let mut subscription = app.live.subscribe(Topic::Order(order_id));
    let read = || {
        let actor = actor.clone();
        app.db
            .read(move |c| load_view(c, visible_order(c, order_id, &actor)?))
    };
    let view = read().await?;
    if view.order.version > since {
        return to_json(&view);
    }
    // Access was checked above; from here on the published snapshot is ours.
    while subscription
        .changed(deadline.saturating_duration_since(Instant::now()))
        .await
    {
        let snapshot = subscription.latest();
        if snapshot.version > since {
            if let Some(body) = snapshot.body {
                return Ok(body);
            }
            break;
        }
    }
    to_json(&read().await?)
}

/// The shop's board once its version is above `since`, waiting up to `wait`.
pub async fn wait_for_shop(
    app: &App,
    shop_id: i64,
    since: i64,
    wait: Duration,
) -> Result<ShopOrders> {
    let deadline = Instant::now() + wait.min(crate::live::MAX_WAIT);
    let mut subscription = app.live.subscribe(Topic::Shop(shop_id));
    loop {
        let current = app
            .db
            .read(move |c| Ok(rows::shop_version(c, shop_id)?))
            .await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if current > since || remaining.is_zero() {
            let now = crate::time::now_ms();
            return app.db.read(move |c| shop_orders(c, shop_id, now)).await;
        }
        subscription.changed(remaining).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(client_ref: &str, items: &[(i64, i64)]) -> OrderRequest {
        OrderRequest {
            shop_id: 1,
            items: items
                .iter()
                .map(|&(item_id, qty)| LineRequest { item_id, qty })
                .collect(),
            customer_name: "Ann".into(),
            note: String::new(),
            client_ref: client_ref.into(),
        }
    }

    fn demo() -> Connection {
        let conn = crate::db::test_connection();
        crate::demo::seed(&conn).unwrap();
        conn
    }

    #[test]
    fn shops_move_one_stage_at_a_time_and_customers_only_cancel_placed() {
        use Status::*;
        for from in Status::ALL {
            for to in Status::ALL {
                let shop_ok = from.next() == Some(to)
                    || (to == Cancelled && matches!(from, Placed | Accepted | Preparing));
                assert_eq!(
                    check_move(from, to, Mover::Shop, "out of stock").is_ok(),
                    shop_ok,
                    "shop {from:?} -> {to:?}"
                );
                let customer_ok = from == Placed && to == Cancelled;
                assert_eq!(
                    check_move(from, to, Mover::Customer, "").is_ok(),
                    customer_ok,
                    "customer {from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn refusals_name_the_current_status_and_shop_cancel_needs_a_reason() {
        let err = check_move(Status::Ready, Status::Accepted, Mover::Shop, "").unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(m) if m.contains("order is ready")),
            "{err:?}"
        );
        assert!(matches!(
            check_move(Status::Placed, Status::Cancelled, Mover::Shop, "  "),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn requests_are_validated_and_repeated_items_merged() {
        assert_eq!(
            validate_request(&request("ref-0001", &[(2, 1), (1, 2), (2, 3)]))
                .unwrap()
                .items,
            vec![(1, 2), (2, 4)]
        );
        for bad in [
            &[][..],
            &[(1, 0)],
            &[(1, -1)],
            &[(1, 51)],
            &[(1, 30), (1, 30)],
        ] {
            assert!(
                validate_request(&request("ref-0001", bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(validate_request(&request("short", &[(1, 1)])).is_err());
        assert!(validate_request(&request("has space!", &[(1, 1)])).is_err());
        let mut nameless = request("ref-0001", &[(1, 1)]);
        nameless.customer_name = "  ".into();
        assert!(validate_request(&nameless).is_err());
    }

    #[test]
    fn placement_prices_from_the_menu_and_is_idempotent() {
        let conn = demo();
        let (order, created) =
            place(&conn, &request("ref-0001", &[(1, 2), (7, 1)]), "tok", 5).unwrap();
        assert!(created);
        assert_eq!(order.order.total_cents, 2 * 950 + 250);
        assert_eq!(order.items[0].name, "Beef noodle soup");
        assert_eq!(order.order.version, 1);
        let (again, created) =
            place(&conn, &request("ref-0001", &[(1, 2), (7, 1)]), "tok", 6).unwrap();
        assert!(!created);
        assert_eq!(again.order.id, order.order.id);
        assert!(matches!(
            place(&conn, &request("ref-0001", &[(1, 1)]), "other", 7),
            Err(Error::Conflict(_))
        ));
        // Item 9 belongs to another shop.
        assert!(matches!(
            place(&conn, &request("ref-0002", &[(9, 1)]), "tok", 8),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn sold_out_items_and_closed_shops_are_refused() {
        let conn = demo();
        conn.execute("UPDATE menu_items SET available = 0 WHERE id = 1", [])
            .unwrap();
        assert!(matches!(
            place(&conn, &request("ref-0003", &[(1, 1)]), "tok", 1),
            Err(Error::Conflict(m)) if m.contains("sold out")
        ));
        conn.execute("UPDATE shops SET open = 0 WHERE id = 1", [])
            .unwrap();
        assert!(matches!(
            place(&conn, &request("ref-0004", &[(2, 1)]), "tok", 1),
            Err(Error::Conflict(m)) if m.contains("closed")
        ));
    }

    #[test]
    fn status_changes_bump_the_version_and_record_who_and_why() {
        let conn = demo();
        let (order, _) = place(&conn, &request("ref-0005", &[(1, 1)]), "tok", 1).unwrap();
        let shop = Actor::Shop {
            shop_id: 1,
            user_id: 2,
        };
        let other_shop = Actor::Shop {
            shop_id: 2,
            user_id: 3,
        };
        let stranger = Actor::Customer {
            token_hash: "nope".into(),
        };
        let id = order.order.id;
        assert!(matches!(
            change_status(&conn, id, Status::Accepted, &other_shop, "", 2),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            change_status(&conn, id, Status::Cancelled, &stranger, "", 2),
            Err(Error::NotFound(_))
        ));
        let (accepted, seq) = change_status(&conn, id, Status::Accepted, &shop, "", 2).unwrap();
        assert_eq!(accepted.order.version, 2);
        assert_eq!(rows::shop_version(&conn, 1).unwrap(), seq);
        let (cancelled, _) =
            change_status(&conn, id, Status::Cancelled, &shop, "out of noodles", 3).unwrap();
        let last = cancelled.events.last().unwrap();
        assert_eq!(
            (last.from.as_deref(), last.to.as_str()),
            (Some("accepted"), "cancelled")
        );
        assert_eq!(last.reason, "out of noodles");
        assert!(last.actor.starts_with("shop"));
        assert_eq!(cancelled.order.version, 3);
    }

    #[test]
    fn pickup_codes_avoid_taken_ones_and_ambiguous_characters() {
        let taken: Vec<String> = vec!["AAA".into()];
        for _ in 0..200 {
            let code = new_pickup_code(&taken).unwrap();
            assert_eq!(code.len(), 3);
            assert_ne!(code, "AAA");
            assert!(code.bytes().all(|b| PICKUP_ALPHABET.contains(&b)));
        }
    }
}
