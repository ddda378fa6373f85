//! Orders: the stage rules, pricing, pickup codes, and the use cases that
//! place an order and move it through its stages. Prices always come from
//! the database; the client only says what and how many.

use crate::error::{Code, Error, Failure, Problem, Result};
use crate::live::{Answer, Audience, Built, Data, Topic};
use crate::ordering::board::{self, BoardOrder, WaitingCount};
use crate::ordering::catalog;
use crate::ordering::menu;
use crate::ordering::payments::{self, Payments};
use crate::store::orders::{
    self as rows, ActorRole, EventRow, LineRow, NewEvent, NewOrder, OrderRow, Taken,
};
use crate::store::{ingredients, items, options};
use crate::support::crypto;
use crate::support::fields::{Entry, Fields, FromFields};
use crate::support::json::{json_object, JsonOut, Sorted, ToJson};
use crate::support::text;
use rusqlite::Connection;
use std::time::Duration;

/// The stage words are stored with the rows (`store::orders`); the rules
/// about moving between stages live here.
pub use crate::store::orders::Status;

impl Status {
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
        let code = match (mover, to) {
            (Mover::Customer, Status::Cancelled) => Code::OrderCustomerCancelTooLate,
            _ => Code::OrderInvalidMove,
        };
        return Err(Error::conflict(code)
            .with_key("to", format!("status.{}", to.as_str()))
            .with_key("from", format!("status.{}", from.as_str())));
    }
    if mover == Mover::Shop && to == Status::Cancelled && reason.trim().is_empty() {
        return Err(Error::bad(Code::OrderReasonRequired));
    }
    Ok(())
}

pub const MAX_LINES: usize = 30;
pub const MAX_QTY: i64 = 50;
pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_NOTE_CHARS: usize = 300;
pub const MAX_LINE_NOTE_CHARS: usize = 100;
pub const MAX_REASON_CHARS: usize = 300;

/// One line of an order: `{"item_id": 7, "qty": 2, "options": [12, 15],
/// "note": "no onions", "seen_price_cents": 450}` in JSON (all but the
/// first two optional), `ITEM:QTY[:OPT.OPT…[:SEEN_PRICE]]` in the cart
/// page's form. The seen price is the unit price the customer was shown:
/// if the menu changed since, the order is refused rather than charged
/// differently. Prices the client sends under any other name are ignored.
#[derive(Debug, Clone, Default)]
pub struct LineRequest {
    pub item_id: i64,
    pub qty: i64,
    pub options: Vec<i64>,
    pub note: String,
    pub seen_price_cents: Option<i64>,
}

impl FromFields for LineRequest {
    fn from_fields(f: &Fields) -> Result<LineRequest> {
        f.done(LineRequest {
            item_id: f.required_int("item_id"),
            qty: f.required_int("qty"),
            options: f.ints("options").unwrap_or_default(),
            note: f.text_or_empty("note"),
            seen_price_cents: f.int("seen_price_cents"),
        })
    }
}

impl LineRequest {
    /// Reads the form's `ITEM:QTY[:OPT.OPT…[:SEEN_PRICE]]`.
    pub fn parse(text: &str) -> Result<LineRequest> {
        let bad = || Error::bad(Code::OrderBadLine);
        let mut parts = text.trim().split(':');
        let number = |part: Option<&str>| -> Result<i64> {
            part.ok_or_else(bad)?.trim().parse().map_err(|_| bad())
        };
        let item_id = number(parts.next())?;
        let qty = number(parts.next())?;
        let options = match parts.next() {
            Some(list) => list
                .split('.')
                .filter(|o| !o.is_empty())
                .take(menu::MAX_OPTIONS_PER_LINE + 1)
                .map(|o| o.parse().map_err(|_| bad()))
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let seen_price_cents = parts
            .next()
            .map(|price| price.parse().map_err(|_| bad()))
            .transpose()?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(LineRequest {
            item_id,
            qty,
            options,
            note: String::new(),
            seen_price_cents,
        })
    }

    /// The form's text for this line (its note travels apart).
    pub fn to_text(&self) -> String {
        let options: Vec<String> = self.options.iter().map(i64::to_string).collect();
        let mut text = format!("{}:{}:{}", self.item_id, self.qty, options.join("."));
        if let Some(price) = self.seen_price_cents {
            text += &format!(":{price}");
        }
        text
    }
}

/// The lines under `key` (or `item`, the name a form sends one line under):
/// the cart page's form sends each line as text, JSON as objects.
pub fn lines_of(f: &Fields, key: &str) -> Vec<LineRequest> {
    let (key, lines) = match (f.entries(key), f.entries("item")) {
        (Some(_), Some(_)) => {
            f.fail(f.bad(key, "sent twice, also as `item`"));
            return Vec::new();
        }
        (Some(lines), None) => (key, lines),
        (None, Some(lines)) => ("item", lines),
        (None, None) => return Vec::new(),
    };
    let lines = lines
        .iter()
        .map(|line| match line {
            Entry::Text(text) => LineRequest::parse(text).map_err(|_| f.bad(key, "bad order line")),
            Entry::Object(fields) => LineRequest::from_fields(fields),
        })
        .collect();
    f.keep(lines).unwrap_or_default()
}

/// What a customer sends, as JSON or as the cart page's form. Anything else
/// in the body (totals, names of things) is ignored.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub shop_id: i64,
    /// The form sends one `item` field per line.
    pub items: Vec<LineRequest>,
    pub customer_name: String,
    pub note: String,
    pub client_ref: String,
}

impl FromFields for OrderRequest {
    fn from_fields(f: &Fields) -> Result<OrderRequest> {
        f.done(OrderRequest {
            shop_id: f.required_int("shop_id"),
            items: lines_of(f, "items"),
            customer_name: f.text_or_empty("customer_name"),
            note: f.text_or_empty("note"),
            client_ref: f.required_text("client_ref"),
        })
    }
}

/// A line that passed `merge_lines`: options sorted, note cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedLine {
    pub item_id: i64,
    pub qty: i64,
    pub options: Vec<i64>,
    pub note: String,
    pub seen_price_cents: Option<i64>,
}
json_object!(WantedLine: item_id, qty, options, note);

/// A request that passed `validate_request`: text cleaned, lines merged.
#[derive(Debug, PartialEq, Eq)]
pub struct ValidOrder {
    pub lines: Vec<WantedLine>,
    pub customer_name: String,
    pub note: String,
}

/// Checks the request's shape, cleans its text and merges repeated lines.
pub fn validate_request(req: &OrderRequest) -> Result<ValidOrder> {
    let customer_name = text::optional_line("customer_name", &req.customer_name, MAX_NAME_CHARS)?;
    if customer_name.is_empty() {
        return Err(Error::bad(Code::OrderNameRequired));
    }
    let note = text::optional_text("note", &req.note, MAX_NOTE_CHARS)?;
    let client_ref_ok = (8..=64).contains(&req.client_ref.len())
        && req
            .client_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !client_ref_ok {
        return Err(Error::bad(Code::OrderBadClientRef));
    }
    if req.items.is_empty() {
        return Err(Error::bad(Code::OrderNoItems));
    }
    Ok(ValidOrder {
        lines: merge_lines(&req.items)?,
        customer_name,
        note,
    })
}

/// The lines with the same item, options and note merged (options in any
/// order are the same choice), each quantity within 1..=MAX_QTY and at
/// most MAX_LINES of them: checked where quantities are read, so no total
/// can overflow.
pub fn merge_lines(lines: &[LineRequest]) -> Result<Vec<WantedLine>> {
    let bad_qty = || Error::bad(Code::OrderBadQuantity).with("max", MAX_QTY);
    if lines.len() > MAX_LINES {
        return Err(Error::bad(Code::OrderTooManyLines).with("max", MAX_LINES));
    }
    let mut merged: Vec<WantedLine> = Vec::with_capacity(lines.len());
    for line in lines {
        if !(1..=MAX_QTY).contains(&line.qty) {
            return Err(bad_qty());
        }
        if line.options.len() > menu::MAX_OPTIONS_PER_LINE {
            return Err(
                Error::bad(Code::OrderTooManyOptions).with("max", menu::MAX_OPTIONS_PER_LINE)
            );
        }
        let mut options = line.options.clone();
        options.sort_unstable();
        let note = text::optional_line("note", &line.note, MAX_LINE_NOTE_CHARS)?;
        let same = merged
            .iter_mut()
            .find(|m| m.item_id == line.item_id && m.options == options && m.note == note);
        match same {
            Some(m) => {
                m.qty += line.qty;
                if m.qty > MAX_QTY {
                    return Err(bad_qty());
                }
            }
            None => merged.push(WantedLine {
                item_id: line.item_id,
                qty: line.qty,
                options,
                note,
                seen_price_cents: line.seen_price_cents,
            }),
        }
    }
    // Merged lines differ in item, options or note: no two are equal.
    merged.sort_unstable_by(|a, b| {
        (a.item_id, &a.options, &a.note).cmp(&(b.item_id, &b.options, &b.note))
    });
    Ok(merged)
}

/// Order lines priced from the menu at local time `minute`: refuses items
/// of other shops, sold-out ones, ones outside their time window, bad
/// option choices and prices that changed since the customer saw them.
pub fn price_lines(
    conn: &Connection,
    shop_id: i64,
    wanted: &[WantedLine],
    minute: i64,
) -> Result<Vec<LineRow>> {
    let mut ids: Vec<i64> = wanted.iter().map(|l| l.item_id).collect();
    ids.dedup();
    let found = items::of_shop_by_ids(conn, shop_id, &ids)?;
    let mut priced = Vec::with_capacity(wanted.len());
    for line in wanted {
        let item = found
            .iter()
            .find(|i| i.id == line.item_id)
            .ok_or_else(|| Error::bad(Code::OrderUnknownItem).with("item", line.item_id))?;
        let f = &item.fields;
        if !f.available || f.stock == Some(0) {
            return Err(Error::conflict(Code::ItemSoldOut).with("item", &f.name));
        }
        if let Some(window) = f.window.filter(|w| !menu::in_window(*w, minute)) {
            return Err(Error::conflict(Code::ItemNotNow)
                .with("item", &f.name)
                .with("from", menu::clock_text(window.0)));
        }
        let offered = catalog::offered(conn, item.id)?;
        for id in &line.options {
            let on_offer = offered
                .iter()
                .any(|g| g.options.iter().any(|o| o.id == *id));
            match options::describe(conn, *id)? {
                Some((shop, group, option)) if shop == shop_id && !on_offer => {
                    return Err(Error::conflict(Code::OrderOptionGone)
                        .with("item", &f.name)
                        .with("group", group)
                        .with("option", option));
                }
                _ => {}
            }
        }
        let (options, unit) = menu::choose(&f.name, f.price_cents, &offered, &line.options)?;
        if line.seen_price_cents.is_some_and(|seen| seen != unit) {
            return Err(Error::conflict(Code::OrderPriceChanged)
                .with("item", &f.name)
                .with_money("price", unit));
        }
        priced.push(LineRow {
            item_id: item.id,
            name: f.name.clone(),
            unit_price_cents: unit,
            qty: line.qty,
            line_total_cents: unit * line.qty,
            note: line.note.clone(),
            options,
        });
    }
    Ok(priced)
}

pub fn total_cents(lines: &[LineRow]) -> i64 {
    lines.iter().map(|l| l.line_total_cents).sum()
}

/// What priced lines need from the shop's counts: units of counted items
/// and of the ingredients their recipes use, summed over the lines.
fn stock_needs(conn: &Connection, lines: &[LineRow]) -> Result<Vec<(Taken, String)>> {
    // Sorted vectors rather than maps: a few lines at most (MAX_LINES).
    let mut per_item: Vec<(i64, i64, &str)> = Vec::new();
    for line in lines {
        add_need(&mut per_item, line.item_id, line.qty, &line.name);
    }
    per_item.sort_unstable();
    let mut needs = Vec::new();
    let mut per_ingredient: Vec<(i64, i64, &str)> = Vec::new();
    for &(item_id, qty, name) in &per_item {
        needs.push((Taken::Item { item_id, qty }, name.to_string()));
        for (ingredient_id, per_unit) in ingredients::recipe(conn, item_id)? {
            add_need(&mut per_ingredient, ingredient_id, per_unit * qty, name);
        }
    }
    per_ingredient.sort_unstable();
    for (ingredient_id, qty, name) in per_ingredient {
        needs.push((Taken::Ingredient { ingredient_id, qty }, name.to_string()));
    }
    Ok(needs)
}

/// Adds `qty` to `id`'s need, named by the first line that needs it.
fn add_need<'a>(needs: &mut Vec<(i64, i64, &'a str)>, id: i64, qty: i64, name: &'a str) {
    match needs.iter_mut().find(|need| need.0 == id) {
        Some(need) => need.1 += qty,
        None => needs.push((id, qty, name)),
    }
}

/// Whether the counts can give what the lines need (the cart page's
/// check; placement takes them for real).
pub fn check_stock(conn: &Connection, lines: &[LineRow]) -> Result<()> {
    for (need, name) in stock_needs(conn, lines)? {
        let (left, qty) = match need {
            Taken::Item { item_id, qty } => (
                items::by_id(conn, item_id)?.and_then(|i| i.fields.stock),
                qty,
            ),
            Taken::Ingredient { ingredient_id, qty } => (
                ingredients::by_id(conn, ingredient_id)?.map(|i| i.stock),
                qty,
            ),
        };
        if left.is_some_and(|left| left < qty) {
            return Err(out_of_stock(need, &name, left.unwrap_or(0)));
        }
    }
    Ok(())
}

fn out_of_stock(need: Taken, name: &str, left: i64) -> Error {
    match need {
        Taken::Item { .. } if left > 0 => Error::conflict(Code::ItemOnlyLeft)
            .with("item", name)
            .with("left", left),
        _ => Error::conflict(Code::ItemSoldOut).with("item", name),
    }
}

/// Takes what the lines need from the counts, inside the order's own
/// transaction: the one writer makes check and take one step, so
/// concurrent orders can never oversell. Returns whether any count moved
/// (the menu then shows the new counts).
fn take_stock(conn: &Connection, order_id: i64, lines: &[LineRow]) -> Result<bool> {
    let mut moved = false;
    for (need, name) in stock_needs(conn, lines)? {
        let taken = match need {
            Taken::Item { item_id, qty } => {
                let counted = items::by_id(conn, item_id)?.and_then(|i| i.fields.stock);
                if counted.is_none() {
                    continue;
                }
                if !items::take_stock(conn, item_id, qty)? {
                    return Err(out_of_stock(need, &name, counted.unwrap_or(0)));
                }
                need
            }
            Taken::Ingredient { ingredient_id, qty } => {
                if !ingredients::take(conn, ingredient_id, qty)? {
                    return Err(out_of_stock(need, &name, 0));
                }
                need
            }
        };
        rows::record_taken(conn, order_id, taken)?;
        moved = true;
    }
    Ok(moved)
}

/// Gives back what a cancelled order took; returns whether it took any.
fn return_stock(conn: &Connection, order_id: i64) -> Result<bool> {
    let taken = rows::take_back_stock(conn, order_id)?;
    for t in &taken {
        match *t {
            Taken::Item { item_id, qty } => items::return_stock(conn, item_id, qty)?,
            Taken::Ingredient { ingredient_id, qty } => {
                ingredients::give_back(conn, ingredient_id, qty)?
            }
        }
    }
    Ok(!taken.is_empty())
}

/// Letters and digits that cannot be misread when called out or shown on a
/// cracked phone screen (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
const PICKUP_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";
/// Codes stay three characters (15,625 of them) while a shop has fewer open
/// orders than this, so a random pick collides at most one time in eight;
/// busier shops get a fourth character (390,625 codes).
const SHORT_CODE_MAX_OPEN: i64 = 15_625 / 8;
/// Random picks tried before giving up: the loop runs while holding the
/// one writer, so it must end even when every code is taken.
const PICKUP_CODE_ATTEMPTS: usize = 32;

/// How long a new pickup code is for a shop with `open_orders` open orders.
pub fn pickup_code_length(open_orders: i64) -> usize {
    if open_orders < SHORT_CODE_MAX_OPEN {
        3
    } else {
        4
    }
}

/// A random code of `length` characters for which `taken` says no; after
/// `PICKUP_CODE_ATTEMPTS` collisions, "the shop is very busy".
pub fn new_pickup_code(
    length: usize,
    mut taken: impl FnMut(&str) -> Result<bool>,
) -> Result<String> {
    for _ in 0..PICKUP_CODE_ATTEMPTS {
        let code: String = crypto::random_bytes::<4>()?
            .iter()
            .take(length)
            .map(|b| PICKUP_ALPHABET[*b as usize % PICKUP_ALPHABET.len()] as char)
            .collect();
        if !taken(&code)? {
            return Ok(code);
        }
    }
    Err(too_busy())
}

fn too_busy() -> Error {
    Error::too_busy()
}

/// How many orders may be open at once; the owner sets both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOrderLimits {
    /// Per customer token and per client address.
    pub per_device: i64,
    pub per_shop: i64,
}

/// How a customer placing an order shows who they are. Tokens are minted by
/// the server; one planted in a link (`?t=`) never gets here.
#[derive(Clone, Debug)]
pub enum Holder {
    /// No token: a new one is minted.
    Anonymous,
    /// The token the device holds (cookie or `Authorization` header): kept
    /// for the new order if we minted it (orders were placed under it), so
    /// the device's orders stay together.
    Device(String),
    /// A token the server derived from the reference its own cart page made
    /// (the captive sheet keeps no cookies): a double tap gets it again.
    Reserved(String),
}

impl Holder {
    pub fn token(&self) -> Option<&str> {
        match self {
            Holder::Anonymous => None,
            Holder::Device(token) | Holder::Reserved(token) => Some(token),
        }
    }
}

/// Who places an order, from where, under which limits.
#[derive(Clone, Debug)]
pub struct Placement {
    pub holder: Holder,
    /// The client's address, for the per-device limit.
    pub placed_from: String,
    pub limits: OpenOrderLimits,
    /// The venue's local time, minutes after midnight: items' time windows.
    pub minute_of_day: i64,
    /// The venue's time zone rule, to name when a paused shop reopens.
    pub zone_rule: String,
}

/// A placed order with the token that opens it.
#[derive(Debug)]
pub struct Placed {
    pub view: OrderView,
    pub token: String,
    /// False when the same `client_ref` had been placed before.
    pub created: bool,
    /// Whether it took from a stock count, which the menu shows.
    pub stock_moved: bool,
}

/// What a placement asked for, so a replayed `client_ref` can be compared.
fn request_hash(shop_id: i64, valid: &ValidOrder) -> String {
    let canonical: [&dyn ToJson; 4] = [&shop_id, &valid.lines, &valid.customer_name, &valid.note];
    // Sorted as the `serde_json::Value` that stored hashes were taken of.
    crypto::hex(&crypto::sha256(&JsonOut::write(&Sorted(&canonical))))
}

/// An order without its lines, as its customer and its shop see it: the
/// head of `OrderView`, and a line of the device's order list.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: String,
    pub customer_name: String,
    pub note: String,
    pub status: Status,
    pub version: i64,
    pub pickup_code: String,
    pub total_cents: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The checkout it was placed in with other shops' orders, if any.
    pub checkout_id: Option<i64>,
    /// The pickup slot asked for (UTC ms); null: as soon as possible.
    pub pickup_at: Option<i64>,
    /// What a promo code took off the lines' sum (`total_cents` is what
    /// is left), and the code ('' for none).
    pub discount_cents: i64,
    pub promo_code: String,
    /// The table it was ordered at ('' for none).
    pub table_name: String,
}
json_object!(OrderSummary: id, shop_id, shop_name, customer_name, note, status, version,
    pickup_code, total_cents, created_at, updated_at, checkout_id, pickup_at, discount_cents,
    promo_code, table_name);

impl From<OrderRow> for OrderSummary {
    fn from(o: OrderRow) -> Self {
        OrderSummary {
            id: o.id,
            shop_id: o.shop_id,
            shop_name: o.shop_name,
            customer_name: o.customer_name,
            note: o.note,
            status: o.status,
            version: o.version,
            pickup_code: o.pickup_code,
            total_cents: o.total_cents,
            created_at: o.created_at,
            updated_at: o.updated_at,
            checkout_id: o.checkout_id,
            pickup_at: o.pickup_at,
            discount_cents: o.discount_cents,
            promo_code: o.promo_code,
            table_name: o.table_name,
        }
    }
}

/// A line of an order, priced when it was placed (or shown in the cart).
#[derive(Debug, Clone)]
pub struct LineView {
    pub item_id: i64,
    pub name: String,
    /// With its options.
    pub unit_price_cents: i64,
    pub qty: i64,
    pub line_total_cents: i64,
    pub note: String,
    pub options: Vec<LineOptionView>,
}
json_object!(LineView: item_id, name, unit_price_cents, qty, line_total_cents, note, options);

/// An option chosen on a line, as named and priced when ordered.
#[derive(Debug, Clone)]
pub struct LineOptionView {
    pub id: i64,
    pub group: String,
    pub name: String,
    pub price_delta_cents: i64,
}
json_object!(LineOptionView: id, group, name, price_delta_cents);

impl From<LineRow> for LineView {
    fn from(l: LineRow) -> Self {
        LineView {
            item_id: l.item_id,
            name: l.name,
            unit_price_cents: l.unit_price_cents,
            qty: l.qty,
            line_total_cents: l.line_total_cents,
            note: l.note,
            options: l
                .options
                .into_iter()
                .map(|o| LineOptionView {
                    id: o.option_id,
                    group: o.group_name,
                    name: o.name,
                    price_delta_cents: o.price_delta_cents,
                })
                .collect(),
        }
    }
}

impl LineView {
    /// The cart page's form text for this line, with the price shown.
    pub fn form_text(&self) -> String {
        LineRequest {
            item_id: self.item_id,
            qty: self.qty,
            options: self.options.iter().map(|o| o.id).collect(),
            note: String::new(),
            seen_price_cents: Some(self.unit_price_cents),
        }
        .to_text()
    }
}

/// One change of an order's stage: who, why and when.
#[derive(Debug, Clone)]
pub struct EventView {
    pub from: Option<Status>,
    pub to: Status,
    pub actor: String,
    pub reason: String,
    pub at: i64,
}
json_object!(EventView: from, to, actor, reason, at);

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> Self {
        EventView {
            from: e.from,
            to: e.to,
            actor: e.actor,
            reason: e.reason,
            at: e.at,
        }
    }
}

/// An order as customers and shops see it.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: OrderSummary,
    pub items: Vec<LineView>,
    pub events: Vec<EventView>,
    pub payments: Payments,
}
json_object!(OrderView: ..order, items, events, payments);

pub fn load_view(conn: &Connection, order: OrderRow) -> Result<OrderView> {
    Ok(OrderView {
        items: views(rows::lines(conn, order.id)?),
        events: views(rows::events(conn, order.id)?),
        payments: payments::of_order(conn, order.id, order.total_cents)?,
        order: order.into(),
    })
}

fn views<R, V: From<R>>(rows: Vec<R>) -> Vec<V> {
    rows.into_iter().map(V::from).collect()
}

/// The orders placed under a customer token, newest first.
pub fn customer_orders(conn: &Connection, token_hash: &str) -> Result<Vec<OrderSummary>> {
    Ok(views(rows::for_customer(conn, token_hash)?))
}

/// A cart as the cart page shows it before placing.
#[derive(Debug, Default)]
pub struct CartView {
    pub lines: Vec<LineView>,
    pub total_cents: i64,
}
json_object!(CartView: lines, total_cents);

/// An approved shop, and `wanted` priced from its menu at local time
/// `minute` (or why it cannot be ordered). Only a shop customers may not
/// see is an error.
pub fn quote(
    conn: &Connection,
    shop_id: i64,
    wanted: Result<Vec<WantedLine>>,
    minute: i64,
) -> Result<(catalog::PublicShop, Result<CartView>)> {
    let shop = catalog::approved_shop(conn, shop_id)?;
    let cart = wanted
        .and_then(|wanted| price_lines(conn, shop.id, &wanted, minute))
        .and_then(|lines| {
            check_stock(conn, &lines)?;
            Ok(CartView {
                total_cents: total_cents(&lines),
                lines: views(lines),
            })
        });
    Ok((shop.into(), cart))
}

/// Places an order in one transaction. The same `client_ref` again answers
/// the first order, but only to its holder and for the same request.
pub fn place(tx: &Connection, req: &OrderRequest, who: &Placement, now: i64) -> Result<Placed> {
    let valid = validate_request(req)?;
    let request_hash = request_hash(req.shop_id, &valid);
    if let Some(existing) = rows::by_client_ref(tx, &req.client_ref)? {
        let token = who.holder.token().filter(|token| {
            crypto::constant_time_eq(
                existing.customer_token_hash.as_bytes(),
                crypto::token_hash(token).as_bytes(),
            ) && existing.request_hash == request_hash
        });
        let Some(token) = token else {
            return Err(Error::conflict(Code::OrderClientRefUsed));
        };
        return Ok(Placed {
            token: token.to_string(),
            view: load_view(tx, existing)?,
            created: false,
            stock_moved: false,
        });
    }
    let shop = open_shop(tx, req.shop_id, &who.zone_rule, now)?;
    within_hours(tx, &shop, who.minute_of_day)?;
    let lines = price_lines(tx, shop.id, &valid.lines, who.minute_of_day)?;
    let token = order_token(tx, &who.holder, now)?;
    let new = ShopOrder {
        shop_id: shop.id,
        client_ref: &req.client_ref,
        request_hash: &request_hash,
        customer_name: &valid.customer_name,
        note: &valid.note,
        checkout_id: None,
        pickup_at: None,
        release_at: 0,
        discount: None,
        table: None,
    };
    let (order_id, stock_moved) = insert_order(tx, &new, &lines, &token, who, now)?;
    let order = rows::by_id(tx, order_id)?.ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok(Placed {
        view: load_view(tx, order)?,
        token,
        created: true,
        stock_moved,
    })
}

/// An approved shop that takes orders at `now`: open and not paused.
pub fn open_shop(
    conn: &Connection,
    shop_id: i64,
    zone_rule: &str,
    now: i64,
) -> Result<crate::store::shops::ShopRow> {
    let shop = catalog::approved_shop(conn, shop_id)?;
    if !shop.open {
        return Err(Error::conflict(Code::ShopClosed).with("shop", &shop.name));
    }
    if let Some(until) = shop.paused_until.filter(|until| *until > now) {
        return Err(Error::conflict(Code::ShopPaused)
            .with("shop", &shop.name)
            .with("until", crate::support::time::clock(until, zone_rule)));
    }
    Ok(shop)
}

/// An order for as soon as possible needs its shop within its hours, if
/// it has any (local time `minute`); the refusal says when it next opens.
pub fn within_hours(
    conn: &Connection,
    shop: &crate::store::shops::ShopRow,
    minute: i64,
) -> Result<()> {
    match crate::store::shops::slots(conn, shop.id)?.hours {
        Some(hours) if !menu::in_window(hours, minute) => {
            Err(Error::conflict(Code::ShopOutsideHours)
                .with("shop", &shop.name)
                .with("opens", menu::clock_text(hours.0)))
        }
        _ => Ok(()),
    }
}

/// The token a new order (or checkout) goes under: the device's own if we
/// minted it, the one reserved for our cart page's reference, else a new
/// one that begins with the time (see `crypto::ordered_token`).
pub fn order_token(conn: &Connection, holder: &Holder, now: i64) -> Result<String> {
    Ok(match holder {
        Holder::Device(token) if rows::token_known(conn, &crypto::token_hash(token))? => {
            token.clone()
        }
        Holder::Reserved(token) => token.clone(),
        Holder::Anonymous | Holder::Device(_) => crypto::ordered_token(now)?,
    })
}

/// One shop's order as a placement or a checkout asks for it.
pub struct ShopOrder<'a> {
    pub shop_id: i64,
    pub client_ref: &'a str,
    pub request_hash: &'a str,
    pub customer_name: &'a str,
    pub note: &'a str,
    pub checkout_id: Option<i64>,
    pub pickup_at: Option<i64>,
    pub release_at: i64,
    /// A promo code and what it takes off the lines' sum.
    pub discount: Option<(&'a str, i64)>,
    /// The table it is ordered at: its id and name.
    pub table: Option<(i64, &'a str)>,
}

/// Stores one shop's order with its priced lines, inside the caller's
/// transaction: the open-order limits (each order of a checkout counts),
/// a pickup code, the stock it takes and its first event. Returns its id
/// and whether stock moved. Placement and checkout both come here.
pub fn insert_order(
    tx: &Connection,
    new: &ShopOrder,
    lines: &[LineRow],
    token: &str,
    who: &Placement,
    now: i64,
) -> Result<(i64, bool)> {
    let token_hash = crypto::token_hash(token);
    let open_for_device = rows::open_count_for_device(tx, &token_hash, &who.placed_from)?;
    if open_for_device >= who.limits.per_device {
        return Err(Error::from(Failure::TooManyOpenOrders(Problem::new(
            Code::OrderTooManyOpen,
        )))
        .with("count", open_for_device));
    }
    let open_at_shop = open_orders_at(tx, new.shop_id)?;
    if open_at_shop >= who.limits.per_shop {
        return Err(too_busy());
    }
    let pickup_code = new_pickup_code(pickup_code_length(open_at_shop), |code| {
        Ok(rows::pickup_code_taken(tx, new.shop_id, code)?)
    })?;
    let order_id = rows::insert(
        tx,
        &NewOrder {
            shop_id: new.shop_id,
            client_ref: new.client_ref,
            customer_token_hash: &token_hash,
            request_hash: new.request_hash,
            placed_from: &who.placed_from,
            customer_name: new.customer_name,
            note: new.note,
            status: Status::Placed,
            pickup_code: &pickup_code,
            total_cents: total_cents(lines) - new.discount.map_or(0, |d| d.1),
            now,
            checkout_id: new.checkout_id,
            pickup_at: new.pickup_at,
            release_at: new.release_at,
            discount_cents: new.discount.map_or(0, |d| d.1),
            promo_code: new.discount.map_or("", |d| d.0),
            table: new.table,
        },
    )?;
    for line in lines {
        rows::insert_line(tx, order_id, line)?;
    }
    let stock_moved = take_stock(tx, order_id, lines)?;
    rows::record_event(
        tx,
        &NewEvent {
            order_id,
            from: None,
            to: Status::Placed,
            actor_role: ActorRole::Customer,
            actor_user_id: None,
            reason: "",
            now,
        },
    )?;
    Ok((order_id, stock_moved))
}

/// A shop's open orders as a placement left them, for the next placement
/// of the same group commit: counting walks every open order of the shop,
/// which made most of a placement's CPU once a busy shop had thousands.
#[derive(Clone, Copy)]
struct OpenAtShop {
    /// `db::write_position()` of the placement that counted.
    position: (u64, u64),
    shop_id: i64,
    /// Its count with its own order.
    count: i64,
    /// Whether that placement got to its end (made all its changes).
    settled: bool,
}

std::thread_local! {
    static OPEN_AT_SHOP: std::cell::Cell<Option<OpenAtShop>> = const { std::cell::Cell::new(None) };
}

/// How many open orders a shop has, inside a write. Taken from the last
/// placement only when it got to its end and was the write just before in
/// the same transaction, and kept (its savepoint released): no other write
/// changed anything since. Else counted. Either way remembered with the
/// order about to be placed, for the next.
fn open_orders_at(tx: &Connection, shop_id: i64) -> Result<i64> {
    let position = crate::db::write_position();
    let known = OPEN_AT_SHOP.get().filter(|last| {
        position.is_some_and(|(batch, kept)| last.position == (batch, kept.wrapping_sub(1)))
            && last.shop_id == shop_id
            && last.settled
    });
    let count = match known {
        Some(last) => last.count,
        None => rows::open_count_for_shop(tx, shop_id)?,
    };
    OPEN_AT_SHOP.set(position.map(|position| OpenAtShop {
        position,
        shop_id,
        count: count + 1,
        settled: false,
    }));
    Ok(count)
}

/// A placement has made all its changes: its count may serve the next.
fn open_orders_settled() {
    let position = crate::db::write_position();
    OPEN_AT_SHOP.set(
        OPEN_AT_SHOP
            .get()
            .filter(|last| Some(last.position) == position)
            .map(|last| OpenAtShop {
                settled: true,
                ..last
            }),
    );
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
        .ok_or_else(|| Error::not_found(Code::OrderNotFound))
}

/// An order after a change of stage.
#[derive(Debug)]
pub struct Moved {
    pub view: OrderView,
    /// Whether stock counts moved (a cancellation gave stock back, a
    /// recall took it again), which the menu shows.
    pub stock_returned: bool,
}

/// Moves an order to `to`, recording who and why. Cancelling before
/// preparation gives back the stock the order took.
pub fn change_status(
    tx: &Connection,
    order_id: i64,
    to: Status,
    actor: &Actor,
    reason: &str,
    now: i64,
) -> Result<Moved> {
    let reason = text::optional_text("reason", reason, MAX_REASON_CHARS)?;
    let order = visible_order(tx, order_id, actor)?;
    let from = order.status;
    check_move(from, to, actor.mover(), &reason)?;
    // The writer transaction is exclusive, so the version cannot have moved.
    if !rows::set_status(tx, order_id, to, order.version, now)? {
        return Err(Error::conflict(Code::OrderChanged));
    }
    let (actor_role, actor_user_id) = match actor {
        Actor::Customer { .. } => (ActorRole::Customer, None),
        Actor::Shop { user_id, .. } => (ActorRole::Shop, Some(*user_id)),
    };
    rows::record_event(
        tx,
        &NewEvent {
            order_id,
            from: Some(from),
            to,
            actor_role,
            actor_user_id,
            reason: &reason,
            now,
        },
    )?;
    let stock_returned = to == Status::Cancelled
        && matches!(from, Status::Placed | Status::Accepted)
        && return_stock(tx, order_id)?;
    let order = rows::by_id(tx, order_id)?.ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok(Moved {
        view: load_view(tx, order)?,
        stock_returned,
    })
}

/// What a recall's event says, for the board and the customer.
pub const RECALL_REASON: &str = "recalled";

/// The stage a recall takes an order back to: the one before (undoing a
/// mistaken tap), or for an order its shop cancelled, the stage it had.
/// `last` is the event that brought the order to its stage. A placed
/// order has nothing to go back to, and an order its customer cancelled
/// stays cancelled.
pub fn recall_target(status: Status, last: Option<&EventRow>) -> Option<Status> {
    match status {
        Status::Placed => None,
        Status::Cancelled => last
            .filter(|e| e.actor != ActorRole::Customer.as_str())
            .and_then(|e| e.from)
            .filter(|from| *from != Status::Cancelled),
        _ => Status::ALL.into_iter().find(|s| s.next() == Some(status)),
    }
}

/// Takes an order back one stage (see `recall_target`), recorded as an
/// event. A cancelled order that gave its stock back takes it again, and
/// gets its pickup code back only if no open order has taken it since.
pub fn recall(tx: &Connection, order_id: i64, actor: &Actor, now: i64) -> Result<Moved> {
    let order = visible_order(tx, order_id, actor)?;
    let Actor::Shop { user_id, .. } = actor else {
        return Err(Error::not_found(Code::OrderNotFound));
    };
    let events = rows::events(tx, order_id)?;
    let refused = || {
        Error::conflict(Code::OrderNothingToRecall)
            .with("code", &order.pickup_code)
            .with_key("from", format!("status.{}", order.status.as_str()))
    };
    let to = recall_target(order.status, events.last()).ok_or_else(refused)?;
    let mut stock_moved = false;
    if order.status == Status::Cancelled {
        if rows::pickup_code_taken(tx, order.shop_id, &order.pickup_code)? {
            return Err(refused());
        }
        if matches!(to, Status::Placed | Status::Accepted) {
            stock_moved = take_stock(tx, order_id, &rows::lines(tx, order_id)?)?;
        }
    }
    if !rows::set_status(tx, order_id, to, order.version, now)? {
        return Err(Error::conflict(Code::OrderChanged));
    }
    rows::record_event(
        tx,
        &NewEvent {
            order_id,
            from: Some(order.status),
            to,
            actor_role: ActorRole::Shop,
            actor_user_id: Some(*user_id),
            reason: RECALL_REASON,
            now,
        },
    )?;
    let order = rows::by_id(tx, order_id)?.ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok(Moved {
        view: load_view(tx, order)?,
        stock_returned: stock_moved,
    })
}

/// A page of a shop's board: open orders, oldest first, and recently
/// finished ones (for recall). However many orders are open, a page stays
/// small.
#[derive(Debug)]
pub struct ShopOrders {
    pub version: i64,
    /// All open orders of the shop, not only this page's.
    pub open_count: i64,
    pub orders: Vec<BoardOrder>,
    /// Ask with `after=` this id for the next page of open orders.
    pub next_after: Option<i64>,
    /// What waits across all open orders, not only this page's.
    pub all_day: Vec<WaitingCount>,
}
json_object!(ShopOrders: version, open_count, orders, next_after, all_day);

/// How long finished orders stay on the board, and how many of them.
const FINISHED_VISIBLE_MS: i64 = 2 * 60 * 60 * 1000;
const FINISHED_VISIBLE: i64 = 30;
/// Open orders per page of the board.
pub const BOARD_PAGE: i64 = 50;

/// The board's page of open orders with ids above `after` (0: the first).
pub fn shop_orders(conn: &Connection, shop_id: i64, after: i64, now: i64) -> Result<ShopOrders> {
    let version = rows::shop_version(conn, shop_id)?;
    let open_count = rows::open_count_for_shop(conn, shop_id)?;
    let mut open = rows::open_for_shop(conn, shop_id, after, BOARD_PAGE + 1, now)?;
    let next_after = if open.len() as i64 > BOARD_PAGE {
        open.truncate(BOARD_PAGE as usize);
        open.last().map(|o| o.id)
    } else {
        None
    };
    let finished =
        rows::finished_for_shop(conn, shop_id, now - FINISHED_VISIBLE_MS, FINISHED_VISIBLE)?;
    let mut orders = Vec::with_capacity(open.len() + finished.len());
    for order in open.into_iter().chain(finished) {
        orders.push(load_view(conn, order)?);
    }
    Ok(ShopOrders {
        version,
        open_count,
        orders: board::with_estimates(conn, orders)?,
        next_after,
        all_day: board::all_day(conn, shop_id, now)?,
    })
}

// ---- Use cases: database work off the async threads; what a transaction
// changed wakes its waiters once it has committed (`Data::write`) ----

pub async fn place_order(data: &Data, req: OrderRequest, who: Placement) -> Result<Placed> {
    let now = crate::support::time::now_ms();
    let placed = data
        .write(move |tx, changes| {
            let placed = place(tx, &req, &who, now)?;
            if placed.created {
                changes.add(Topic::Order(placed.view.order.id));
                changes.add(Topic::ShopOrders(placed.view.order.shop_id));
            }
            if placed.stock_moved {
                catalog::menu_changed(tx, changes, placed.view.order.shop_id)?;
            }
            if placed.created {
                open_orders_settled();
            }
            Ok(placed)
        })
        .await?;
    if placed.created {
        let order = &placed.view.order;
        log::info!(
            "order {} placed at shop {} ({} cents)",
            order.id,
            order.shop_id,
            order.total_cents
        );
    }
    Ok(placed)
}

pub async fn move_order(
    data: &Data,
    order_id: i64,
    to: Status,
    actor: Actor,
    reason: String,
) -> Result<OrderView> {
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| {
        let moved = change_status(tx, order_id, to, &actor, &reason, now)?;
        let shop_id = moved.view.order.shop_id;
        changes.add(Topic::Order(order_id));
        changes.add(Topic::ShopOrders(shop_id));
        if moved.stock_returned {
            catalog::menu_changed(tx, changes, shop_id)?;
        }
        Ok(moved.view)
    })
    .await
}

pub async fn recall_order(data: &Data, order_id: i64, actor: Actor) -> Result<OrderView> {
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| {
        let moved = recall(tx, order_id, &actor, now)?;
        let shop_id = moved.view.order.shop_id;
        changes.add(Topic::Order(order_id));
        changes.add(Topic::ShopOrders(shop_id));
        if moved.stock_returned {
            catalog::menu_changed(tx, changes, shop_id)?;
        }
        Ok(moved.view)
    })
    .await
}

/// The order as its customer sees it, for long-poll answers.
fn customer_answer(conn: &Connection, order_id: i64) -> Result<Built> {
    let order =
        rows::by_id(conn, order_id)?.ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    let view = load_view(conn, order)?;
    Ok(Built::json(view.order.version, &view))
}

/// The order's JSON once its version is above `since`, waiting up to `wait`.
pub async fn wait_for_order(
    data: &Data,
    order_id: i64,
    actor: Actor,
    since: i64,
    wait: Duration,
) -> Result<Answer> {
    // Access is checked here, once: the answer is the same for everyone
    // who may see the order.
    let version = data.read(move |c| Ok(visible_order(c, order_id, &actor)?.version));
    let build = || data.read(move |c| customer_answer(c, order_id));
    data.live
        .answer(
            Topic::Order(order_id),
            Audience::Customer,
            since,
            wait,
            version,
            build,
        )
        .await
}

/// A page of the shop's board once its version is above `since`, waiting
/// up to `wait`.
pub async fn wait_for_shop(
    data: &Data,
    shop_id: i64,
    since: i64,
    after: i64,
    wait: Duration,
) -> Result<Answer> {
    let version = data.read(move |c| Ok(rows::shop_version(c, shop_id)?));
    let build = || {
        let now = crate::support::time::now_ms();
        data.read(move |c| {
            let board = shop_orders(c, shop_id, after, now)?;
            Ok(Built::json(board.version, &board))
        })
    };
    data.live
        .answer(
            Topic::ShopOrders(shop_id),
            Audience::ShopBoard { after },
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
    use crate::error::{Failed, Failure};

    fn request(client_ref: &str, items: &[(i64, i64)]) -> OrderRequest {
        OrderRequest {
            shop_id: 1,
            items: items
                .iter()
                .map(|&(item_id, qty)| LineRequest {
                    item_id,
                    qty,
                    ..LineRequest::default()
                })
                .collect(),
            customer_name: "Ann".into(),
            note: String::new(),
            client_ref: client_ref.into(),
        }
    }

    fn pairs(lines: &[WantedLine]) -> Vec<(i64, i64)> {
        lines.iter().map(|l| (l.item_id, l.qty)).collect()
    }

    const LIMITS: OpenOrderLimits = OpenOrderLimits {
        per_device: 50,
        per_shop: 1_000,
    };

    fn from(holder: Holder, address: &str) -> Placement {
        Placement {
            holder,
            placed_from: address.into(),
            limits: LIMITS,
            minute_of_day: 12 * 60,
            zone_rule: crate::support::time::UTC_RULE.into(),
        }
    }

    fn anonymous() -> Placement {
        from(Holder::Anonymous, "127.0.0.9")
    }

    fn demo() -> Connection {
        let conn = crate::db::test_connection();
        crate::venue::demo::seed(&conn).unwrap();
        conn
    }

    /// The first item of the demo's second shop.
    fn taco(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT MIN(id) FROM menu_items WHERE shop_id = 2",
            [],
            |r| r.get(0),
        )
        .unwrap()
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
            matches!(&*err, Failure::Conflict(m) if m.code == Code::OrderInvalidMove),
            "{err:?}"
        );
        assert!(matches!(
            check_move(Status::Placed, Status::Cancelled, Mover::Shop, "  ").failure(),
            Err(Failure::BadRequest(_))
        ));
    }

    #[test]
    fn requests_are_validated_and_repeated_items_merged() {
        assert_eq!(
            pairs(
                &validate_request(&request("ref-0001", &[(2, 1), (1, 2), (2, 3)]))
                    .unwrap()
                    .lines
            ),
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
    fn placement_prices_from_the_menu_and_mints_a_token() {
        let conn = demo();
        let placed = place(
            &conn,
            &request("ref-0001", &[(1, 2), (7, 1)]),
            &anonymous(),
            5,
        )
        .unwrap();
        assert!(placed.created);
        assert_eq!(placed.view.order.total_cents, 2 * 950 + 250);
        assert_eq!(placed.view.items[0].name, "Beef noodle soup");
        assert_eq!(placed.view.order.version, 1);
        // A new token begins with when it was minted, and so does its key.
        assert_eq!(placed.token.len(), crypto::TIME_PREFIX_LEN + 64);
        assert!(placed.token.starts_with(&crypto::time_prefix(5)));
        let stored = rows::by_id(&conn, placed.view.order.id).unwrap().unwrap();
        assert!(stored
            .customer_token_hash
            .starts_with(&crypto::time_prefix(5)));
        // The taco belongs to another shop.
        assert!(matches!(
            place(&conn, &request("ref-0002", &[(taco(&conn), 1)]), &anonymous(), 8).failure(),
            Err(Failure::BadRequest(p)) if p.code == Code::OrderUnknownItem
        ));
    }

    #[test]
    fn a_replayed_client_ref_answers_only_its_holder_with_the_same_request() {
        let conn = demo();
        let first = place(&conn, &request("ref-0001", &[(1, 2)]), &anonymous(), 5).unwrap();
        let holder = from(Holder::Device(first.token.clone()), "127.0.0.9");
        let again = place(&conn, &request("ref-0001", &[(1, 2)]), &holder, 6).unwrap();
        assert!(!again.created);
        assert_eq!(
            (again.view.order.id, again.token),
            (first.view.order.id, first.token.clone())
        );
        let mut renamed = request("ref-0001", &[(1, 2)]);
        renamed.customer_name = "Eve".into();
        let stranger = from(Holder::Device("f".repeat(64)), "127.0.0.9");
        for (req, who) in [
            (request("ref-0001", &[(1, 2)]), anonymous()),
            (request("ref-0001", &[(1, 2)]), stranger),
            (request("ref-0001", &[(1, 3)]), holder.clone()),
            (renamed, holder),
        ] {
            assert!(
                matches!(
                    place(&conn, &req, &who, 7).failure(),
                    Err(Failure::Conflict(_))
                ),
                "{req:?}"
            );
        }
    }

    #[test]
    fn only_tokens_we_minted_or_reserved_carry_over_to_new_orders() {
        let conn = demo();
        let planted = "a".repeat(64);
        let placed = place(
            &conn,
            &request("ref-0001", &[(1, 1)]),
            &from(Holder::Device(planted.clone()), "127.0.0.9"),
            5,
        )
        .unwrap();
        assert_ne!(placed.token, planted);
        let same_device = from(Holder::Device(placed.token.clone()), "127.0.0.9");
        let second = place(&conn, &request("ref-0002", &[(2, 1)]), &same_device, 6).unwrap();
        assert_eq!(second.token, placed.token);
        let reserved = "b".repeat(64);
        let third = place(
            &conn,
            &request("ref-0003", &[(2, 1)]),
            &from(Holder::Reserved(reserved.clone()), "127.0.0.9"),
            7,
        )
        .unwrap();
        assert_eq!(third.token, reserved);
    }

    #[test]
    fn open_orders_are_limited_per_device_and_per_shop() {
        let conn = demo();
        let limits = OpenOrderLimits {
            per_device: 2,
            per_shop: 3,
        };
        let at = |address: &str| Placement {
            limits,
            ..from(Holder::Anonymous, address)
        };
        let first = place(&conn, &request("ref-0001", &[(1, 1)]), &at("127.0.0.2"), 1).unwrap();
        let same_token = Placement {
            limits,
            ..from(Holder::Device(first.token.clone()), "127.0.0.2")
        };
        place(&conn, &request("ref-0002", &[(1, 1)]), &same_token, 1).unwrap();
        assert!(matches!(
            place(&conn, &request("ref-0003", &[(1, 1)]), &at("127.0.0.2"), 1).failure(),
            Err(Failure::TooManyOpenOrders(_))
        ));
        // The same token from another address counts too.
        let token_elsewhere = Placement {
            limits,
            ..from(Holder::Device(first.token.clone()), "127.0.0.3")
        };
        assert!(matches!(
            place(&conn, &request("ref-0004", &[(1, 1)]), &token_elsewhere, 1).failure(),
            Err(Failure::TooManyOpenOrders(_))
        ));
        place(&conn, &request("ref-0005", &[(1, 1)]), &at("127.0.0.4"), 1).unwrap();
        assert!(matches!(
            place(&conn, &request("ref-0006", &[(1, 1)]), &at("127.0.0.5"), 1).failure(),
            Err(Failure::ShopTooBusy(_))
        ));
        // Another shop still takes orders; a finished order frees a place.
        let other_shop = OrderRequest {
            shop_id: 2,
            ..request("ref-0007", &[(taco(&conn), 1)])
        };
        place(&conn, &other_shop, &at("127.0.0.5"), 1).unwrap();
        let customer = Actor::Customer {
            token_hash: crypto::token_hash(&first.token),
        };
        change_status(
            &conn,
            first.view.order.id,
            Status::Cancelled,
            &customer,
            "",
            2,
        )
        .unwrap();
        place(&conn, &request("ref-0008", &[(1, 1)]), &at("127.0.0.2"), 3).unwrap();
    }

    /// Holds the writer until the writes sent meanwhile are queued: they
    /// then share the next transaction, in the order they were sent.
    async fn hold_writer(data: &Data) -> tokio::task::JoinHandle<Result<()>> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let started = std::sync::Arc::new(AtomicBool::new(false));
        let running = started.clone();
        let db = data.db.clone();
        let hold = tokio::spawn(async move {
            db.write(move |_| {
                running.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await
        });
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        hold
    }

    #[tokio::test]
    async fn a_group_commit_counts_open_orders_past_undone_placements_and_other_writes() {
        let dir = std::env::temp_dir().join(format!("orderspot-open-count-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data = Data::new(crate::db::Db::open(&dir).unwrap());
        data.db
            .write(|tx| crate::venue::demo::seed(tx))
            .await
            .unwrap();
        let placing = |name: &str, per_shop: i64| {
            let data = data.clone();
            let req = request(&format!("ref-{name}-0000"), &[(1, 1)]);
            let who = Placement {
                limits: OpenOrderLimits {
                    per_device: 50,
                    per_shop,
                },
                ..from(Holder::Anonymous, &format!("127.0.1.{}", name.len()))
            };
            tokio::spawn(async move { place_order(&data, req, who).await.map(|_| ()) })
        };
        let full = |placed: Result<()>| matches!(placed.failure(), Err(Failure::ShopTooBusy(_)));

        // A placement undone at its very end, after it had left its count.
        let hold = hold_writer(&data).await;
        let first = placing("a", 3);
        let (undone, who) = (data.clone(), from(Holder::Anonymous, "127.0.1.9"));
        let undone = tokio::spawn(async move {
            undone
                .write(move |tx, _| {
                    place(tx, &request("ref-undone", &[(1, 1)]), &who, 1)?;
                    open_orders_settled();
                    Err::<(), _>(Error::bad(Code::OrderBadLine))
                })
                .await
        });
        let (second, third, fourth) = (placing("bb", 3), placing("ccc", 3), placing("dddd", 3));
        hold.await.unwrap().unwrap();
        first.await.unwrap().unwrap();
        assert!(undone.await.unwrap().is_err());
        second.await.unwrap().unwrap();
        third.await.unwrap().unwrap();
        assert!(full(fourth.await.unwrap()));

        // Another write opens an order of the same shop between two placements.
        let hold = hold_writer(&data).await;
        let fifth = placing("eeeee", 6);
        let db = data.db.clone();
        let other = tokio::spawn(async move {
            db.write(|tx| {
                Ok(tx.execute(
                    "INSERT INTO orders (shop_id, client_ref, customer_token_hash, customer_name,
                                         status, version, pickup_code, total_cents, created_at,
                                         updated_at, placed_from)
                     VALUES (1, 'direct-0', 't', 'Dee', 'placed', 1, 'ZZZ', 500, 0, 0, '10.0.0.9')",
                    [],
                )?)
            })
            .await
        });
        let (sixth, seventh) = (placing("ffffff", 6), placing("ggggggg", 6));
        hold.await.unwrap().unwrap();
        fifth.await.unwrap().unwrap();
        other.await.unwrap().unwrap();
        sixth.await.unwrap().unwrap();
        assert!(full(seventh.await.unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sold_out_items_and_closed_shops_are_refused() {
        let conn = demo();
        conn.execute("UPDATE menu_items SET available = 0 WHERE id = 1", [])
            .unwrap();
        assert!(matches!(
            place(&conn, &request("ref-0003", &[(1, 1)]), &anonymous(), 1).failure(),
            Err(Failure::Conflict(m)) if m.code == Code::ItemSoldOut
        ));
        conn.execute("UPDATE shops SET open = 0 WHERE id = 1", [])
            .unwrap();
        assert!(matches!(
            place(&conn, &request("ref-0004", &[(2, 1)]), &anonymous(), 1).failure(),
            Err(Failure::Conflict(m)) if m.code == Code::ShopClosed
        ));
    }

    #[test]
    fn status_changes_bump_the_version_and_record_who_and_why() {
        let conn = demo();
        let order = place(&conn, &request("ref-0005", &[(1, 1)]), &anonymous(), 1)
            .unwrap()
            .view;
        let shop = Actor::Shop {
            shop_id: 1,
            user_id: 2,
        };
        let other_shop = Actor::Shop {
            shop_id: 2,
            user_id: 3,
        };
        let stranger = Actor::Customer {
            token_hash: crypto::token_hash("nope"),
        };
        let id = order.order.id;
        assert!(matches!(
            change_status(&conn, id, Status::Accepted, &other_shop, "", 2).failure(),
            Err(Failure::NotFound(_))
        ));
        assert!(matches!(
            change_status(&conn, id, Status::Cancelled, &stranger, "", 2).failure(),
            Err(Failure::NotFound(_))
        ));
        let accepted = change_status(&conn, id, Status::Accepted, &shop, "", 2)
            .unwrap()
            .view;
        assert_eq!(accepted.order.version, 2);
        let cancelled = change_status(&conn, id, Status::Cancelled, &shop, "out of noodles", 3)
            .unwrap()
            .view;
        let last = cancelled.events.last().unwrap();
        assert_eq!(
            (last.from, last.to),
            (Some(Status::Accepted), Status::Cancelled)
        );
        assert_eq!(last.reason, "out of noodles");
        assert!(last.actor.starts_with("shop"));
        assert_eq!(cancelled.order.version, 3);
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_guess() {
        let conn = demo();
        let placed = place(&conn, &request("ref-0009", &[(1, 1)]), &anonymous(), 1).unwrap();
        let id = placed.view.order.id;
        let shop = Actor::Shop {
            shop_id: 1,
            user_id: 2,
        };
        conn.execute_batch("PRAGMA ignore_check_constraints = ON")
            .unwrap();
        conn.execute("UPDATE orders SET status = 'lost' WHERE id = ?1", [id])
            .unwrap();
        assert!(matches!(
            visible_order(&conn, id, &shop).failure(),
            Err(Failure::Internal(_))
        ));
        assert!(matches!(
            change_status(&conn, id, Status::Accepted, &shop, "", 2).failure(),
            Err(Failure::Internal(_))
        ));
        conn.execute("UPDATE orders SET status = 'placed' WHERE id = ?1", [id])
            .unwrap();
        conn.execute(
            "UPDATE order_events SET to_status = 'gone' WHERE order_id = ?1",
            [id],
        )
        .unwrap();
        let order = visible_order(&conn, id, &shop).unwrap();
        assert!(matches!(
            load_view(&conn, order).failure(),
            Err(Failure::Internal(_))
        ));
    }

    #[test]
    fn pickup_codes_avoid_taken_ones_and_ambiguous_characters() {
        for _ in 0..200 {
            let code = new_pickup_code(3, |code| Ok(code == "AAA")).unwrap();
            assert_eq!(code.len(), 3);
            assert_ne!(code, "AAA");
            assert!(code.bytes().all(|b| PICKUP_ALPHABET.contains(&b)));
        }
        assert_eq!(new_pickup_code(4, |_| Ok(false)).unwrap().len(), 4);
    }

    #[test]
    fn pickup_codes_widen_for_busy_shops_and_give_up_when_all_are_taken() {
        assert_eq!(pickup_code_length(0), 3);
        assert_eq!(pickup_code_length(SHORT_CODE_MAX_OPEN - 1), 3);
        assert_eq!(pickup_code_length(SHORT_CODE_MAX_OPEN), 4);
        let mut tries = 0;
        let every_code_taken = new_pickup_code(3, |_| {
            tries += 1;
            Ok(true)
        });
        assert!(matches!(
            every_code_taken.failure(),
            Err(Failure::ShopTooBusy(_))
        ));
        assert_eq!(tries, PICKUP_CODE_ATTEMPTS);
    }

    #[test]
    fn quantities_are_bounded_where_they_are_read() {
        let lines = |pairs: &[(i64, i64)]| request("ref-0001", pairs).items;
        assert_eq!(
            pairs(&merge_lines(&lines(&[(2, 1), (1, 2), (2, 3)])).unwrap()),
            vec![(1, 2), (2, 4)]
        );
        let many: Vec<(i64, i64)> = (0..31).map(|i| (i, 1)).collect();
        for bad in [
            &[(1, 0)][..],
            &[(1, -1)],
            &[(1, i64::MAX)],
            &[(1, 30), (1, 30)],
            &many,
        ] {
            assert!(merge_lines(&lines(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lines_merge_only_with_the_same_options_and_note() {
        let line = |options: &[i64], note: &str| LineRequest {
            item_id: 7,
            qty: 2,
            options: options.to_vec(),
            note: note.into(),
            seen_price_cents: None,
        };
        let merged = merge_lines(&[
            line(&[3, 1], ""),
            line(&[1, 3], ""),
            line(&[1], ""),
            line(&[1, 3], "no ice"),
        ])
        .unwrap();
        let shape: Vec<_> = merged
            .iter()
            .map(|l| (l.options.clone(), l.note.as_str(), l.qty))
            .collect();
        assert_eq!(
            shape,
            [
                (vec![1], "", 2),
                (vec![1, 3], "", 4),
                (vec![1, 3], "no ice", 2)
            ]
        );
        assert!(merge_lines(&[line(&(0..21).collect::<Vec<_>>(), "")]).is_err());
    }

    #[test]
    fn form_lines_read_and_write_the_same_text() {
        for text in ["7:2", "7:2:", "7:2:12.15", "7:2:12.15:480", "7:2::480"] {
            let line = LineRequest::parse(text).unwrap();
            assert_eq!(
                LineRequest::parse(&line.to_text()).unwrap().options,
                line.options
            );
        }
        let line = LineRequest::parse("7:2:12.15:480").unwrap();
        assert_eq!(
            (line.item_id, line.qty, line.options, line.seen_price_cents),
            (7, 2, vec![12, 15], Some(480))
        );
        for bad in ["", "7", "x:2", "7:y", "7:2:a.b", "7:2:1:x", "7:2:1:2:3"] {
            assert!(LineRequest::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recall_goes_back_one_stage_or_to_the_stage_a_shop_cancelled_from() {
        let event = |from: Option<Status>, to: Status, actor: &str| EventRow {
            from,
            to,
            actor: actor.into(),
            reason: String::new(),
            at: 0,
        };
        let shop = event(Some(Status::Preparing), Status::Ready, "shop Kim");
        assert_eq!(
            recall_target(Status::Ready, Some(&shop)),
            Some(Status::Preparing)
        );
        assert_eq!(recall_target(Status::Completed, None), Some(Status::Ready));
        assert_eq!(recall_target(Status::Accepted, None), Some(Status::Placed));
        assert_eq!(recall_target(Status::Placed, None), None);
        let cancelled = event(Some(Status::Accepted), Status::Cancelled, "shop Kim");
        assert_eq!(
            recall_target(Status::Cancelled, Some(&cancelled)),
            Some(Status::Accepted)
        );
        let by_customer = event(Some(Status::Placed), Status::Cancelled, "customer");
        assert_eq!(recall_target(Status::Cancelled, Some(&by_customer)), None);
    }

    #[test]
    fn a_recalled_cancellation_takes_its_stock_again_and_is_an_event() {
        let conn = demo();
        let item = 1;
        conn.execute("UPDATE menu_items SET stock = 5 WHERE id = ?1", [item])
            .unwrap();
        let placed = place(&conn, &request("ref-recall", &[(item, 2)]), &anonymous(), 1).unwrap();
        let id = placed.view.order.id;
        let shop = Actor::Shop {
            shop_id: placed.view.order.shop_id,
            user_id: 1,
        };
        let stock = || -> i64 {
            conn.query_row("SELECT stock FROM menu_items WHERE id = ?1", [item], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(stock(), 3);
        change_status(&conn, id, Status::Cancelled, &shop, "sold out", 2).unwrap();
        assert_eq!(stock(), 5);
        let back = recall(&conn, id, &shop, 3).unwrap();
        assert_eq!(back.view.order.status, Status::Placed);
        assert!(back.stock_returned);
        assert_eq!(stock(), 3);
        let last = back.view.events.last().unwrap();
        assert_eq!(
            (last.from, last.to),
            (Some(Status::Cancelled), Status::Placed)
        );
        assert_eq!(last.reason, RECALL_REASON);
        assert!(matches!(
            recall(&conn, id, &shop, 4).failure(),
            Err(Failure::Conflict(_))
        ));
        let customer = Actor::Customer {
            token_hash: crypto::token_hash(&placed.token),
        };
        assert!(matches!(
            recall(&conn, id, &customer, 4).failure(),
            Err(Failure::NotFound(_))
        ));
    }
}
