//! Customer routes: shop list, menus, cart, placing orders and following
//! their status, as pages and as JSON.

use super::identity::{self, customer_token, device_token};
use super::page;
use super::request::{percent_encode, Request};
use super::response::{json, redirect, with_body, Response};
use crate::app::App;
use crate::crypto;
use crate::error::{Code, Error, Result};
use crate::orders::{self, Actor, Holder, LineRequest, OrderRequest, Placement, Status};
use crate::ratelimit::Action;
use crate::shops;
use crate::store::orders as order_rows;
use crate::templates::value;
use hyper::StatusCode;
use minijinja::context;
use serde::Deserialize;
use std::time::Duration;

pub async fn api_shops(app: &App) -> Result<Response> {
    let shops = app.db.read(shops::listed).await?;
    Ok(json(StatusCode::OK, &shops))
}

pub async fn api_menu(app: &App, shop_id: i64) -> Result<Response> {
    let (shop, items) = app.db.read(move |c| shops::public_menu(c, shop_id)).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "shop": shop, "items": items }),
    ))
}

/// The token as `?t=…` for links, or nothing.
fn token_query(token: Option<&str>) -> String {
    token.map(|t| format!("?t={t}")).unwrap_or_default()
}

pub async fn home_page(app: &App, req: &Request) -> Result<Response> {
    let token = customer_token(req, None);
    let hash = token.as_deref().map(crypto::token_hash);
    let (shops, my_orders) = app
        .db
        .read(move |c| {
            let mine = match hash {
                Some(hash) => order_rows::for_customer(c, &hash)?,
                None => Vec::new(),
            };
            Ok((shops::listed(c)?, mine))
        })
        .await?;
    page(
        app,
        req,
        "home.html",
        context! {
            shops => value(&shops),
            my_orders => value(&my_orders),
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

pub async fn menu_page(app: &App, req: &Request, shop_id: i64) -> Result<Response> {
    let (shop, items) = app.db.read(move |c| shops::public_menu(c, shop_id)).await?;
    let token = customer_token(req, None);
    page(
        app,
        req,
        "menu.html",
        context! {
            shop => value(&shop),
            items => value(&items),
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

/// The cart is the menu form's quantities (`q<item id>=<qty>`), priced by
/// the server and shown for review with the name and note fields.
pub async fn cart_page(app: &App, req: &Request) -> Result<Response> {
    let shop_id: i64 = req.int_param("shop", 0)?;
    // The menu form sends every item, most with quantity 0.
    let quantities = req
        .query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix('q')?.parse::<i64>().ok()?, v.trim())))
        .filter(|(_, qty)| !qty.is_empty() && *qty != "0")
        .map(|(item, qty)| (item, qty.parse::<i64>().unwrap_or(-1)));
    let wanted = orders::merge_lines(quantities);
    let (shop, items) = app.db.read(move |c| shops::public_menu(c, shop_id)).await?;
    let token = customer_token(req, None);
    let priced = wanted.and_then(|wanted| orders::price_lines(shop.id, &wanted, &items));
    let speech = super::speech(app, req);
    let (lines, problem) = match priced {
        Ok(lines) if lines.is_empty() => (lines, Some(speech.language.text("cart.empty"))),
        Ok(lines) => (lines, None),
        Err(e) => (Vec::new(), Some(speech.message(&e))),
    };
    page(
        app,
        req,
        "cart.html",
        context! {
            shop => value(&shop),
            total_cents => orders::total_cents(&lines),
            lines => value(&lines),
            problem => problem,
            // Fixed when the cart is shown: a double tap on "Place order"
            // sends the same reference and so makes one order.
            client_ref => identity::new_form_ref(app)?,
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

pub async fn place_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form();
    identity::check_csrf(app, req, &form)?;
    app.limits.take(Action::PlaceOrder, req.peer.ip())?;
    let items = form
        .all("item")
        .map(|line| {
            let (item, qty) = line
                .split_once(':')
                .ok_or_else(|| Error::bad(Code::OrderBadLine))?;
            Ok(LineRequest {
                item_id: item.parse().map_err(|_| Error::bad(Code::OrderBadLine))?,
                qty: qty.parse().map_err(|_| Error::bad(Code::OrderBadLine))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let order = OrderRequest {
        shop_id: form
            .get("shop_id")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        items,
        customer_name: form.text("customer_name"),
        note: form.text("note"),
        client_ref: form.text("client_ref"),
    };
    let holder = match device_token(req) {
        Some(token) => Holder::Device(token),
        None => identity::reserved_token(app, &order.client_ref)
            .map_or(Holder::Anonymous, Holder::Reserved),
    };
    let placed = orders::place_order(app, order, placement(app, req, holder)).await?;
    let mut response = redirect(&format!(
        "/o/{}?t={}",
        placed.view.order.id,
        percent_encode(&placed.token)
    ));
    identity::set_customer_cookie(&mut response, &placed.token);
    Ok(response)
}

/// Who places an order from this request, under the venue's limits.
fn placement(app: &App, req: &Request, holder: Holder) -> Placement {
    Placement {
        holder,
        placed_from: req.peer.ip().to_string(),
        limits: app.venue().open_order_limits(),
    }
}

fn customer(req: &Request, form: Option<&super::request::Form>) -> Result<Actor> {
    let token = customer_token(req, form).ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok(Actor::Customer {
        token_hash: crypto::token_hash(&token),
    })
}

/// The stages a customer sees on the status page.
const STEPS: [&str; 4] = ["placed", "accepted", "preparing", "ready"];

pub async fn order_page(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let view = app
        .db
        .read(move |c| orders::load_view(c, orders::visible_order(c, order_id, &actor)?))
        .await?;
    let template = if req.param("fragment").is_some() {
        "order_status.html"
    } else {
        "order.html"
    };
    page(
        app,
        req,
        template,
        context! {
            status => view.order.status.clone(),
            steps => STEPS,
            step_index => STEPS.iter().position(|s| *s == view.order.status),
            order => value(&view),
            t => customer_token(req, None),
        },
    )
    .await
}

pub async fn cancel_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let form = req.form();
    identity::check_csrf(app, req, &form)?;
    let actor = customer(req, Some(&form))?;
    let reason = form.text("reason");
    orders::move_order(app, order_id, Status::Cancelled, actor, reason).await?;
    let token = customer_token(req, Some(&form)).unwrap_or_default();
    Ok(redirect(&format!(
        "/o/{order_id}?t={}",
        percent_encode(&token)
    )))
}

pub async fn api_place(app: &App, req: &Request) -> Result<Response> {
    let order: OrderRequest = req.json()?;
    app.limits.take(Action::PlaceOrder, req.peer.ip())?;
    let holder = device_token(req).map_or(Holder::Anonymous, Holder::Device);
    let placed = orders::place_order(app, order, placement(app, req, holder)).await?;
    let token = placed.token;
    let mut body =
        serde_json::to_value(&placed.view).map_err(|e| Error::Internal(e.to_string()))?;
    body["token"] = token.clone().into();
    let status = if placed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json(status, &body);
    identity::set_customer_cookie(&mut response, &token);
    Ok(response)
}

pub async fn api_order(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let body = orders::wait_for_order(app, order_id, actor, since, wait).await?;
    Ok(with_body(StatusCode::OK, "application/json", body))
}

#[derive(Deserialize, Default)]
struct CancelRequest {
    #[serde(default)]
    reason: String,
}

pub async fn api_cancel(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let body: CancelRequest = if req.body.is_empty() {
        CancelRequest::default()
    } else {
        req.json()?
    };
    let view = orders::move_order(app, order_id, Status::Cancelled, actor, body.reason).await?;
    Ok(json(StatusCode::OK, &view))
}
