//! The customer's cart across shops as pages: lines added from any shop's
//! menu, item or product page, changed and removed, checked out into one
//! order per shop; and the orders this device placed, each with its
//! receipt and "order again". Plain forms that redirect, so all of it works
//! without JavaScript; `static/app.js` follows the cart live and remembers
//! it where the browser keeps storage.

use super::carts::{add_priced_line, after_checkout, checkout_placement, owns_token, published};
use super::customer::{carried_of, carry_query, cart_lines, home_link, minute_now};
use crate::app::App;
use crate::error::{Code, Error, Failure, Result};
use crate::http::identity::{self, check_csrf, customer_token, device_token, is_token_shaped};
use crate::http::render::{page, speech};
use crate::http::request::Request;
use crate::http::response::{redirect, Response};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::ordering::carts::{self, CheckoutLink, NewLine, PricedLine};
use crate::ordering::checkout::{self, CheckoutRequest, Outcome, SLOT_MS};
use crate::ordering::menu::MINUTES_PER_DAY;
use crate::ordering::orders::{self, Actor, LineRequest};
use crate::support::crypto;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::json_read::{Json, Object};
use crate::support::net::client_key;
use crate::support::ratelimit::Action;
use crate::support::text::{self, percent_encode};
use crate::support::time::now_ms;
use hyper::StatusCode;

/// Order tokens the history page reads at once (each its latest 50 orders).
const MAX_HISTORY_TOKENS: usize = 10;
/// Orders the history page lists.
const MAX_HISTORY_ORDERS: usize = 50;

type Pairs = [(String, String)];

fn field<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The cart a page or form names: its id and token.
fn named_cart(pairs: &Pairs) -> Option<(i64, String)> {
    Some((
        field(pairs, "cart")?.parse().ok()?,
        field(pairs, "ct")?.to_string(),
    ))
}

/// The name a table's guest shows on the lines they add.
fn added_by(pairs: &Pairs) -> String {
    super::customer::guest_name(field(pairs, "by").unwrap_or_default())
}

/// The order token a form or link carries, if it looks like one.
fn carried_token(req: &Request, pairs: &Pairs) -> Option<String> {
    field(pairs, "t")
        .filter(|t| is_token_shaped(t))
        .map(str::to_string)
        .or_else(|| customer_token(req, None))
}

/// `/cart?…`: the cart with the table, the name shown there and the order
/// token carried on, and the items that could not be added (`gone`).
fn cart_address(req: &Request, pairs: &Pairs, cart: Option<(i64, &str)>, gone: &[i64]) -> String {
    let mut kept: Vec<(String, String)> = carried_of(pairs)
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "table" | "s" | "by"))
        .collect();
    if let Some((id, token)) = cart {
        kept.push(("cart".into(), id.to_string()));
        kept.push(("ct".into(), token.to_string()));
    }
    kept.extend(gone.iter().map(|g| ("gone".to_string(), g.to_string())));
    format!(
        "/cart?{}",
        carry_query(carried_token(req, pairs).as_deref(), &kept)
    )
}

/// The cart a form names if it still opens, else a new one for this client
/// address (a restart or six idle hours forget carts).
fn open_or_create(app: &App, req: &Request, pairs: &Pairs) -> Result<(i64, String)> {
    if let Some((id, token)) = named_cart(pairs) {
        if app.carts.get(id, &token, now_ms()).is_ok() {
            return Ok((id, token));
        }
    }
    app.carts
        .create(&client_key(req.peer.ip()).to_string(), now_ms())
}

/// Adds each line it can, each shown as added by `by`; the items of the
/// lines it could not add (sold out, unavailable now, a full cart).
async fn add_lines(
    app: &App,
    id: i64,
    token: &str,
    lines: Vec<LineRequest>,
    by: &str,
) -> Result<Vec<i64>> {
    let mut gone = Vec::new();
    for line in lines.into_iter().take(carts::MAX_CART_LINES + 1) {
        let item_id = line.item_id;
        let new = NewLine {
            item_id,
            qty: line.qty,
            options: line.options,
            note: line.note,
            added_by: by.to_string(),
        };
        match add_priced_line(app, id, token, new).await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    *e,
                    Failure::BadRequest(_) | Failure::Conflict(_) | Failure::NotFound(_)
                ) =>
            {
                gone.push(item_id)
            }
            Err(e) => return Err(e),
        }
    }
    published(app, id);
    Ok(gone)
}

/// `POST /cart/add`: a menu's quantities or an item page's line into the
/// cart the form names (or a new one); then the cart page.
pub async fn add_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let lines = cart_lines(&form.0)?;
    if lines.is_empty() && named_cart(&form.0).is_none() {
        return Ok(redirect(&cart_address(req, &form.0, None, &[])));
    }
    let (id, token) = open_or_create(app, req, &form.0)?;
    let gone = add_lines(app, id, &token, lines, &added_by(&form.0)).await?;
    Ok(redirect(&cart_address(
        req,
        &form.0,
        Some((id, &token)),
        &gone,
    )))
}

/// `POST /cart/lines/{line}` (`qty`) and `…/{line}/remove`.
pub async fn line_form(app: &App, req: &Request, line: i64, remove: bool) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let (id, token) = named_cart(&form.0).ok_or_else(|| Error::not_found(Code::CartNotFound))?;
    if remove {
        app.carts.remove_line(id, &token, line, now_ms())?;
    } else {
        let qty = form
            .get("qty")
            .and_then(|q| q.trim().parse().ok())
            .ok_or_else(|| Error::bad(Code::OrderBadQuantity).with("max", orders::MAX_QTY))?;
        app.carts.set_qty(id, &token, line, qty, now_ms())?;
    }
    published(app, id);
    Ok(redirect(&cart_address(
        req,
        &form.0,
        Some((id, &token)),
        &[],
    )))
}

/// The start (UTC ms) of each 15-minute pickup slot left today in the
/// venue's day: from the next quarter hour to midnight, at most the next
/// `SLOTS_SHOWN` (a phone's list stays short and the page light). The
/// shops' hours and caps are checked at checkout.
fn slots_today(now: i64, minute: i64) -> Vec<i64> {
    let first = now - now.rem_euclid(SLOT_MS) + SLOT_MS;
    let first_minute = minute + (first - (now - now.rem_euclid(60_000))) / 60_000;
    (0..)
        .map(|i| (first + i * SLOT_MS, first_minute + i * 15))
        .take_while(|(_, m)| *m < MINUTES_PER_DAY)
        .take(SLOTS_SHOWN)
        .map(|(at, _)| at)
        .collect()
}

/// Twelve hours of quarter-hour slots.
const SLOTS_SHOWN: usize = 48;

/// One shop's part of the cart page.
struct ShopPart<'a> {
    shop_id: i64,
    shop_name: &'a str,
    total_cents: i64,
    lines: Vec<&'a PricedLine>,
}
json_object!(ShopPart<'a>: shop_id, shop_name, total_cents, lines);

/// What the cart page says about a refused checkout.
struct Refusal {
    status: StatusCode,
    problem: String,
    /// Cart line ids and why each cannot be ordered.
    lines: Vec<(i64, String)>,
}

/// `GET /cart?cart=ID&ct=TOKEN`: the cart grouped by shop, live.
pub async fn cart_page(app: &App, req: &Request) -> Result<Response> {
    show(app, req, &req.query, None).await
}

async fn show(
    app: &App,
    req: &Request,
    pairs: &Pairs,
    refusal: Option<Refusal>,
) -> Result<Response> {
    let now = now_ms();
    let named = named_cart(pairs);
    let cart = named
        .as_ref()
        .and_then(|(id, token)| app.carts.get(*id, token, now).ok());
    let speech = speech(app, req);
    let rule = app.venue().time_zone_rule.clone();
    let minute = minute_now(app);
    let gone: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "gone")
        .filter_map(|(_, v)| v.parse().ok())
        .take(carts::MAX_CART_LINES + 1)
        .collect();
    let table = match (field(pairs, "table"), field(pairs, "s")) {
        // The full page only: the live fragment never asks again.
        (Some(code), Some(secret)) if req.param("fragment").is_none() => {
            table_name(app, req, code, secret).await
        }
        _ => None,
    };
    let (mut priced, gone_names) = {
        let cart = cart.clone();
        let rule = rule.clone();
        app.data
            .read(move |c| {
                let priced = match &cart {
                    Some(cart) => Some(carts::priced(c, cart, &rule, minute, now)?),
                    None => None,
                };
                let mut names = Vec::new();
                for id in gone {
                    names.push(
                        crate::store::items::by_id(c, id)?
                            .map_or_else(|| format!("#{id}"), |i| i.fields.name),
                    );
                }
                Ok((priced, names))
            })
            .await?
    };
    if let Some(priced) = &mut priced {
        for line in &mut priced.lines {
            line.problem = line.error.as_ref().map(|e| speech.message(e));
            if let Some((_, why)) = refusal
                .as_ref()
                .and_then(|r| r.lines.iter().find(|(id, _)| *id == line.id))
            {
                line.problem = Some(why.clone());
            }
        }
    }
    let shops: Vec<ShopPart> = priced
        .as_ref()
        .map(|p| {
            p.shops
                .iter()
                .map(|s| ShopPart {
                    shop_id: s.shop_id,
                    shop_name: &s.shop_name,
                    total_cents: s.total_cents,
                    lines: p.lines.iter().filter(|l| l.shop_id == s.shop_id).collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let token = carried_token(req, pairs);
    let mut kept: Vec<(String, String)> = carried_of(pairs)
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "table" | "s" | "by"))
        .collect();
    let cart_fields = cart.as_ref().map(|c| {
        let (_, token) = named.clone().unwrap_or_default();
        vec![
            ("cart".to_string(), c.id.to_string()),
            ("ct".to_string(), token),
        ]
    });
    kept.extend(cart_fields.clone().unwrap_or_default());
    let (status, problem, faults) = match refusal {
        Some(r) => (r.status, Some(r.problem), r.lines.len()),
        None => (StatusCode::OK, None, 0),
    };
    let by = Some(added_by(pairs)).filter(|by| !by.is_empty());
    let template = if req.param("fragment").is_some() {
        "customer/cart_live.html"
    } else {
        "customer/cart_shops.html"
    };
    let mut response = page(
        app,
        req,
        template,
        context! {
            cart => priced.as_ref().map(|p| value(p)),
            shops => value(&shops),
            expired => named.is_some() && cart.is_none(),
            keep => carry_query(token.as_deref(), &kept),
            fields => kept,
            home => home_link(token.as_deref(), &carried_of(pairs)),
            table => table.map(|t| value(&t)),
            by => by.clone(),
            gone => (!gone_names.is_empty()).then(|| gone_names.join(", ")),
            cart_token => named.as_ref().map(|(_, token)| token.clone()),
            slots => slots_today(now, minute),
            problem => problem,
            faults => faults,
            // What was typed, shown again by the API's rules for text.
            name => field(pairs, "customer_name").map(text::clean_line).or(by),
            note => field(pairs, "note").map(text::clean_text),
            pickup_at => field(pairs, "pickup_at").and_then(|p| p.parse::<i64>().ok()),
            promo => pairs.iter().filter(|(k, v)| k.starts_with("promo_") && !v.is_empty()).map(|(k, v)| (k.clone(), text::clean_line(v))).collect::<Vec<_>>(),
            // Fixed when the cart is shown: a double tap on "Place order"
            // sends the same reference and so makes one checkout.
            client_ref => identity::new_form_ref(app)?,
            t => token,
        },
    )
    .await?;
    *response.status_mut() = status;
    Ok(response)
}

/// The table a link names, for the page's "Table N"; nothing when its code
/// and secret do not match (or too many lookups came from this address).
async fn table_name(
    app: &App,
    req: &Request,
    code: &str,
    secret: &str,
) -> Option<crate::venue::tables::Table> {
    app.limits.take(Action::TableLookup, req.peer.ip()).ok()?;
    let (code, secret) = (code.to_string(), secret.to_string());
    app.data
        .db
        .read(move |c| crate::venue::tables::resolve_table(c, &code, &secret))
        .await
        .ok()
        .map(|row| crate::venue::tables::Table::from(&row))
}

/// The checkout request the cart page's form makes. The promo codes (one
/// per shop, `promo_{shop}`) and the table are sent as `POST /api/checkouts`
/// takes them.
fn checkout_request(pairs: &Pairs, id: i64, token: &str) -> Result<CheckoutRequest> {
    let mut promo_codes = Object::default();
    let codes = pairs.iter().filter_map(|(key, code)| {
        let shop = key.strip_prefix("promo_")?;
        shop.parse::<i64>().ok()?;
        let code = code.trim();
        (!code.is_empty()).then_some((shop, code))
    });
    for (shop, code) in codes.take(carts::MAX_CART_LINES) {
        promo_codes.insert(shop, code.into());
    }
    let pickup_at = match field(pairs, "pickup_at").map(str::trim) {
        None | Some("") => None,
        Some(at) => Some(
            at.parse::<i64>()
                .map_err(|_| Error::bad(Code::CheckoutBadSlot))?,
        ),
    };
    let text = |key| field(pairs, key).unwrap_or_default();
    let mut asked = Object::default();
    let fields: [(&str, Json); 7] = [
        ("cart_id", id.into()),
        ("cart_token", token.into()),
        ("customer_name", text("customer_name").into()),
        ("note", text("note").into()),
        ("client_ref", text("client_ref").into()),
        ("pickup_at", pickup_at.into()),
        ("promo_codes", promo_codes.into()),
    ];
    for (key, value) in fields {
        asked.insert(key, value);
    }
    if let (Some(table), Some(secret)) = (field(pairs, "table"), field(pairs, "s")) {
        asked.insert("table", table.into());
        asked.insert("table_secret", secret.into());
    }
    // Read as the API reads its body.
    CheckoutRequest::from_fields(&Fields::json(&asked))
}

/// Where a checkout is followed: one shop's order on its own status page
/// (with its stages and the customer's cancel button), several on the
/// checkout's.
fn status_path(view: &checkout::CheckoutView, token: &str) -> String {
    let path = match view.orders.as_slice() {
        [one] => format!("/o/{}", one.order.id),
        _ => format!("/c/{}", view.id),
    };
    format!("{path}?t={}", percent_encode(token))
}

async fn status_of(app: &App, placed: &CheckoutLink) -> Result<String> {
    let (id, hash) = (placed.id, crypto::token_hash(&placed.token));
    let now = now_ms();
    let view = app
        .data
        .read(move |c| {
            checkout::visible_checkout(c, id, &hash)?;
            checkout::load_checkout(c, id, now)
        })
        .await?;
    Ok(status_path(&view, &placed.token))
}

/// `POST /checkout`: the cart the form names becomes one order per shop,
/// and the customer lands on the checkout's status page. A refusal shows
/// the cart again with every faulty line named beside it.
pub async fn checkout_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    app.limits.take(Action::PlaceOrder, req.peer.ip())?;
    let (id, token) = named_cart(&form.0).ok_or_else(|| Error::not_found(Code::CartNotFound))?;
    let cart = app.carts.get(id, &token, now_ms())?;
    if let (true, Some(placed)) = (cart.lines.is_empty(), &cart.checkout) {
        // A second tap after the first emptied the cart: where it went.
        return status_of(app, placed).await.map(|path| redirect(&path));
    }
    let mut asked = checkout_request(&form.0, id, &token)?;
    let lines = cart.requests();
    let held = Some((cart, token));
    let who = checkout_placement(app, req, &mut asked, held.as_ref()).await?;
    let speech = speech(app, req);
    let outcome = checkout::place_checkout(&app.data, asked, lines, who).await;
    let refusal = match outcome {
        Ok(Outcome::Done(done)) => {
            after_checkout(app, req, &done, held.as_ref())?;
            let mut response = redirect(&status_path(&done.view, &done.token));
            if owns_token(held.as_ref()) {
                identity::set_customer_cookie(&mut response, &done.token);
            }
            return Ok(response);
        }
        Ok(Outcome::PromoRefused(fault)) => Refusal {
            status: StatusCode::CONFLICT,
            problem: speech.message(
                &Error::conflict(Code::CheckoutPromoRefused)
                    .with("shop", &fault.shop_name)
                    .with("reason", speech.message(&fault.error)),
            ),
            lines: Vec::new(),
        },
        Ok(Outcome::Refused(faults)) => Refusal {
            status: StatusCode::CONFLICT,
            problem: speech.message(&Error::conflict(Code::CheckoutRefused)),
            lines: faults
                .iter()
                .filter_map(|f| {
                    let line = held.as_ref()?.0.lines.get(f.line)?;
                    Some((line.id, speech.message(&f.error)))
                })
                .collect(),
        },
        Err(e) if matches!(*e, Failure::BadRequest(_)) => Refusal {
            status: StatusCode::BAD_REQUEST,
            problem: speech.message(&e),
            lines: Vec::new(),
        },
        Err(e) if matches!(*e, Failure::Conflict(_)) => Refusal {
            status: StatusCode::CONFLICT,
            problem: speech.message(&e),
            lines: Vec::new(),
        },
        Err(e) => return Err(e),
    };
    show(app, req, &form.0, Some(refusal)).await
}

/// `GET /orders?t=…&t=…`: the orders placed under the tokens this device
/// holds (in the link, its cookie, and, through app.js, its storage).
pub async fn history_page(app: &App, req: &Request) -> Result<Response> {
    let mut tokens: Vec<String> = Vec::new();
    let asked = req
        .query
        .iter()
        .filter(|(k, _)| k == "t")
        .map(|(_, v)| v.clone())
        .chain(device_token(req));
    for token in asked.filter(|t| is_token_shaped(t)) {
        if !tokens.contains(&token) && tokens.len() < MAX_HISTORY_TOKENS {
            tokens.push(token);
        }
    }
    let held = tokens.clone();
    let mut found = app
        .data
        .db
        .read(move |c| {
            let mut all = Vec::new();
            for token in held {
                for order in orders::customer_orders(c, &crypto::token_hash(&token))? {
                    all.push((order, token.clone()));
                }
            }
            Ok(all)
        })
        .await?;
    found.sort_by_key(|(o, _)| std::cmp::Reverse(o.id));
    found.dedup_by_key(|(o, _)| o.id);
    found.truncate(MAX_HISTORY_ORDERS);
    let entries: Vec<_> = found
        .iter()
        .map(|(order, token)| context! { order => value(order), t => token })
        .collect();
    let cart = super::customer::carried(req);
    let again: Vec<(String, String)> = cart
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "cart" | "ct" | "table" | "s" | "by"))
        .collect();
    page(
        app,
        req,
        "customer/orders.html",
        context! {
            entries => entries,
            fields => again,
            home => home_link(tokens.first().map(String::as_str), &super::customer::carried(req)),
        },
    )
    .await
}

fn visible(req: &Request, token: Option<String>) -> Result<(Actor, String)> {
    let token = token
        .or_else(|| customer_token(req, None))
        .ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok((
        Actor::Customer {
            token_hash: crypto::token_hash(&token),
        },
        token,
    ))
}

/// `GET /orders/{id}?t=TOKEN`: an order's receipt.
pub async fn receipt_page(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (actor, token) = visible(req, None)?;
    let view = app
        .data
        .db
        .read(move |c| orders::load_view(c, orders::visible_order(c, order_id, &actor)?))
        .await?;
    let again: Vec<(String, String)> = super::customer::carried(req)
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "cart" | "ct" | "table" | "s" | "by"))
        .collect();
    page(
        app,
        req,
        "customer/receipt.html",
        context! { order => value(&view), t => token, fields => again },
    )
    .await
}

/// `POST /orders/{id}/again`: the order's lines into a cart, those still
/// available; the cart page says which are not.
pub async fn again_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let (actor, _) = visible(req, customer_token(req, Some(&form)))?;
    let view = app
        .data
        .db
        .read(move |c| orders::load_view(c, orders::visible_order(c, order_id, &actor)?))
        .await?;
    let lines: Vec<LineRequest> = view
        .items
        .iter()
        .map(|l| LineRequest {
            item_id: l.item_id,
            qty: l.qty,
            options: l.options.iter().map(|o| o.id).collect(),
            note: l.note.clone(),
            seen_price_cents: None,
        })
        .collect();
    let (id, token) = open_or_create(app, req, &form.0)?;
    let gone = add_lines(app, id, &token, lines, &added_by(&form.0)).await?;
    Ok(redirect(&cart_address(
        req,
        &form.0,
        Some((id, &token)),
        &gone,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_run_from_the_next_quarter_hour_to_the_venues_midnight() {
        // 23:20 local (and UTC here): 23:30 and 23:45 are left.
        // 2023-11-15 00:00 UTC.
        let midnight = 1_700_006_400_000;
        let now = midnight + (23 * 60 + 20) * 60_000 + 5_000;
        let slots = slots_today(now, 23 * 60 + 20);
        assert_eq!(
            slots,
            [
                midnight + (23 * 60 + 30) * 60_000,
                midnight + (23 * 60 + 45) * 60_000
            ]
        );
        // Just after midnight: the next twelve hours, not the whole day.
        let morning = slots_today(midnight + 60_000, 1);
        assert_eq!(morning.len(), SLOTS_SHOWN);
        assert_eq!(morning.last(), Some(&(midnight + 12 * 3_600_000)));
        // A venue two hours ahead of UTC counts to its own midnight.
        assert_eq!(slots_today(now - 2 * 3_600_000, 23 * 60 + 20).len(), 2);
    }

    #[test]
    fn a_form_names_a_cart_only_with_its_id_and_token() {
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            named_cart(&pairs(&[("cart", "7"), ("ct", "abc")])),
            Some((7, "abc".to_string()))
        );
        assert_eq!(named_cart(&pairs(&[("cart", "7")])), None);
        assert_eq!(named_cart(&pairs(&[("cart", "x"), ("ct", "abc")])), None);
        let long = "é".repeat(100);
        assert_eq!(
            added_by(&pairs(&[("by", &long)])).chars().count(),
            carts::MAX_ADDED_BY_CHARS
        );
    }
}
