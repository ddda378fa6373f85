//! Checkout: a cart of any number of shops becomes one order per shop, each
//! with its own pickup code, in one transaction. If any line cannot be
//! ordered nothing is, and the answer names every line at fault. After that
//! each order lives on its own. Also the estimated ready time of an order,
//! and pickup slots: an order for later reaches the kitchen board at its
//! slot less its preparation minutes.

use crate::error::{Code, Error, Result};
use crate::live::{Answer, Built, Changes, Data, Topic};
use crate::ordering::catalog;
use crate::ordering::menu::{self, MINUTES_PER_DAY};
use crate::ordering::orders::{
    self, check_stock, insert_order, load_view, merge_lines, open_shop, order_token, price_lines,
    validate_request, LineRequest, LineView, OrderRequest, OrderSummary, Placement, ShopOrder,
    Status,
};
use crate::ordering::payments::Payments;
use crate::ordering::promos;
use crate::store::orders::{self as rows, ActorRole, NewEvent, OrderRow};
use crate::store::{items, shops};
use crate::support::crypto;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::{json_object, JsonOut, Pairs, Sorted, ToJson};
use crate::support::json_read::Json;
use rusqlite::Connection;
use std::time::Duration;

const MINUTE_MS: i64 = 60_000;
/// Pickup slots are 15 minutes long and start on the quarter hour.
pub const SLOT_MS: i64 = 15 * MINUTE_MS;
/// Orders a kitchen works on at once, for the estimate: each order ahead
/// adds its slowest item's minutes divided by this.
pub const KITCHEN_PARALLEL: i64 = 2;
/// Orders ahead looked at for an estimate (a shop's open orders are
/// bounded by the owner's limit anyway).
const MAX_AHEAD: i64 = 300;
/// Scheduled orders released onto boards per minute tick.
const MAX_RELEASES: i64 = 500;
/// What a release's event says: the board shows the order from now on.
pub const RELEASE_REASON: &str = "scheduled";

/// What a customer sends: a cart's lines (the handler reads the cart) or
/// lines of its own, the name, a note, a fresh `client_ref`, a pickup
/// slot (`null`: as soon as possible), a promo code per shop id, and the
/// table's code and secret from its link.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub cart_id: Option<i64>,
    pub cart_token: Option<String>,
    pub lines: Vec<LineRequest>,
    pub customer_name: String,
    pub note: String,
    pub client_ref: String,
    pub pickup_at: Option<i64>,
    /// Shop id (as text, a JSON object's key) and code, in key order.
    pub promo_codes: Vec<(String, String)>,
    pub table: Option<String>,
    pub table_secret: Option<String>,
    /// The table the orders are placed at (id, name), once the handler has
    /// checked the link's secret.
    pub at_table: Option<(i64, String)>,
}

impl FromFields for CheckoutRequest {
    fn from_fields(f: &Fields) -> Result<CheckoutRequest> {
        let promo_codes = match f.value("promo_codes") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(codes)) => codes
                .into_members()
                .into_iter()
                .map(|(shop, code)| match code {
                    Json::Text(code) => Ok((shop, code)),
                    _ => Err(f.bad("promo_codes", "expected a code per shop")),
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(f.bad("promo_codes", "expected a code per shop")),
        };
        f.done(CheckoutRequest {
            cart_id: f.int("cart_id"),
            cart_token: f.text("cart_token"),
            lines: orders::lines_of(f, "lines"),
            customer_name: f.text_or_empty("customer_name"),
            note: f.text_or_empty("note"),
            client_ref: f.required_text("client_ref"),
            pickup_at: f.int("pickup_at"),
            promo_codes,
            table: f.text("table"),
            table_secret: f.text("table_secret"),
            at_table: None,
        })
    }
}

/// A promo code a checkout cannot use: nothing was ordered or claimed.
#[derive(Debug)]
pub struct PromoFault {
    pub shop_id: i64,
    pub shop_name: String,
    pub code: String,
    pub error: Error,
}

/// A line that cannot be ordered: its place in the request and why.
#[derive(Debug)]
pub struct Fault {
    pub line: usize,
    pub item_id: i64,
    pub shop_id: Option<i64>,
    pub error: Error,
}

/// An order of a checkout as its customer follows it.
#[derive(Debug)]
pub struct CheckoutOrder {
    pub order: OrderSummary,
    /// When it should be ready (UTC ms); null once ready or finished.
    pub eta: Option<i64>,
    pub items: Vec<LineView>,
    pub payments: Payments,
}
json_object!(CheckoutOrder: ..order, eta, items, payments);

#[derive(Debug)]
pub struct CheckoutView {
    pub id: i64,
    pub version: i64,
    pub created_at: i64,
    pub orders: Vec<CheckoutOrder>,
    pub total_cents: i64,
    /// How many orders are ready to collect ("2 of 3 ready").
    pub ready: usize,
    /// Orders not cancelled.
    pub active: usize,
}
json_object!(CheckoutView: id, version, created_at, orders, total_cents, ready, active);

/// A checkout placed (or found again for a replayed `client_ref`).
#[derive(Debug)]
pub struct CheckedOut {
    pub view: CheckoutView,
    pub token: String,
    pub created: bool,
}

#[derive(Debug)]
pub enum Outcome {
    Done(CheckedOut),
    /// Nothing was ordered.
    Refused(Vec<Fault>),
    /// A shop's promo code was refused: nothing was ordered.
    PromoRefused(PromoFault),
}

/// When an order should be ready: from `start` (placed, or its release
/// for a slot), its slowest item's minutes (at least 1), and the orders
/// ahead of it in its shop's queue sharing the kitchen; never before `now`.
pub fn estimate_ready(start: i64, now: i64, own_minutes: i64, ahead_minutes: &[i64]) -> i64 {
    let queue_ms: i64 = ahead_minutes.iter().map(|m| m * MINUTE_MS).sum::<i64>();
    let queue_ms = (queue_ms + KITCHEN_PARALLEL - 1) / KITCHEN_PARALLEL;
    (start + own_minutes.max(1) * MINUTE_MS + queue_ms).max(now)
}

/// When an order for the slot starting `pickup_at` reaches the board (0:
/// at once). The slot starts on a quarter hour, later today (the venue's
/// day, `minute` its minutes after midnight at `now`), within the shop's
/// `hours` if it has any, and leaves the kitchen its `prep_minutes`.
pub fn slot_release(
    pickup_at: i64,
    now: i64,
    minute: i64,
    hours: Option<(i64, i64)>,
    prep_minutes: i64,
) -> Result<i64> {
    let bad = || Error::bad(Code::CheckoutBadSlot);
    if pickup_at.rem_euclid(SLOT_MS) != 0 || pickup_at <= now {
        return Err(bad());
    }
    let slot_minute = minute + (pickup_at - (now - now.rem_euclid(MINUTE_MS))) / MINUTE_MS;
    if slot_minute >= MINUTES_PER_DAY {
        return Err(bad());
    }
    let release = pickup_at - prep_minutes * MINUTE_MS;
    if release < now - now.rem_euclid(MINUTE_MS) - MINUTE_MS {
        return Err(Error::conflict(Code::CheckoutSlotTooSoon)
            .with("minutes", prep_minutes)
            .with("slot", menu::clock_text(slot_minute)));
    }
    if let Some(hours) = hours.filter(|h| !menu::in_window(*h, slot_minute)) {
        return Err(Error::conflict(Code::CheckoutSlotClosed)
            .with("from", menu::clock_text(hours.0))
            .with("until", menu::clock_text(hours.1)));
    }
    Ok(if release <= now { 0 } else { release })
}

/// What a checkout asked for, so a replayed `client_ref` can be compared.
fn request_hash(
    valid: &orders::ValidOrder,
    req: &CheckoutRequest,
    codes: &[(i64, String)],
) -> String {
    // The object a map by shop id serialised to: keys as text (`Sorted`
    // puts them in text order).
    let codes: Vec<(String, &str)> = codes
        .iter()
        .map(|(shop, code)| (shop.to_string(), code.as_str()))
        .collect();
    let codes = Pairs(&codes);
    let canonical: [&dyn ToJson; 7] = [
        &"checkout",
        &valid.lines,
        &valid.customer_name,
        &valid.note,
        &req.pickup_at,
        &codes,
        &req.at_table.as_ref().map(|t| t.0),
    ];
    // Sorted as the `serde_json::Value` that stored hashes were taken of.
    crypto::hex(&crypto::sha256(&JsonOut::write(&Sorted(&canonical))))
}

/// What one shop's part of a checkout asks, once every line passed.
struct ShopPart {
    shop_id: i64,
    lines: Vec<crate::store::orders::LineRow>,
    release_at: i64,
}

/// Places a checkout in the caller's transaction: one order per shop, all
/// or none. `lines` are the request's (or its cart's) lines.
pub fn check_out(
    tx: &Connection,
    req: &CheckoutRequest,
    lines: &[LineRequest],
    who: &Placement,
    now: i64,
) -> Result<Outcome> {
    // The shape of the whole request, checked like an order's.
    let valid = validate_request(&OrderRequest {
        shop_id: 0,
        items: lines.to_vec(),
        customer_name: req.customer_name.clone(),
        note: req.note.clone(),
        client_ref: req.client_ref.clone(),
    })?;
    let codes = promo_codes(req)?;
    let hash = request_hash(&valid, req, &codes);
    if let Some(existing) = rows::checkout_by_client_ref(tx, &req.client_ref)? {
        let token = who.holder.token().filter(|token| {
            crypto::constant_time_eq(
                existing.customer_token_hash.as_bytes(),
                crypto::token_hash(token).as_bytes(),
            ) && existing.request_hash == hash
        });
        let Some(token) = token else {
            return Err(Error::conflict(Code::OrderClientRefUsed));
        };
        return Ok(Outcome::Done(CheckedOut {
            view: load_checkout(tx, existing.id, now)?,
            token: token.to_string(),
            created: false,
        }));
    }
    let mut faults = Vec::new();
    // (shop id, line index) of the lines that passed, sorted into shops.
    let mut passed: Vec<(i64, usize)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let fault = |error: Error, shop_id| Fault {
            line: index,
            item_id: line.item_id,
            shop_id,
            error,
        };
        let Some(item) = items::by_id(tx, line.item_id)? else {
            faults.push(fault(
                Error::bad(Code::OrderUnknownItem).with("item", line.item_id),
                None,
            ));
            continue;
        };
        let shop_id = Some(item.shop_id);
        let open =
            open_shop(tx, item.shop_id, &who.zone_rule, now).and_then(|shop| match req.pickup_at {
                None => orders::within_hours(tx, &shop, who.minute_of_day),
                Some(_) => Ok(()),
            });
        if let Err(error) = open {
            faults.push(fault(error, shop_id));
            continue;
        }
        let one = merge_lines(std::slice::from_ref(line))?;
        if let Err(error) = price_lines(tx, item.shop_id, &one, who.minute_of_day) {
            faults.push(fault(error, shop_id));
            continue;
        }
        passed.push((item.shop_id, index));
    }
    passed.sort_unstable();
    let by_shop: Vec<(i64, Vec<usize>)> = passed
        .chunk_by(|a, b| a.0 == b.0)
        .map(|shop| (shop[0].0, shop.iter().map(|p| p.1).collect()))
        .collect();
    let mut wanted = Vec::new();
    for (_, indexes) in &by_shop {
        let mine: Vec<LineRequest> = indexes.iter().map(|i| lines[*i].clone()).collect();
        wanted.push(merge_lines(&mine)?);
    }
    let mut parts = Vec::new();
    for ((shop_id, indexes), wanted) in by_shop.iter().zip(&wanted) {
        let shop_faults = |error: &Error, only: &[usize]| -> Vec<Fault> {
            only.iter()
                .map(|i| Fault {
                    line: *i,
                    item_id: lines[*i].item_id,
                    shop_id: Some(*shop_id),
                    error: error.clone(),
                })
                .collect()
        };
        let priced = price_lines(tx, *shop_id, wanted, who.minute_of_day)?;
        if let Err(error) = check_stock(tx, &priced) {
            // The lines short alone, else every line of the shop together.
            let mut short = Vec::new();
            for i in indexes {
                let one = merge_lines(std::slice::from_ref(&lines[*i]))?;
                let alone = price_lines(tx, *shop_id, &one, who.minute_of_day)?;
                if let Err(e) = check_stock(tx, &alone) {
                    short.extend(shop_faults(&e, &[*i]));
                }
            }
            if short.is_empty() {
                short = shop_faults(&error, indexes);
            }
            faults.extend(short);
            continue;
        }
        let release_at = match req.pickup_at {
            None => Ok(0),
            Some(pickup_at) => slot_for(tx, *shop_id, &priced, pickup_at, who, now),
        };
        match release_at {
            Ok(release_at) => parts.push(ShopPart {
                shop_id: *shop_id,
                lines: priced,
                release_at,
            }),
            Err(error) => faults.extend(shop_faults(&error, indexes)),
        }
    }
    if !faults.is_empty() {
        // A line has one fault at most.
        faults.sort_unstable_by_key(|f| f.line);
        return Ok(Outcome::Refused(faults));
    }
    if let Some(fault) = promo_fault(tx, &parts, &codes, now)? {
        return Ok(Outcome::PromoRefused(fault));
    }
    let token = order_token(tx, &who.holder, now)?;
    let checkout_id =
        rows::insert_checkout(tx, &req.client_ref, &crypto::token_hash(&token), &hash, now)?;
    for part in &parts {
        // Each order keeps a reference of its own: core placement's
        // references have no '/', so none can clash with these.
        let client_ref = format!("{}/{}", req.client_ref, part.shop_id);
        // Checked above in this same transaction: claiming cannot fail now.
        let discount = match codes.iter().find(|(shop, _)| *shop == part.shop_id) {
            Some((_, code)) => {
                let subtotal = orders::total_cents(&part.lines);
                let cents = promos::apply(tx, part.shop_id, code, subtotal, now)?;
                Some((code.trim().to_ascii_uppercase(), cents))
            }
            None => None,
        };
        let new = ShopOrder {
            shop_id: part.shop_id,
            client_ref: &client_ref,
            request_hash: &hash,
            customer_name: &valid.customer_name,
            note: &valid.note,
            checkout_id: Some(checkout_id),
            pickup_at: req.pickup_at,
            release_at: part.release_at,
            discount: discount
                .as_ref()
                .map(|(code, cents)| (code.as_str(), *cents)),
            table: req.at_table.as_ref().map(|(id, name)| (*id, name.as_str())),
        };
        insert_order(tx, &new, &part.lines, &token, who, now)?;
    }
    Ok(Outcome::Done(CheckedOut {
        view: load_checkout(tx, checkout_id, now)?,
        token,
        created: true,
    }))
}

/// The promo codes asked for, by shop id: at most one per shop, and no
/// more than a checkout can have shops; sorted by shop id. Of two keys
/// naming one shop (" 2" and "2") the later in text order wins.
fn promo_codes(req: &CheckoutRequest) -> Result<Vec<(i64, String)>> {
    let bad = || Error::bad(Code::RequestBadJson).with("detail", "promo_codes");
    if req.promo_codes.len() > orders::MAX_LINES {
        return Err(bad());
    }
    let mut codes: Vec<(i64, String)> = Vec::new();
    for (shop, code) in &req.promo_codes {
        if code.trim().is_empty() {
            continue;
        }
        let shop: i64 = shop.trim().parse().map_err(|_| bad())?;
        match codes.iter_mut().find(|(known, _)| *known == shop) {
            Some(known) => known.1 = code.clone(),
            None => codes.push((shop, code.clone())),
        }
    }
    codes.sort_unstable_by_key(|(shop, _)| *shop);
    Ok(codes)
}

/// The first promo code of the checkout that cannot be used, looked at
/// before any is claimed: each shop's on its own subtotal at `now`, and a
/// code for a shop with nothing in the checkout.
fn promo_fault(
    tx: &Connection,
    parts: &[ShopPart],
    codes: &[(i64, String)],
    now: i64,
) -> Result<Option<PromoFault>> {
    for &(shop_id, ref code) in codes {
        let part = parts.iter().find(|p| p.shop_id == shop_id);
        let checked = match part {
            Some(part) => promos::find(tx, shop_id, code).and_then(|row| {
                promos::promo_discount(&row, orders::total_cents(&part.lines), now)
            }),
            None => Err(Error::conflict(Code::CheckoutPromoElsewhere).with("code", code.trim())),
        };
        if let Err(error) = checked {
            let shop_name = shops::by_id(tx, shop_id)?.map_or_else(String::new, |s| s.name);
            return Ok(Some(PromoFault {
                shop_id,
                shop_name,
                code: code.trim().to_ascii_uppercase(),
                error,
            }));
        }
    }
    Ok(None)
}

/// When a shop's part of an order for `pickup_at` reaches the board, if the
/// slot is one the shop offers and has room in.
fn slot_for(
    conn: &Connection,
    shop_id: i64,
    lines: &[crate::store::orders::LineRow],
    pickup_at: i64,
    who: &Placement,
    now: i64,
) -> Result<i64> {
    let slots = shops::slots(conn, shop_id)?;
    let ids: Vec<i64> = lines.iter().map(|l| l.item_id).collect();
    let mut prep = 0;
    for id in ids {
        prep = prep.max(items::by_id(conn, id)?.map_or(0, |i| i.fields.prep_minutes));
    }
    let release = slot_release(pickup_at, now, who.minute_of_day, slots.hours, prep)?;
    if slots.cap > 0 && rows::count_in_slot(conn, shop_id, pickup_at)? >= slots.cap {
        return Err(Error::conflict(Code::CheckoutSlotFull).with("max", slots.cap));
    }
    Ok(release)
}

/// An order's estimated ready time at `now` (None once ready or finished).
pub fn order_eta(conn: &Connection, order: &OrderRow, now: i64) -> Result<Option<i64>> {
    if !matches!(
        order.status,
        Status::Placed | Status::Accepted | Status::Preparing
    ) {
        return Ok(None);
    }
    let own = rows::slowest_prep_minutes(conn, &[order.id])?
        .first()
        .map_or(0, |(_, m)| *m);
    let ahead_ids = rows::ahead_of(conn, order.shop_id, order.id, now, MAX_AHEAD)?;
    let ahead: Vec<i64> = rows::slowest_prep_minutes(conn, &ahead_ids)?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let start = match order.pickup_at {
        Some(slot) => slot - own.max(1) * MINUTE_MS,
        None => order.created_at,
    };
    Ok(Some(estimate_ready(start, now, own, &ahead)))
}

/// The checkout's version: the latest change among its shops' orders, so
/// an order ahead moving (and with it an estimate) is a new version too.
fn checkout_version(conn: &Connection, orders: &[OrderRow]) -> Result<i64> {
    let mut version = 0;
    for order in orders {
        version = version.max(rows::shop_version(conn, order.shop_id)?);
    }
    Ok(version)
}

pub fn load_checkout(conn: &Connection, checkout_id: i64, now: i64) -> Result<CheckoutView> {
    let head = rows::checkout_by_id(conn, checkout_id)?
        .ok_or_else(|| Error::not_found(Code::CheckoutNotFound))?;
    let rows = rows::of_checkout(conn, checkout_id)?;
    let version = checkout_version(conn, &rows)?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in rows {
        let eta = order_eta(conn, &row, now)?;
        let view = load_view(conn, row)?;
        orders.push(CheckoutOrder {
            order: view.order,
            eta,
            items: view.items,
            payments: view.payments,
        });
    }
    let live = || {
        orders
            .iter()
            .filter(|o| o.order.status != Status::Cancelled)
    };
    Ok(CheckoutView {
        id: head.id,
        version,
        created_at: head.created_at,
        total_cents: live().map(|o| o.order.total_cents).sum(),
        ready: live()
            .filter(|o| matches!(o.order.status, Status::Ready | Status::Completed))
            .count(),
        active: live().count(),
        orders,
    })
}

/// The checkout if `token_hash` placed it; others get "not found".
pub fn visible_checkout(conn: &Connection, checkout_id: i64, token_hash: &str) -> Result<Vec<i64>> {
    let head = rows::checkout_by_id(conn, checkout_id)?
        .filter(|c| {
            crypto::constant_time_eq(c.customer_token_hash.as_bytes(), token_hash.as_bytes())
        })
        .ok_or_else(|| Error::not_found(Code::CheckoutNotFound))?;
    let mut shops: Vec<i64> = rows::of_checkout(conn, head.id)?
        .iter()
        .map(|o| o.shop_id)
        .collect();
    shops.dedup();
    Ok(shops)
}

/// Puts scheduled orders whose moment has come by `now` on their shop's
/// board: an event moves the shop's version, so boards held open answer.
pub fn release_due(conn: &Connection, changes: &mut Changes, now: i64) -> Result<Vec<i64>> {
    let mut shops = Vec::new();
    for (order_id, shop_id, status) in rows::due_releases(conn, now, MAX_RELEASES)? {
        rows::mark_released(conn, order_id)?;
        if matches!(status, Status::Completed | Status::Cancelled) {
            continue;
        }
        rows::record_event(
            conn,
            &NewEvent {
                order_id,
                from: Some(status),
                to: status,
                actor_role: ActorRole::Customer,
                actor_user_id: None,
                reason: RELEASE_REASON,
                now,
            },
        )?;
        changes.add(Topic::Order(order_id));
        changes.add(Topic::ShopOrders(shop_id));
        if !shops.contains(&shop_id) {
            shops.push(shop_id);
        }
    }
    Ok(shops)
}

/// The most orders a slot may be capped at.
pub const MAX_SLOT_CAP: i64 = 1_000;

/// A keeper's pickup-slot settings: hours as two `HH:MM` (both or neither)
/// and a cap per slot (0: none).
#[derive(Debug)]
pub struct SlotsRequest {
    pub opens: Option<String>,
    pub closes: Option<String>,
    pub slot_cap: i64,
}

impl FromFields for SlotsRequest {
    fn from_fields(f: &Fields) -> Result<SlotsRequest> {
        f.done(SlotsRequest {
            opens: f.text("opens"),
            closes: f.text("closes"),
            slot_cap: f.int("slot_cap").unwrap_or(0),
        })
    }
}

pub fn slots_of(req: &SlotsRequest) -> Result<shops::Slots> {
    let bad = || Error::bad(Code::ShopBadSlots);
    let hours = match (&req.opens, &req.closes) {
        (None, None) => None,
        (Some(opens), Some(closes)) => {
            let from = menu::parse_clock(opens).map_err(|_| bad())?;
            let until = menu::parse_clock(closes).map_err(|_| bad())?;
            Some(menu::check_window(from, until).map_err(|_| bad())?)
        }
        _ => return Err(bad()),
    };
    if !(0..=MAX_SLOT_CAP).contains(&req.slot_cap) {
        return Err(bad());
    }
    Ok(shops::Slots {
        hours,
        cap: req.slot_cap,
    })
}

// ---- Use cases ----

pub async fn set_slots(data: &Data, shop_id: i64, slots: shops::Slots) -> Result<()> {
    data.write(move |tx, _| Ok(shops::set_slots(tx, shop_id, slots)?))
        .await
}

pub async fn place_checkout(
    data: &Data,
    req: CheckoutRequest,
    lines: Vec<LineRequest>,
    who: Placement,
) -> Result<Outcome> {
    let now = crate::support::time::now_ms();
    let outcome = data
        .write(move |tx, changes| {
            let outcome = check_out(tx, &req, &lines, &who, now)?;
            if let Outcome::Done(done) = &outcome {
                if done.created {
                    for order in &done.view.orders {
                        changes.add(Topic::Order(order.order.id));
                        changes.add(Topic::ShopOrders(order.order.shop_id));
                        // Stock counts may have moved.
                        catalog::menu_changed(tx, changes, order.order.shop_id)?;
                    }
                }
            }
            Ok(outcome)
        })
        .await?;
    if let Outcome::Done(done) = &outcome {
        if done.created {
            log::info!(
                "checkout {} placed: {} orders, {} cents",
                done.view.id,
                done.view.orders.len(),
                done.view.total_cents
            );
        }
    }
    Ok(outcome)
}

/// The checkout's JSON once its version is above `since`, waiting up to
/// `wait`: any change to its shops' orders wakes it.
pub async fn wait_for_checkout(
    data: &Data,
    checkout_id: i64,
    token_hash: String,
    since: i64,
    wait: Duration,
) -> Result<Answer> {
    let shops = data
        .read(move |c| visible_checkout(c, checkout_id, &token_hash))
        .await?;
    let topics: Vec<Topic> = shops.into_iter().map(Topic::ShopOrders).collect();
    let build = || {
        let now = crate::support::time::now_ms();
        data.read(move |c| {
            let view = load_checkout(c, checkout_id, now)?;
            Ok(Built::json(view.version, &view))
        })
    };
    data.live.answer_any(&topics, since, wait, build).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};
    use crate::ordering::orders::{Holder, OpenOrderLimits};

    const T0: i64 = 1_700_000_100_000 - 1_700_000_100_000 % SLOT_MS;

    #[test]
    fn an_estimate_counts_the_queue_ahead_and_is_never_in_the_past() {
        let placed = T0;
        assert_eq!(
            estimate_ready(placed, placed, 10, &[]),
            placed + 10 * MINUTE_MS
        );
        // Two orders of 8 minutes ahead share the kitchen: 8 more minutes.
        assert_eq!(
            estimate_ready(placed, placed, 10, &[8, 8]),
            placed + 18 * MINUTE_MS
        );
        // As the queue moves on, the estimate comes forward.
        assert_eq!(
            estimate_ready(placed, placed, 10, &[8]),
            placed + 14 * MINUTE_MS
        );
        // An item without preparation time still takes a minute; late is now.
        assert_eq!(estimate_ready(placed, placed, 0, &[]), placed + MINUTE_MS);
        let late = placed + 60 * MINUTE_MS;
        assert_eq!(estimate_ready(placed, late, 10, &[]), late);
    }

    #[test]
    fn a_slot_is_a_quarter_hour_later_today_within_hours_leaving_time_to_cook() {
        // 12:00 at T0.
        let noon = 12 * 60;
        let at = |minutes: i64| T0 + minutes * MINUTE_MS;
        assert_eq!(slot_release(at(60), T0, noon, None, 10), Ok(at(50)));
        // Soon enough that the kitchen starts at once.
        assert_eq!(slot_release(at(15), T0, noon, None, 15), Ok(0));
        for bad in [at(7), T0, at(-15), at(12 * 60)] {
            assert!(
                matches!(
                    slot_release(bad, T0, noon, None, 5).failure(),
                    Err(Failure::BadRequest(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            slot_release(at(15), T0, noon, None, 30).failure(),
            Err(Failure::Conflict(p)) if p.code == Code::CheckoutSlotTooSoon
        ));
        let hours = Some((11 * 60, 14 * 60));
        assert!(slot_release(at(90), T0, noon, hours, 5).is_ok());
        assert!(matches!(
            slot_release(at(120), T0, noon, hours, 5).failure(),
            Err(Failure::Conflict(p)) if p.code == Code::CheckoutSlotClosed
        ));
    }

    fn demo() -> Connection {
        let conn = crate::db::test_connection();
        crate::venue::demo::seed(&conn).unwrap();
        conn
    }

    /// An item of `shop` orderable without options, counts or windows, which
    /// takes `prep` minutes.
    fn plain_item(conn: &Connection, shop: i64, prep: i64) -> i64 {
        let id: i64 = conn
            .query_row(
                "SELECT MIN(id) FROM menu_items m WHERE shop_id = ?1 AND deleted = 0
                   AND available = 1 AND stock IS NULL AND window_from IS NULL
                   AND NOT EXISTS (SELECT 1 FROM item_ingredients WHERE item_id = m.id)
                   AND NOT EXISTS (SELECT 1 FROM item_option_groups l
                       JOIN option_groups g ON g.id = l.group_id
                       WHERE l.item_id = m.id AND g.min_choices > 0)",
                [shop],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE menu_items SET prep_minutes = ?2 WHERE id = ?1",
            [id, prep],
        )
        .unwrap();
        id
    }

    fn who(minute_of_day: i64) -> Placement {
        Placement {
            holder: Holder::Anonymous,
            placed_from: "127.0.0.9".into(),
            limits: OpenOrderLimits {
                per_device: 50,
                per_shop: 1_000,
            },
            minute_of_day,
            zone_rule: crate::support::time::UTC_RULE.into(),
        }
    }

    fn request(client_ref: &str, pickup_at: Option<i64>) -> CheckoutRequest {
        CheckoutRequest {
            cart_id: None,
            cart_token: None,
            lines: Vec::new(),
            customer_name: "Ann".into(),
            note: String::new(),
            client_ref: client_ref.into(),
            pickup_at,
            promo_codes: Vec::new(),
            table: None,
            table_secret: None,
            at_table: None,
        }
    }

    fn lines(items: &[i64]) -> Vec<LineRequest> {
        items
            .iter()
            .map(|&item_id| LineRequest {
                item_id,
                qty: 1,
                ..LineRequest::default()
            })
            .collect()
    }

    fn done(outcome: Outcome) -> CheckedOut {
        match outcome {
            Outcome::Done(done) => done,
            refused => panic!("refused: {refused:?}"),
        }
    }

    fn order_count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_refusal_names_every_faulty_line_and_orders_nothing() {
        let conn = demo();
        let [a, b, c] = [1, 2, 3].map(|shop| plain_item(&conn, shop, 5));
        conn.execute("UPDATE menu_items SET available = 0 WHERE id = ?1", [a])
            .unwrap();
        conn.execute("UPDATE shops SET open = 0 WHERE id = 3", [])
            .unwrap();
        let outcome = check_out(
            &conn,
            &request("ref-0001", None),
            &lines(&[a, b, c]),
            &who(720),
            T0,
        )
        .unwrap();
        let Outcome::Refused(faults) = outcome else {
            panic!("ordered {outcome:?}");
        };
        let named: Vec<_> = faults.iter().map(|f| (f.line, f.error.kind())).collect();
        assert_eq!(named, [(0, Code::ItemSoldOut), (2, Code::ShopClosed)]);
        assert_eq!(order_count(&conn), 0);
    }

    #[test]
    fn one_order_per_shop_each_with_its_code_and_replay_answers_the_first() {
        let conn = demo();
        let [a, b, c] = [1, 2, 3].map(|shop| plain_item(&conn, shop, 5));
        let first = done(
            check_out(
                &conn,
                &request("ref-0001", None),
                &lines(&[a, b, c, a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
        assert!(first.created);
        let shops: Vec<_> = first.view.orders.iter().map(|o| o.order.shop_id).collect();
        assert_eq!(shops, [1, 2, 3]);
        assert_eq!(first.view.orders[0].items[0].qty, 2);
        assert_eq!(
            first.view.total_cents,
            first
                .view
                .orders
                .iter()
                .map(|o| o.order.total_cents)
                .sum::<i64>()
        );
        let again = Placement {
            holder: Holder::Device(first.token.clone()),
            ..who(720)
        };
        let replay = done(
            check_out(
                &conn,
                &request("ref-0001", None),
                &lines(&[a, b, c, a]),
                &again,
                T0 + 5,
            )
            .unwrap(),
        );
        assert!(!replay.created);
        assert_eq!(replay.view.id, first.view.id);
        assert_eq!(order_count(&conn), 3);
        // Anyone else replaying the reference gets nothing of it.
        assert!(check_out(
            &conn,
            &request("ref-0001", None),
            &lines(&[a]),
            &who(720),
            T0
        )
        .is_err());
    }

    #[test]
    fn the_estimate_comes_forward_as_the_queue_moves() {
        let conn = demo();
        let a = plain_item(&conn, 1, 10);
        let first = done(
            check_out(
                &conn,
                &request("ref-0001", None),
                &lines(&[a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
        let second = done(
            check_out(
                &conn,
                &request("ref-0002", None),
                &lines(&[a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
        let eta = |checkout: &CheckedOut| {
            let order = rows::by_id(&conn, checkout.view.orders[0].order.id)
                .unwrap()
                .unwrap();
            order_eta(&conn, &order, T0).unwrap().unwrap()
        };
        assert_eq!(eta(&second), T0 + 15 * MINUTE_MS);
        conn.execute(
            "UPDATE orders SET status = 'ready' WHERE id = ?1",
            [first.view.orders[0].order.id],
        )
        .unwrap();
        assert_eq!(eta(&second), T0 + 10 * MINUTE_MS);
    }

    #[test]
    fn a_scheduled_order_reaches_the_board_at_its_moment_and_slots_are_capped() {
        let conn = demo();
        let a = plain_item(&conn, 1, 20);
        shops::set_slots(
            &conn,
            1,
            shops::Slots {
                hours: None,
                cap: 1,
            },
        )
        .unwrap();
        // 12:00 now; the 13:00 slot, 20 minutes to prepare: on the board at 12:40.
        let slot = T0 + 60 * MINUTE_MS;
        let placed = done(
            check_out(
                &conn,
                &request("ref-0001", Some(slot)),
                &lines(&[a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
        let id = placed.view.orders[0].order.id;
        let on_board = |now| {
            crate::ordering::orders::shop_orders(&conn, 1, 0, now)
                .unwrap()
                .orders
                .iter()
                .any(|o| o.view.order.id == id)
        };
        assert!(!on_board(T0));
        let mut changes = Changes::default();
        assert!(release_due(&conn, &mut changes, T0 + 39 * MINUTE_MS)
            .unwrap()
            .is_empty());
        assert_eq!(
            release_due(&conn, &mut changes, T0 + 40 * MINUTE_MS).unwrap(),
            [1]
        );
        assert!(changes.topics().contains(&Topic::ShopOrders(1)));
        assert!(on_board(T0 + 40 * MINUTE_MS));
        // The slot holds one order; the next one is refused, another slot is not.
        let full = check_out(
            &conn,
            &request("ref-0002", Some(slot)),
            &lines(&[a]),
            &who(720),
            T0,
        )
        .unwrap();
        let Outcome::Refused(faults) = full else {
            panic!("{full:?}");
        };
        assert_eq!(faults[0].error.kind(), Code::CheckoutSlotFull);
        done(
            check_out(
                &conn,
                &request("ref-0003", Some(slot + SLOT_MS)),
                &lines(&[a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
    }

    #[test]
    fn a_scheduled_order_stays_off_the_tv_and_the_counts_until_released() {
        let conn = demo();
        let a = plain_item(&conn, 1, 20);
        let slot = T0 + 60 * MINUTE_MS;
        done(
            check_out(
                &conn,
                &request("ref-0001", Some(slot)),
                &lines(&[a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
        let seen = |now| {
            let tv = crate::ordering::board::now_serving(&conn, Some(1), 60, now).unwrap();
            let counts = crate::ordering::board::all_day(&conn, 1, now).unwrap();
            (tv.preparing.len(), counts.len())
        };
        assert_eq!(seen(T0), (0, 0));
        assert_eq!(seen(T0 + 40 * MINUTE_MS), (1, 1));
        release_due(&conn, &mut Changes::default(), T0 + 40 * MINUTE_MS).unwrap();
        assert_eq!(seen(T0 + 40 * MINUTE_MS), (1, 1));
    }

    #[test]
    fn an_order_for_now_needs_the_shop_within_its_hours() {
        let conn = demo();
        let a = plain_item(&conn, 1, 5);
        let hours = shops::Slots {
            hours: Some((13 * 60, 22 * 60)),
            cap: 0,
        };
        shops::set_slots(&conn, 1, hours).unwrap();
        // 12:00: closed for now, but a 13:30 slot is taken.
        let Outcome::Refused(faults) = check_out(
            &conn,
            &request("ref-0001", None),
            &lines(&[a]),
            &who(720),
            T0,
        )
        .unwrap() else {
            panic!("ordered outside hours");
        };
        assert_eq!(faults[0].error.kind(), Code::ShopOutsideHours);
        assert!(format!("{:?}", faults[0].error).contains("13:00"));
        done(
            check_out(
                &conn,
                &request("ref-0002", Some(T0 + 90 * MINUTE_MS)),
                &lines(&[a]),
                &who(720),
                T0,
            )
            .unwrap(),
        );
        done(
            check_out(
                &conn,
                &request("ref-0003", None),
                &lines(&[a]),
                &who(13 * 60),
                T0 + 60 * MINUTE_MS,
            )
            .unwrap(),
        );
    }

    fn promo(conn: &Connection, shop: i64, code: &str, kind: &str, value: i64, limit: Option<i64>) {
        conn.execute(
            "INSERT INTO promo_codes (shop_id, code, kind, value, min_subtotal_cents, use_limit,
                                      created_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, 0)",
            rusqlite::params![shop, code, kind, value, limit],
        )
        .unwrap();
    }

    #[test]
    fn each_shop_gets_its_own_code_off_its_own_subtotal_and_a_refusal_claims_nothing() {
        let conn = demo();
        let [a, b] = [1, 2].map(|shop| plain_item(&conn, shop, 5));
        // Prices that make a third round: 3.33 off 9.99 and 1.00 fixed.
        conn.execute("UPDATE menu_items SET price_cents = 999 WHERE id = ?1", [a])
            .unwrap();
        conn.execute("UPDATE menu_items SET price_cents = 350 WHERE id = ?1", [b])
            .unwrap();
        promo(&conn, 1, "THIRD", "percent", 33, None);
        promo(&conn, 2, "ONE", "fixed", 100, Some(1));
        let mut req = request("ref-0001", None);
        req.promo_codes = [("1", "third"), ("2", " one ")]
            .map(|(s, c)| (s.to_string(), c.to_string()))
            .into();
        let placed = done(check_out(&conn, &req, &lines(&[a, b]), &who(720), T0).unwrap());
        let got: Vec<_> = placed
            .view
            .orders
            .iter()
            .map(|o| {
                (
                    o.order.promo_code.as_str(),
                    o.order.discount_cents,
                    o.order.total_cents,
                )
            })
            .collect();
        assert_eq!(got, [("THIRD", 330, 669), ("ONE", 100, 250)]);
        assert_eq!(placed.view.total_cents, 669 + 250);
        // ONE is used up now: the whole checkout is refused, THIRD unclaimed.
        req.client_ref = "ref-0002".into();
        let refused = check_out(&conn, &req, &lines(&[a, b]), &who(720), T0).unwrap();
        let Outcome::PromoRefused(fault) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!((fault.shop_id, fault.code.as_str()), (2, "ONE"));
        assert_eq!(fault.error.kind(), Code::PromoUsedUp);
        assert_eq!(order_count(&conn), 2);
        let used: i64 = conn
            .query_row(
                "SELECT used FROM promo_codes WHERE code = 'THIRD'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(used, 1);
        // A code for a shop with nothing in the checkout is refused too.
        req.client_ref = "ref-0003".into();
        req.promo_codes = vec![("2".to_string(), "ONE".to_string())];
        let elsewhere = check_out(&conn, &req, &lines(&[a]), &who(720), T0).unwrap();
        assert!(
            matches!(elsewhere, Outcome::PromoRefused(f) if f.error.kind() == Code::CheckoutPromoElsewhere)
        );
    }
}
