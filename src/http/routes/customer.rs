//! Customer routes: shop list, menus, cart, placing orders and following
//! their status, as pages and as JSON.

use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{self, customer_token, device_token};
use crate::http::render::page;
use crate::http::request::{Form, Request};
use crate::http::response::{json, redirect, with_body, Response};
use crate::http::templates::value;
use crate::ordering::catalog;
use crate::ordering::orders::{
    self, Actor, Holder, LineRequest, OrderRequest, Placed, Placement, Status,
};
use crate::support::crypto;
use crate::support::ratelimit::Action;
use crate::support::text::percent_encode;
use hyper::body::Bytes;
use hyper::StatusCode;
use minijinja::context;
use serde::Deserialize;
use std::time::Duration;

pub async fn api_shops(app: &App) -> Result<Response> {
    let shops = app.data.db.read(catalog::listed).await?;
    Ok(json(StatusCode::OK, &shops))
}

/// `{version, shop, items}`; with `since` and `wait`, a long-poll like the
/// order's: menu edits and sold-out switches answer it.
pub async fn api_menu(app: &App, req: &Request, shop_id: i64) -> Result<Response> {
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let menu = catalog::wait_for_menu(&app.data, shop_id, since, wait, || minute_now(app)).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(menu),
    ))
}

/// Items across the venue's shops by text, shop, category, dietary tag
/// and allergen (`?q=&shop=&category=&tag=&without=`).
pub async fn api_search(app: &App, req: &Request) -> Result<Response> {
    let search: catalog::Search = Form(req.query.clone()).parse()?;
    let minute = minute_now(app);
    let found = app
        .data
        .db
        .read(move |c| catalog::search(c, &search, minute))
        .await?;
    Ok(json(StatusCode::OK, &found))
}

/// The token as `?t=…` for links, or nothing.
fn token_query(token: Option<&str>) -> String {
    token.map(|t| format!("?t={t}")).unwrap_or_default()
}

pub async fn home_page(app: &App, req: &Request) -> Result<Response> {
    let token = customer_token(req, None);
    let hash = token.as_deref().map(crypto::token_hash);
    let (shops, my_orders) = app
        .data
        .db
        .read(move |c| {
            let mine = match hash {
                Some(hash) => orders::customer_orders(c, &hash)?,
                None => Vec::new(),
            };
            Ok((catalog::listed(c)?, mine))
        })
        .await?;
    page(
        app,
        req,
        "customer/home.html",
        context! {
            shops => value(&shops),
            my_orders => value(&my_orders),
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

/// The venue's local time now, in minutes after midnight.
fn minute_now(app: &App) -> i64 {
    app.venue().minute_of_day(crate::support::time::now_ms())
}

pub async fn menu_page(app: &App, req: &Request, shop_id: i64) -> Result<Response> {
    let minute = minute_now(app);
    let (shop, menu) = app
        .data
        .db
        .read(move |c| catalog::public_menu(c, shop_id, minute))
        .await?;
    let token = customer_token(req, None);
    page(
        app,
        req,
        "customer/menu.html",
        context! {
            shop => value(&shop),
            categories => value(&menu.categories),
            items => value(&menu.items),
            tq => token_query(token.as_deref()),
            t => token,
        },
    )
    .await
}

/// The lines a cart URL carries: the menu form's quantities
/// (`q<item id>=<qty>`, most of them 0) and lines with options
/// (`l=ITEM:QTY:OPT.OPT`).
fn cart_lines(req: &Request) -> Result<Vec<LineRequest>> {
    let mut lines = Vec::new();
    for (key, value) in &req.query {
        let value = value.trim();
        let line = if key == "l" {
            LineRequest::parse(value)?
        } else if let Some(item_id) = key.strip_prefix('q').and_then(|id| id.parse().ok()) {
            if value.is_empty() || value == "0" {
                continue;
            }
            LineRequest {
                item_id,
                qty: value.parse().unwrap_or(-1),
                ..LineRequest::default()
            }
        } else {
            continue;
        };
        // merge_lines refuses more; stop reading here.
        if lines.len() > orders::MAX_LINES {
            break;
        }
        lines.push(line);
    }
    Ok(lines)
}

/// The cart is the lines its URL carries, priced by the server and shown
/// for review with the name and note fields.
pub async fn cart_page(app: &App, req: &Request) -> Result<Response> {
    let shop_id: i64 = req.int_param("shop", 0)?;
    let wanted = cart_lines(req).and_then(|lines| orders::merge_lines(&lines));
    let minute = minute_now(app);
    let (shop, cart) = app
        .data
        .db
        .read(move |c| orders::quote(c, shop_id, wanted, minute))
        .await?;
    let token = customer_token(req, None);
    let speech = crate::http::render::speech(app, req);
    let (cart, problem) = match cart {
        Ok(cart) if cart.lines.is_empty() => (cart, Some(speech.language.text("cart.empty"))),
        Ok(cart) => (cart, None),
        Err(e) => (orders::CartView::default(), Some(speech.message(&e))),
    };
    page(
        app,
        req,
        "customer/cart.html",
        context! {
            shop => value(&shop),
            total_cents => cart.total_cents,
            line_forms => cart.lines.iter().map(orders::LineView::form_text).collect::<Vec<_>>(),
            lines => value(&cart.lines),
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
    let placed = place(app, req, form.parse()?).await?;
    let mut response = redirect(&format!(
        "/o/{}?t={}",
        placed.view.order.id,
        percent_encode(&placed.token)
    ));
    identity::set_customer_cookie(&mut response, &placed.token);
    Ok(response)
}

pub async fn api_place(app: &App, req: &Request) -> Result<Response> {
    let placed = place(app, req, req.json()?).await?;
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

/// Placement, whether the cart page's form or the API asked for it. The
/// order goes under the token the device holds, else the one reserved for
/// a reference our cart page made (a double tap in a sheet without
/// cookies), else a new one.
async fn place(app: &App, req: &Request, order: OrderRequest) -> Result<Placed> {
    app.limits.take(Action::PlaceOrder, req.peer.ip())?;
    let holder = match device_token(req) {
        Some(token) => Holder::Device(token),
        None => identity::reserved_token(app, &order.client_ref)
            .map_or(Holder::Anonymous, Holder::Reserved),
    };
    orders::place_order(&app.data, order, placement(app, req, holder)).await
}

/// Who places an order from this request, under the venue's limits.
fn placement(app: &App, req: &Request, holder: Holder) -> Placement {
    Placement {
        holder,
        placed_from: req.peer.ip().to_string(),
        limits: app.venue().open_order_limits(),
        minute_of_day: minute_now(app),
    }
}

fn customer(req: &Request, form: Option<&crate::http::request::Form>) -> Result<Actor> {
    let token = customer_token(req, form).ok_or_else(|| Error::not_found(Code::OrderNotFound))?;
    Ok(Actor::Customer {
        token_hash: crypto::token_hash(&token),
    })
}

/// The stages a customer sees on the status page.
const STEPS: [Status; 4] = [
    Status::Placed,
    Status::Accepted,
    Status::Preparing,
    Status::Ready,
];

pub async fn order_page(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let view = app
        .data
        .db
        .read(move |c| orders::load_view(c, orders::visible_order(c, order_id, &actor)?))
        .await?;
    let template = if req.param("fragment").is_some() {
        "customer/order_status.html"
    } else {
        "customer/order.html"
    };
    page(
        app,
        req,
        template,
        context! {
            status => view.order.status.as_str(),
            steps => STEPS.map(Status::as_str),
            step_index => STEPS.iter().position(|s| *s == view.order.status),
            order => value(&view),
            t => customer_token(req, None),
        },
    )
    .await
}

/// What a customer may say when cancelling, in the form or in JSON.
#[derive(Deserialize, Default)]
struct CancelRequest {
    #[serde(default)]
    reason: String,
}

pub async fn cancel_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let form = req.form();
    identity::check_csrf(app, req, &form)?;
    let actor = customer(req, Some(&form))?;
    let cancel: CancelRequest = form.parse()?;
    orders::move_order(&app.data, order_id, Status::Cancelled, actor, cancel.reason).await?;
    let token = customer_token(req, Some(&form)).unwrap_or_default();
    Ok(redirect(&format!(
        "/o/{order_id}?t={}",
        percent_encode(&token)
    )))
}

pub async fn api_cancel(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let cancel: CancelRequest = if req.body.is_empty() {
        CancelRequest::default()
    } else {
        req.json()?
    };
    let view =
        orders::move_order(&app.data, order_id, Status::Cancelled, actor, cancel.reason).await?;
    Ok(json(StatusCode::OK, &view))
}

pub async fn api_order(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let actor = customer(req, None)?;
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let body = orders::wait_for_order(&app.data, order_id, actor, since, wait).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(body),
    ))
}
