//! Carts across shops, checkout and the checkout's status page. A cart's
//! token authorises every call on it (`?t=` or `Authorization: Bearer`);
//! a checkout's token is its orders' token.

use super::customer::{holder, minute_now, placement};
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{self, customer_token};
use crate::http::render::{page, speech};
use crate::http::request::Request;
use crate::http::response::{json, with_body, Response, Speech};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::live::{Audience, Built, Changes, Topic};
use crate::ordering::carts::{self, Cart, CheckoutLink, NewLine};
use crate::ordering::checkout::{self, CheckedOut, CheckoutRequest, Outcome};
use crate::ordering::orders::{Holder, LineRequest, Placement};
use crate::support::crypto;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::{json_fields, json_object, Sorted, With};
use crate::support::net::client_key;
use crate::support::ratelimit::Action;
use crate::support::time::now_ms;
use hyper::body::Bytes;
use hyper::StatusCode;
use std::time::Duration;

/// The cart token a request carries.
fn cart_token(req: &Request) -> Result<String> {
    req.param("t")
        .or_else(|| req.bearer())
        .map(str::to_string)
        .ok_or_else(|| Error::not_found(Code::CartNotFound))
}

fn wait_of(req: &Request) -> Result<Duration> {
    Ok(Duration::from_secs(
        req.int_param("wait", 0)?.clamp(0, 60) as u64
    ))
}

pub(super) fn published(app: &App, cart_id: i64) {
    let mut changes = Changes::default();
    changes.add(Topic::Cart(cart_id));
    app.data.live.publish(&changes);
}

/// The cart priced now, with each problem in the asker's words.
async fn priced_json(app: &App, cart: Cart, speech: &Speech) -> Result<Built> {
    let rule = app.venue().time_zone_rule.clone();
    let minute = minute_now(app);
    let now = now_ms();
    let mut priced = app
        .data
        .read(move |c| carts::priced(c, &cart, &rule, minute, now))
        .await?;
    for line in &mut priced.lines {
        line.problem = line.error.as_ref().map(|e| speech.message(e));
    }
    Ok(Built::json(priced.version, &priced))
}

fn answer(status: StatusCode, built: Built) -> Response {
    with_body(status, "application/json", Bytes::from_owner(built.body))
}

pub async fn api_create(app: &App, req: &Request) -> Result<Response> {
    let (id, token) = app
        .carts
        .create(&client_key(req.peer.ip()).to_string(), now_ms())?;
    Ok(json(
        StatusCode::CREATED,
        &Sorted(&json_fields! { "id" => id, "token" => token, "version" => 1i64 }),
    ))
}

/// The cart; with `since` and `wait`, held until another phone changes it.
pub async fn api_get(app: &App, req: &Request, id: i64) -> Result<Response> {
    let token = cart_token(req)?;
    let since = req.int_param("since", -1)?;
    let speech = speech(app, req);
    let version = {
        let token = token.clone();
        async move { app.carts.version(id, &token, now_ms()) }
    };
    let build = || {
        let (token, speech) = (token.clone(), &speech);
        async move {
            let cart = app.carts.get(id, &token, now_ms())?;
            priced_json(app, cart, speech).await
        }
    };
    let body = app
        .data
        .live
        .answer(
            Topic::Cart(id),
            Audience::Customer,
            since,
            wait_of(req)?,
            version,
            build,
        )
        .await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(body),
    ))
}

/// Adds a line if the menu can price it now (an unknown item, a bad option
/// or a sold-out one is refused here rather than at checkout).
pub(super) async fn add_priced_line(
    app: &App,
    id: i64,
    token: &str,
    line: NewLine,
) -> Result<Cart> {
    let line = carts::clean_line(&line)?;
    let asked = LineRequest {
        item_id: line.item_id,
        qty: line.qty,
        options: line.options.clone(),
        note: line.note.clone(),
        seen_price_cents: None,
    };
    let rule = app.venue().time_zone_rule.clone();
    let minute = minute_now(app);
    let now = now_ms();
    app.data
        .read(move |c| carts::price_line(c, &asked, &rule, minute, now).map(|_| ()))
        .await?;
    app.carts.add(id, token, line, now_ms())
}

pub async fn api_add(app: &App, req: &Request, id: i64) -> Result<Response> {
    let token = cart_token(req)?;
    let line = req.json::<NewLine>()?;
    app.carts.get(id, &token, now_ms())?;
    let cart = add_priced_line(app, id, &token, line).await?;
    published(app, id);
    Ok(answer(
        StatusCode::CREATED,
        priced_json(app, cart, &speech(app, req)).await?,
    ))
}

struct QtyRequest {
    qty: i64,
}

impl FromFields for QtyRequest {
    fn from_fields(f: &Fields) -> Result<QtyRequest> {
        f.done(QtyRequest {
            qty: f.required_int("qty"),
        })
    }
}

pub async fn api_set_qty(app: &App, req: &Request, id: i64, line: i64) -> Result<Response> {
    let token = cart_token(req)?;
    let qty = req.json::<QtyRequest>()?.qty;
    let cart = app.carts.set_qty(id, &token, line, qty, now_ms())?;
    published(app, id);
    Ok(answer(
        StatusCode::OK,
        priced_json(app, cart, &speech(app, req)).await?,
    ))
}

pub async fn api_remove(app: &App, req: &Request, id: i64, line: i64) -> Result<Response> {
    let token = cart_token(req)?;
    let cart = app.carts.remove_line(id, &token, line, now_ms())?;
    published(app, id);
    Ok(answer(
        StatusCode::OK,
        priced_json(app, cart, &speech(app, req)).await?,
    ))
}

/// A refused line of a checkout, as the 409 answer lists it.
struct RefusedLine {
    line: usize,
    item_id: i64,
    shop_id: Option<i64>,
    code: &'static str,
    error: String,
}
json_object!(RefusedLine: line, item_id, shop_id, code, error);

/// `{cart_id | lines, customer_name, note, client_ref, pickup_at,
/// promo_codes, table, table_secret}`: one order per shop, or `409
/// checkout.refused` naming every faulty line, or `409
/// checkout.promo_refused` naming the shop and code. A table's shared
/// cart checks out under a token of its own, which the cart then shows
/// the others at the table.
pub async fn api_checkout(app: &App, req: &Request) -> Result<Response> {
    app.limits.take(Action::PlaceOrder, req.peer.ip())?;
    let mut asked: CheckoutRequest = req.json()?;
    let cart = match asked.cart_id {
        Some(id) => {
            let token = asked
                .cart_token
                .clone()
                .map_or_else(|| cart_token(req), Ok)?;
            Some((app.carts.get(id, &token, now_ms())?, token))
        }
        None => None,
    };
    let lines = match &cart {
        Some((cart, _)) => cart.requests(),
        None => asked.lines.clone(),
    };
    let who = checkout_placement(app, req, &mut asked, cart.as_ref()).await?;
    let outcome = checkout::place_checkout(&app.data, asked, lines, who).await?;
    let speech = speech(app, req);
    let done = match outcome {
        Outcome::Done(done) => done,
        Outcome::Refused(faults) => {
            let refused = Error::conflict(Code::CheckoutRefused);
            let lines: Vec<_> = faults
                .iter()
                .map(|f| RefusedLine {
                    line: f.line,
                    item_id: f.item_id,
                    shop_id: f.shop_id,
                    code: f.error.code(),
                    error: speech.message(&f.error),
                })
                .collect();
            return Ok(json(
                StatusCode::CONFLICT,
                &Sorted(&json_fields! {
                    "error" => speech.message(&refused),
                    "code" => refused.code(),
                    "lines" => lines,
                }),
            ));
        }
        Outcome::PromoRefused(fault) => {
            let refused = Error::conflict(Code::CheckoutPromoRefused)
                .with("shop", &fault.shop_name)
                .with("reason", speech.message(&fault.error));
            return Ok(json(
                StatusCode::CONFLICT,
                &Sorted(&json_fields! {
                    "error" => speech.message(&refused),
                    "code" => refused.code(),
                    "shop_id" => fault.shop_id,
                    "promo_code" => fault.code,
                    "reason" => fault.error.code(),
                }),
            ));
        }
    };
    after_checkout(app, req, &done, cart.as_ref())?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    // Keys in byte order at every depth, as when this went through a
    // `serde_json::Value`: clients see the same bytes.
    let body = With(&done.view, json_fields! { "token" => done.token });
    let mut response = json(status, &Sorted(&body));
    if owns_token(cart.as_ref()) {
        crate::http::identity::set_customer_cookie(&mut response, &done.token);
    }
    Ok(response)
}

/// Who places a checkout: a table's shared cart orders at its table (link
/// or not) under a token of its own, shown to the others at the table.
pub(super) async fn checkout_placement(
    app: &App,
    req: &Request,
    asked: &mut CheckoutRequest,
    cart: Option<&(Cart, String)>,
) -> Result<Placement> {
    asked.at_table = super::tables::checkout_table(
        app,
        req,
        asked.table.as_deref(),
        asked.table_secret.as_deref(),
    )
    .await?;
    let table_cart = cart.filter(|(c, _)| c.table_id.is_some());
    if let Some(table_id) = table_cart.and_then(|(c, _)| c.table_id) {
        if asked.at_table.is_none() {
            asked.at_table = app
                .data
                .db
                .read(move |c| {
                    Ok(crate::store::tables::by_id(c, table_id)?.map(|row| (row.id, row.name)))
                })
                .await?;
        }
    }
    let holder = match table_cart {
        Some((_, token)) => {
            let data = format!("table-order:{token}:{}", asked.client_ref);
            Holder::Reserved(identity::derived_token(app, &data, &asked.client_ref))
        }
        None => holder(app, req, &asked.client_ref),
    };
    Ok(placement(app, req, holder))
}

/// After a checkout: an Android sign-in window stays open until its orders
/// are collected, and the cart it came from is emptied for its holders.
pub(super) fn after_checkout(
    app: &App,
    req: &Request,
    done: &CheckedOut,
    cart: Option<&(Cart, String)>,
) -> Result<()> {
    for order in &done.view.orders {
        app.clients
            .ordered(req.peer.ip(), order.order.id, &done.token);
    }
    if let Some((cart, token)) = cart.filter(|_| done.created) {
        let link = CheckoutLink {
            id: done.view.id,
            token: done.token.clone(),
        };
        app.carts
            .checked_out(cart.id, token, cart.version, link, now_ms())?;
        published(app, cart.id);
    }
    Ok(())
}

/// Whether the checkout's token becomes this device's: a table's is the
/// table's to share.
pub(super) fn owns_token(cart: Option<&(Cart, String)>) -> bool {
    cart.is_none_or(|(c, _)| c.table_id.is_none())
}

/// The checkout with every order's stage and estimate; a long-poll woken by
/// any change to its shops' orders.
pub async fn api_checkout_get(app: &App, req: &Request, id: i64) -> Result<Response> {
    let token =
        customer_token(req, None).ok_or_else(|| Error::not_found(Code::CheckoutNotFound))?;
    let since = req.int_param("since", -1)?;
    let body = checkout::wait_for_checkout(
        &app.data,
        id,
        crypto::token_hash(&token),
        since,
        wait_of(req)?,
    )
    .await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(body),
    ))
}

/// `/c/{id}?t=TOKEN`: every order of the checkout with its shop, code,
/// stage and estimate; works without JavaScript (it refreshes), follows
/// the long-poll with it and chimes as each order becomes ready.
pub async fn checkout_page(app: &App, req: &Request, id: i64) -> Result<Response> {
    let token =
        customer_token(req, None).ok_or_else(|| Error::not_found(Code::CheckoutNotFound))?;
    let hash = crypto::token_hash(&token);
    let now = now_ms();
    let view = app
        .data
        .read(move |c| {
            checkout::visible_checkout(c, id, &hash)?;
            checkout::load_checkout(c, id, now)
        })
        .await?;
    let template = if req.param("fragment").is_some() {
        "customer/checkout_status.html"
    } else {
        "customer/checkout.html"
    };
    page(
        app,
        req,
        template,
        context! { checkout => value(&view), t => token },
    )
    .await
}
