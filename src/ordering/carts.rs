//! Carts: what a customer (or a table of them) is about to order, from any
//! number of shops. Carts live in memory only: editing one must not wear
//! the router's flash, and a restart may lose a cart but never an order.
//! Everything a phone can make this hold is bounded: carts per client
//! address and in all, lines per cart and in all, and each line's size.

use crate::error::{Code, Error, Failure, Result};
use crate::ordering::orders::{self, LineRequest, MAX_LINE_NOTE_CHARS, MAX_QTY};
use crate::ordering::{catalog, menu};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::{crypto, text};
use rusqlite::Connection;
use std::sync::{Arc, Mutex, MutexGuard};

/// Carts held at once for the whole venue.
pub const MAX_CARTS: usize = 2_000;
/// Carts one client address may hold.
pub const MAX_CARTS_PER_CLIENT: usize = 8;
/// Lines of one cart: what one order may hold.
pub const MAX_CART_LINES: usize = orders::MAX_LINES;
/// Lines of every cart together, so a full venue stays a few MB.
pub const MAX_LINES_IN_ALL: usize = 10_000;
pub const MAX_ADDED_BY_CHARS: usize = 40;
/// A cart nobody touched for this long is forgotten.
pub const IDLE_MS: i64 = 6 * 60 * 60 * 1000;
/// When every place is taken, the cart left alone longest goes if it has
/// been idle this long, so a flood of carts cannot lock customers out for
/// six hours.
pub const EVICT_IDLE_MS: i64 = 30 * 60 * 1000;

/// A line of a cart: what, how many, with which options, and who added it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub id: i64,
    pub item_id: i64,
    pub qty: i64,
    pub options: Vec<i64>,
    pub note: String,
    pub added_by: String,
}
json_object!(CartLine: id, item_id, qty, options, note, added_by);

/// What a phone sends to add a line.
#[derive(Debug, Clone, Default)]
pub struct NewLine {
    pub item_id: i64,
    pub qty: i64,
    pub options: Vec<i64>,
    pub note: String,
    pub added_by: String,
}

impl FromFields for NewLine {
    fn from_fields(f: &Fields) -> Result<NewLine> {
        f.done(NewLine {
            item_id: f.required_int("item_id"),
            qty: f.int("qty").unwrap_or(1),
            options: f.ints("options").unwrap_or_default(),
            note: f.text_or_empty("note"),
            added_by: f.text_or_empty("added_by"),
        })
    }
}

/// A checkout made from a table's cart, for the others at the table: its
/// status page is `/c/{id}?t={token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLink {
    pub id: i64,
    pub token: String,
}
json_object!(CheckoutLink: id, token);

/// A cart as its holders see it (before pricing).
#[derive(Debug, Clone)]
pub struct Cart {
    pub id: i64,
    pub version: i64,
    pub lines: Vec<CartLine>,
    /// The table whose shared cart this is (or was, once checked out).
    pub table_id: Option<i64>,
    /// The latest checkout made from a table's cart.
    pub checkout: Option<CheckoutLink>,
    token_hash: String,
    client: String,
    touched: i64,
    next_line: i64,
}

impl Cart {
    /// The lines as an order asks for them.
    pub fn requests(&self) -> Vec<LineRequest> {
        self.lines
            .iter()
            .map(|l| LineRequest {
                item_id: l.item_id,
                qty: l.qty,
                options: l.options.clone(),
                note: l.note.clone(),
                seen_price_cents: None,
            })
            .collect()
    }
}

/// Checks a new line's numbers and cleans its text.
pub fn clean_line(line: &NewLine) -> Result<NewLine> {
    if !(1..=MAX_QTY).contains(&line.qty) {
        return Err(Error::bad(Code::OrderBadQuantity).with("max", MAX_QTY));
    }
    if line.options.len() > menu::MAX_OPTIONS_PER_LINE {
        return Err(Error::bad(Code::OrderTooManyOptions).with("max", menu::MAX_OPTIONS_PER_LINE));
    }
    let mut options = line.options.clone();
    options.sort_unstable();
    Ok(NewLine {
        item_id: line.item_id,
        qty: line.qty,
        options,
        note: text::optional_line("note", &line.note, MAX_LINE_NOTE_CHARS)?,
        added_by: text::optional_line("added_by", &line.added_by, MAX_ADDED_BY_CHARS)?,
    })
}

/// Every cart of the venue, in memory.
#[derive(Clone, Default)]
pub struct Carts {
    shelf: Arc<Mutex<Shelf>>,
}

#[derive(Default)]
struct Shelf {
    /// Sorted by id: ids only grow, so a new cart goes at the end.
    carts: Vec<Cart>,
    next_id: i64,
    lines: usize,
    /// Tables' shared carts (at most one entry per table).
    tables: Vec<TableCarts>,
}

/// A table's carts: the one everyone holding the table's link shares, and
/// the one checked out last (kept so the others can follow its checkout).
/// At most two carts per table, however often it checks out.
struct TableCarts {
    table_id: i64,
    /// The hash of the link's secret the carts were opened with.
    secret_hash: String,
    current: Option<(i64, String)>,
    previous: Option<i64>,
}

/// The client address table carts count under: they are bounded per
/// table, not per phone.
const TABLE_CLIENT: &str = "table";

impl Shelf {
    /// Forgets carts idle for `IDLE_MS`: one pass over at most `MAX_CARTS`.
    fn sweep(&mut self, now: i64) {
        let mut freed = 0;
        self.carts.retain(|cart| {
            let keep = now - cart.touched < IDLE_MS;
            if !keep {
                freed += cart.lines.len();
            }
            keep
        });
        self.lines -= freed;
    }

    fn find(&self, id: i64) -> Option<usize> {
        self.carts.binary_search_by_key(&id, |cart| cart.id).ok()
    }

    fn table(&mut self, table_id: i64) -> Option<&mut TableCarts> {
        self.tables.iter_mut().find(|t| t.table_id == table_id)
    }

    fn remove(&mut self, id: i64) {
        if let Some(at) = self.find(id) {
            self.lines -= self.carts.remove(at).lines.len();
        }
    }

    /// A new empty cart: its id and token. When every place is taken, the
    /// cart left alone longest goes if idle for `EVICT_IDLE_MS`.
    fn insert(&mut self, client: &str, table_id: Option<i64>, now: i64) -> Result<(i64, String)> {
        let token = crypto::random_token()?;
        if self.carts.len() >= MAX_CARTS {
            let oldest = self
                .carts
                .iter()
                .filter(|c| now - c.touched >= EVICT_IDLE_MS)
                .min_by_key(|c| c.touched)
                .map(|c| c.id);
            match oldest {
                Some(id) => self.remove(id),
                None => return Err(Error::conflict(Code::CartVenueFull)),
            }
        }
        self.next_id += 1;
        let id = self.next_id;
        self.carts.push(Cart {
            id,
            version: 1,
            lines: Vec::new(),
            table_id,
            checkout: None,
            token_hash: crypto::token_hash(&token),
            client: client.to_string(),
            touched: now,
            next_line: 1,
        });
        Ok((id, token))
    }

    /// Ends every cart of the table: a rotated secret or a deleted table.
    fn forget_table(&mut self, table_id: i64) {
        if let Some(at) = self.tables.iter().position(|t| t.table_id == table_id) {
            let table = self.tables.swap_remove(at);
            let ids = table.current.map(|(id, _)| id).into_iter();
            for id in ids.chain(table.previous) {
                self.remove(id);
            }
        }
    }

    /// The cart if `token` opens it and it has not expired by `now`.
    fn open(&mut self, id: i64, token: &str, now: i64) -> Result<&mut Cart> {
        let hash = crypto::token_hash(token);
        let at = self.find(id);
        let expired = match at.map(|at| &self.carts[at]) {
            Some(cart) if crypto::constant_time_eq(cart.token_hash.as_bytes(), hash.as_bytes()) => {
                now - cart.touched >= IDLE_MS
            }
            _ => return Err(not_found()),
        };
        if expired {
            self.remove(id);
            return Err(not_found());
        }
        let at = at.ok_or_else(not_found)?;
        Ok(&mut self.carts[at])
    }
}

fn not_found() -> Error {
    Error::not_found(Code::CartNotFound)
}

impl Carts {
    fn lock(&self) -> MutexGuard<'_, Shelf> {
        self.shelf.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new empty cart for `client` (its address): its id and token.
    pub fn create(&self, client: &str, now: i64) -> Result<(i64, String)> {
        let mut shelf = self.lock();
        shelf.sweep(now);
        let of_client = shelf.carts.iter().filter(|c| c.client == client).count();
        if of_client >= MAX_CARTS_PER_CLIENT {
            return Err(
                Error::from(Failure::TooManyOpenOrders(crate::error::Problem::new(
                    Code::CartTooMany,
                )))
                .with("max", MAX_CARTS_PER_CLIENT),
            );
        }
        shelf.insert(client, None, now)
    }

    /// The shared cart of a table whose link (`secret`) was checked: the
    /// same id and token for everyone holding the link, a new cart after a
    /// checkout or expiry. A secret other than the one the cart was opened
    /// with (the owner rotated it) ends the old carts first.
    pub fn for_table(&self, table_id: i64, secret: &str, now: i64) -> Result<(i64, String)> {
        let secret_hash = crypto::token_hash(secret);
        let mut shelf = self.lock();
        shelf.sweep(now);
        let rotated = shelf.table(table_id).is_some_and(|t| {
            !crypto::constant_time_eq(t.secret_hash.as_bytes(), secret_hash.as_bytes())
        });
        if rotated {
            shelf.forget_table(table_id);
        }
        let current = shelf.table(table_id).and_then(|t| t.current.clone());
        if let Some((id, token)) = current {
            if let Ok(cart) = shelf.open(id, &token, now) {
                cart.touched = now;
                return Ok((id, token));
            }
        }
        let (id, token) = shelf.insert(TABLE_CLIENT, Some(table_id), now)?;
        let current = Some((id, token.clone()));
        match shelf.table(table_id) {
            Some(table) => table.current = current,
            None => shelf.tables.push(TableCarts {
                table_id,
                secret_hash,
                current,
                previous: None,
            }),
        }
        Ok((id, token))
    }

    /// Ends the table's carts at once: its secret was rotated or it was
    /// deleted, so the old link reaches no cart.
    pub fn forget_table(&self, table_id: i64) {
        self.lock().forget_table(table_id);
    }

    /// The cart, if `token` opens it; looking keeps it alive.
    pub fn get(&self, id: i64, token: &str, now: i64) -> Result<Cart> {
        let mut shelf = self.lock();
        let cart = shelf.open(id, token, now)?;
        cart.touched = now;
        Ok(cart.clone())
    }

    /// Adds a cleaned line (`clean_line`); the same item with the same
    /// options, note and name adds to that line's quantity.
    pub fn add(&self, id: i64, token: &str, line: NewLine, now: i64) -> Result<Cart> {
        let mut shelf = self.lock();
        let in_all = shelf.lines;
        let cart = shelf.open(id, token, now)?;
        let same = cart.lines.iter_mut().find(|l| {
            (l.item_id, &l.options, &l.note, &l.added_by)
                == (line.item_id, &line.options, &line.note, &line.added_by)
        });
        let added = match same {
            Some(same) => {
                if same.qty + line.qty > MAX_QTY {
                    return Err(Error::bad(Code::OrderBadQuantity).with("max", MAX_QTY));
                }
                same.qty += line.qty;
                false
            }
            None => {
                if cart.lines.len() >= MAX_CART_LINES {
                    return Err(Error::conflict(Code::CartTooManyLines).with("max", MAX_CART_LINES));
                }
                if in_all >= MAX_LINES_IN_ALL {
                    return Err(Error::conflict(Code::CartVenueFull));
                }
                cart.lines.push(CartLine {
                    id: cart.next_line,
                    item_id: line.item_id,
                    qty: line.qty,
                    options: line.options,
                    note: line.note,
                    added_by: line.added_by,
                });
                cart.next_line += 1;
                true
            }
        };
        cart.version += 1;
        cart.touched = now;
        let cart = cart.clone();
        if added {
            shelf.lines += 1;
        }
        Ok(cart)
    }

    /// Sets a line's quantity (1..=MAX_QTY).
    pub fn set_qty(&self, id: i64, token: &str, line_id: i64, qty: i64, now: i64) -> Result<Cart> {
        if !(1..=MAX_QTY).contains(&qty) {
            return Err(Error::bad(Code::OrderBadQuantity).with("max", MAX_QTY));
        }
        let mut shelf = self.lock();
        let cart = shelf.open(id, token, now)?;
        let line = cart
            .lines
            .iter_mut()
            .find(|l| l.id == line_id)
            .ok_or_else(|| Error::not_found(Code::CartLineNotFound))?;
        line.qty = qty;
        cart.version += 1;
        cart.touched = now;
        Ok(cart.clone())
    }

    /// Removes a line.
    pub fn remove_line(&self, id: i64, token: &str, line_id: i64, now: i64) -> Result<Cart> {
        let mut shelf = self.lock();
        let cart = shelf.open(id, token, now)?;
        let before = cart.lines.len();
        cart.lines.retain(|l| l.id != line_id);
        if cart.lines.len() == before {
            return Err(Error::not_found(Code::CartLineNotFound));
        }
        cart.version += 1;
        cart.touched = now;
        let cart = cart.clone();
        shelf.lines -= 1;
        Ok(cart)
    }

    /// Empties the cart once its lines became a checkout, if it is still at
    /// `version` (a line added meanwhile stays), and remembers the checkout
    /// so its other holders (the others at a table) can follow it. A table's
    /// cart, once emptied, stops being the table's: its next visitor gets a
    /// new one.
    pub fn checked_out(
        &self,
        id: i64,
        token: &str,
        version: i64,
        checkout: CheckoutLink,
        now: i64,
    ) -> Result<()> {
        let mut shelf = self.lock();
        let cart = shelf.open(id, token, now)?;
        let table_id = cart.table_id;
        let unchanged = cart.version == version;
        cart.checkout = Some(checkout);
        cart.version += 1;
        if !unchanged {
            return Ok(());
        }
        let emptied = cart.lines.len();
        cart.lines.clear();
        shelf.lines -= emptied;
        let Some(table_id) = table_id else {
            return Ok(());
        };
        let earlier = shelf.table(table_id).and_then(|table| {
            if table
                .current
                .as_ref()
                .is_some_and(|(current, _)| *current == id)
            {
                table.current = None;
            }
            table.previous.replace(id).filter(|earlier| *earlier != id)
        });
        if let Some(earlier) = earlier {
            shelf.remove(earlier);
        }
        Ok(())
    }

    /// The cart's version, if `token` opens it (long-poll).
    pub fn version(&self, id: i64, token: &str, now: i64) -> Result<i64> {
        Ok(self.lock().open(id, token, now)?.version)
    }
}

/// A cart line priced from the menu now, or why it cannot be ordered.
#[derive(Debug)]
pub struct PricedLine {
    pub id: i64,
    pub item_id: i64,
    pub qty: i64,
    pub options: Vec<i64>,
    pub note: String,
    pub added_by: String,
    pub shop_id: i64,
    pub shop_name: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
    /// The options as named and priced now.
    pub chosen: Vec<orders::LineOptionView>,
    /// Why it cannot be ordered now, in the asker's words (set by `http`).
    pub problem: Option<String>,
    pub error: Option<Error>,
}
json_object!(PricedLine: id, item_id, qty, options, note, added_by, shop_id, shop_name, name,
    unit_price_cents, line_total_cents, chosen, problem);

/// One shop's part of a cart.
#[derive(Debug)]
pub struct ShopTotal {
    pub shop_id: i64,
    pub shop_name: String,
    pub total_cents: i64,
}
json_object!(ShopTotal: shop_id, shop_name, total_cents);

/// A cart as its page and its long-poll show it: lines grouped by shop.
#[derive(Debug)]
pub struct PricedCart {
    pub id: i64,
    pub version: i64,
    pub table_id: Option<i64>,
    /// A table's latest checkout: the others at the table follow it.
    pub checkout: Option<CheckoutLink>,
    pub lines: Vec<PricedLine>,
    pub shops: Vec<ShopTotal>,
    /// Of the lines that can be ordered.
    pub total_cents: i64,
}
json_object!(PricedCart: id, version, table_id, checkout, lines, shops, total_cents);

/// Prices one line from the menu: its shop must take orders at `now`.
pub fn price_line(
    conn: &Connection,
    line: &LineRequest,
    zone_rule: &str,
    minute: i64,
    now: i64,
) -> Result<(i64, String, orders::LineView)> {
    let item = crate::store::items::by_id(conn, line.item_id)?
        .ok_or_else(|| Error::bad(Code::OrderUnknownItem).with("item", line.item_id))?;
    let shop = catalog::approved_shop(conn, item.shop_id)?;
    let wanted = orders::merge_lines(std::slice::from_ref(line))?;
    let priced = orders::price_lines(conn, shop.id, &wanted, minute)?;
    let view = priced
        .into_iter()
        .next()
        .map(orders::LineView::from)
        .ok_or_else(|| Error::bad(Code::OrderNoItems))?;
    orders::open_shop(conn, shop.id, zone_rule, now)?;
    Ok((shop.id, shop.name, view))
}

/// The cart priced now, in shop order (lines in the order they came).
pub fn priced(
    conn: &Connection,
    cart: &Cart,
    zone_rule: &str,
    minute: i64,
    now: i64,
) -> Result<PricedCart> {
    let mut lines = Vec::with_capacity(cart.lines.len());
    for (line, request) in cart.lines.iter().zip(cart.requests()) {
        let (shop_id, shop_name, view, error) =
            match price_line(conn, &request, zone_rule, minute, now) {
                Ok((shop_id, shop_name, view)) => (shop_id, shop_name, Some(view), None),
                Err(error) => {
                    let shop = crate::store::items::by_id(conn, line.item_id)?
                        .and_then(|i| catalog::approved_shop(conn, i.shop_id).ok());
                    let (id, name) = shop.map_or((0, String::new()), |s| (s.id, s.name));
                    (id, name, None, Some(error))
                }
            };
        let name = match (&view, &error) {
            (Some(v), _) => v.name.clone(),
            _ => crate::store::items::by_id(conn, line.item_id)?
                .map_or_else(String::new, |i| i.fields.name),
        };
        lines.push(PricedLine {
            id: line.id,
            item_id: line.item_id,
            qty: line.qty,
            options: line.options.clone(),
            note: line.note.clone(),
            added_by: line.added_by.clone(),
            shop_id,
            shop_name,
            name,
            unit_price_cents: view.as_ref().map_or(0, |v| v.unit_price_cents),
            line_total_cents: view.as_ref().map_or(0, |v| v.line_total_cents),
            chosen: view.map(|v| v.options).unwrap_or_default(),
            problem: None,
            error,
        });
    }
    lines.sort_by_key(|l| l.shop_id);
    let mut shops: Vec<ShopTotal> = Vec::new();
    for line in &lines {
        match shops.last_mut() {
            Some(shop) if shop.shop_id == line.shop_id => shop.total_cents += line.line_total_cents,
            _ => shops.push(ShopTotal {
                shop_id: line.shop_id,
                shop_name: line.shop_name.clone(),
                total_cents: line.line_total_cents,
            }),
        }
    }
    Ok(PricedCart {
        id: cart.id,
        version: cart.version,
        table_id: cart.table_id,
        checkout: cart.checkout.clone(),
        total_cents: shops.iter().map(|s| s.total_cents).sum(),
        shops,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Failed, Failure};

    fn line(item_id: i64, qty: i64) -> NewLine {
        clean_line(&NewLine {
            item_id,
            qty,
            ..NewLine::default()
        })
        .unwrap()
    }

    #[test]
    fn only_the_token_opens_a_cart_and_edits_move_its_version() {
        let carts = Carts::default();
        let (id, token) = carts.create("10.0.0.1", 0).unwrap();
        assert!(carts.get(id, &"f".repeat(64), 1).is_err());
        assert!(carts.get(id + 1, &token, 1).is_err());
        let cart = carts.add(id, &token, line(7, 2), 1).unwrap();
        assert_eq!((cart.version, cart.lines.len()), (2, 1));
        // The same line again adds to its quantity.
        let cart = carts.add(id, &token, line(7, 3), 2).unwrap();
        assert_eq!((cart.lines.len(), cart.lines[0].qty), (1, 5));
        assert!(carts.add(id, &token, line(7, 46), 2).is_err());
        let line_id = cart.lines[0].id;
        assert_eq!(
            carts.set_qty(id, &token, line_id, 9, 3).unwrap().lines[0].qty,
            9
        );
        assert!(carts.set_qty(id, &token, line_id, 0, 3).is_err());
        assert!(carts.set_qty(id, &token, line_id + 1, 2, 3).is_err());
        let cart = carts.remove_line(id, &token, line_id, 4).unwrap();
        assert!(cart.lines.is_empty());
        assert_eq!(cart.version, 5);
        assert_eq!(carts.lock().lines, 0);
    }

    #[test]
    fn carts_are_bounded_per_client_per_cart_and_in_all() {
        let carts = Carts::default();
        for _ in 0..MAX_CARTS_PER_CLIENT {
            carts.create("10.0.0.1", 0).unwrap();
        }
        assert!(matches!(
            carts.create("10.0.0.1", 0).failure(),
            Err(Failure::TooManyOpenOrders(p)) if p.code == Code::CartTooMany
        ));
        let (id, token) = carts.create("10.0.0.2", 0).unwrap();
        for item in 0..MAX_CART_LINES as i64 {
            carts.add(id, &token, line(item, 1), 0).unwrap();
        }
        assert!(matches!(
            carts.add(id, &token, line(999, 1), 0).failure(),
            Err(Failure::Conflict(p)) if p.code == Code::CartTooManyLines
        ));
        assert!(clean_line(&NewLine {
            item_id: 1,
            qty: 1,
            added_by: "x".repeat(MAX_ADDED_BY_CHARS + 1),
            ..NewLine::default()
        })
        .is_err());
        // A full venue evicts the cart idle longest, once idle long enough.
        let held = carts.lock().carts.len();
        for n in held..MAX_CARTS {
            carts
                .create(&format!("10.1.{}.{}", n / 200, n % 200), 0)
                .unwrap();
        }
        assert!(matches!(
            carts.create("10.9.9.9", EVICT_IDLE_MS - 1).failure(),
            Err(Failure::Conflict(p)) if p.code == Code::CartVenueFull
        ));
        carts.get(id, &token, EVICT_IDLE_MS).unwrap();
        carts.create("10.9.9.9", EVICT_IDLE_MS).unwrap();
        assert_eq!(carts.lock().carts.len(), MAX_CARTS);
        assert!(
            carts.get(id, &token, EVICT_IDLE_MS).is_ok(),
            "the used one stays"
        );
    }

    #[test]
    fn idle_carts_expire_and_free_their_lines() {
        let carts = Carts::default();
        let (id, token) = carts.create("10.0.0.1", 0).unwrap();
        carts.add(id, &token, line(1, 1), 0).unwrap();
        assert!(carts.get(id, &token, IDLE_MS - 1).is_ok());
        assert!(carts.get(id, &token, 2 * IDLE_MS - 2).is_ok());
        assert!(carts.get(id, &token, 3 * IDLE_MS).is_err());
        assert_eq!(carts.lock().lines, 0);
        let (other, _) = carts.create("10.0.0.1", 0).unwrap();
        carts.create("10.0.0.2", IDLE_MS).unwrap();
        assert!(!carts.lock().carts.iter().any(|c| c.id == other));
    }

    #[test]
    fn a_table_shares_one_cart_until_checkout_or_a_new_secret() {
        let carts = Carts::default();
        let (id, token) = carts.for_table(7, "secret-1", 0).unwrap();
        assert_eq!(
            carts.for_table(7, "secret-1", 1).unwrap(),
            (id, token.clone())
        );
        assert_ne!(carts.for_table(8, "secret-1", 1).unwrap().0, id);
        let cart = carts.add(id, &token, line(1, 1), 2).unwrap();
        assert_eq!(cart.table_id, Some(7));
        let link = CheckoutLink {
            id: 40,
            token: "t".into(),
        };
        carts
            .checked_out(id, &token, cart.version, link.clone(), 3)
            .unwrap();
        // The others still see the emptied cart, with the checkout to follow.
        let old = carts.get(id, &token, 4).unwrap();
        assert_eq!((old.lines.len(), old.checkout), (0, Some(link.clone())));
        let (next, next_token) = carts.for_table(7, "secret-1", 5).unwrap();
        assert_ne!(next, id);
        // A second checkout forgets the first's cart: two carts a table.
        let version = carts.get(next, &next_token, 6).unwrap().version;
        carts
            .checked_out(next, &next_token, version, link, 6)
            .unwrap();
        assert!(carts.get(id, &token, 7).is_err());
        // A rotated secret ends the table's carts.
        let (current, current_token) = carts.for_table(7, "secret-1", 8).unwrap();
        let (rotated, _) = carts.for_table(7, "secret-2", 9).unwrap();
        assert_ne!(rotated, current);
        assert!(carts.get(current, &current_token, 9).is_err());
        assert!(carts.get(next, &next_token, 9).is_err());
        carts.forget_table(7);
        assert_eq!(carts.lock().carts.len(), 1, "table 8's cart stays");
        assert!(!carts.lock().tables.iter().any(|t| t.table_id == 7));
    }
}
