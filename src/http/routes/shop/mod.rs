//! Shopkeeper routes: the live order board, staff, recall, pause and
//! payments, as pages and as JSON, and the menu editor (`menu`). A
//! shopkeeper only ever reaches their own shop's orders.

pub(crate) mod menu;
mod promos;
mod stations;
pub use menu::*;
pub use promos::*;
pub use stations::*;

use crate::accounts::{self, ShopAction, Staff};
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::{check_csrf, require_staff};
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{add_cookie, json, no_content, redirect, with_body, Response};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::ordering::catalog::{self, ProfilePatch};
use crate::ordering::menu_edit;
use crate::ordering::orders::{self, Actor, OrderView, Status};
use crate::ordering::payments::{self, Money};
use crate::ordering::windows;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::{json_fields, Single, Sorted};
use crate::support::json_read::Json;
use hyper::body::Bytes;
use hyper::StatusCode;
use std::time::Duration;

/// The cookie that remembers which shop the venue owner opened, so the
/// board's and the editor's forms and redirects stay in that shop.
const OWNER_SHOP_COOKIE: &str = "os_shop";

/// The shop the venue owner chose: `?shop=ID`, else the `X-Shop` header,
/// else the cookie the board set.
fn chosen_shop(req: &Request) -> Option<i64> {
    req.param("shop")
        .or_else(|| req.header("x-shop"))
        .or_else(|| req.cookie(OWNER_SHOP_COOKIE))
        .and_then(|id| id.trim().parse().ok())
}

/// The logged-in staff member; the venue owner acts as the keeper of the
/// shop they chose. Read afresh on every request.
async fn shop_staff(app: &App, req: &Request) -> Result<Box<Staff>> {
    let staff = require_staff(app, req).await?;
    match chosen_shop(req) {
        Some(shop_id) if staff.role == crate::accounts::Role::Owner => app
            .data
            .db
            .read(move |c| accounts::in_chosen_shop(c, *staff, shop_id))
            .await
            .map(Box::new),
        _ => Ok(staff),
    }
}

/// The logged-in shopkeeper and their shop id.
async fn shopkeeper(app: &App, req: &Request) -> Result<(Box<Staff>, i64)> {
    let staff = shop_staff(app, req).await?;
    let shop_id = staff.own_shop()?.id;
    Ok((staff, shop_id))
}

/// Like `shopkeeper`, for changes their role at the shop allows: refused
/// while the shop is suspended. The session is read afresh on every
/// request, so a suspension takes effect on the next one.
async fn acting_shopkeeper(
    app: &App,
    req: &Request,
    action: ShopAction,
) -> Result<(Box<Staff>, i64)> {
    let staff = shop_staff(app, req).await?;
    let shop_id = staff.shop_for(action)?.id;
    Ok((staff, shop_id))
}

/// The venue's local time now, in minutes after midnight.
fn minute_now(app: &App) -> i64 {
    app.venue().minute_of_day(crate::support::time::now_ms())
}

fn actor(staff: &Staff, shop_id: i64) -> Actor {
    Actor::Shop {
        shop_id,
        user_id: staff.user_id,
    }
}

/// Low-stock warnings the board lists of each kind; it counts the rest.
const LOW_STOCK_SHOWN: usize = 20;

pub async fn board_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let now = crate::support::time::now_ms();
    let after = req.int_param("after", 0)?;
    let (board, low_items, low_ingredients, methods, stations) = app
        .data
        .db
        .read(move |c| {
            let board = orders::shop_orders(c, shop_id, after, now)?;
            let items = catalog::running_low(c, shop_id, LOW_STOCK_SHOWN as i64 + 1)?;
            let mut ingredients = menu_edit::ingredient_list(c, shop_id)?;
            ingredients.retain(|i| i.running_low);
            let methods = payments::methods_of(c, shop_id)?;
            let stations = crate::ordering::stations::list(c, shop_id)?.stations;
            Ok((board, items, ingredients, methods, stations))
        })
        .await?;
    let template = if req.param("fragment").is_some() {
        "shop/orders.html"
    } else {
        "shop/board.html"
    };
    let newest_placed = board
        .orders
        .iter()
        .filter(|o| o.view.order.status == Status::Placed)
        .map(|o| o.view.order.id)
        .max();
    // The owner opening a shop's board keeps working in that shop.
    let owner_in = req
        .param("shop")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|_| staff.role == accounts::Role::Owner);
    let mut response = render(
        app,
        req,
        template,
        Some(&staff),
        context! {
            version => board.version,
            orders => value(&board.orders),
            open_count => board.open_count,
            after => after,
            next_after => board.next_after,
            all_day => value(&board.all_day),
            newest_placed => newest_placed,
            low_items => value(&&low_items[..low_items.len().min(LOW_STOCK_SHOWN)]),
            low_ingredients => value(&&low_ingredients[..low_ingredients.len().min(LOW_STOCK_SHOWN)]),
            low_count => low_items.len().min(LOW_STOCK_SHOWN) + low_ingredients.len().min(LOW_STOCK_SHOWN),
            low_more => low_items.len() > LOW_STOCK_SHOWN || low_ingredients.len() > LOW_STOCK_SHOWN,
            payment_methods => methods,
            can_pause => staff.shop_for(ShopAction::EditProfile).is_ok(),
            stations => value(&stations),
        },
    )?;
    if let Some(shop) = owner_in {
        add_cookie(
            &mut response,
            &format!("{OWNER_SHOP_COOKIE}={shop}; Path=/; HttpOnly; SameSite=Lax"),
        );
    }
    Ok(response)
}

/// A move to another stage, from the board's buttons or the API.
pub(crate) struct StatusChange {
    status: Status,
    reason: String,
}

impl FromFields for StatusChange {
    fn from_fields(f: &Fields) -> Result<StatusChange> {
        let status = f.required_text("status");
        let status =
            Status::parse(&status).ok_or_else(|| f.bad("status", "expected an order status"))?;
        f.done(StatusChange {
            status,
            reason: f.text_or_empty("reason"),
        })
    }
}

async fn move_order(
    app: &App,
    staff: &Staff,
    shop_id: i64,
    order_id: i64,
    change: StatusChange,
) -> Result<OrderView> {
    let actor = actor(staff, shop_id);
    orders::move_order(&app.data, order_id, change.status, actor, change.reason).await
}

pub async fn status_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    move_order(app, &staff, shop_id, order_id, form.parse()?).await?;
    Ok(redirect("/shop"))
}

pub async fn api_status(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    let view = move_order(app, &staff, shop_id, order_id, req.json()?).await?;
    Ok(json(StatusCode::OK, &view))
}

pub async fn profile_form(app: &App, req: &Request) -> Result<Response> {
    let (staff, _) = acting_shopkeeper(app, req, ShopAction::EditProfile).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let patch: ProfilePatch = form.parse()?;
    let shop = staff.shop_for(ShopAction::EditProfile)?.clone();
    catalog::edit_profile(&app.data, shop, patch).await?;
    Ok(redirect(same_site_path(form.get("back").unwrap_or(""))))
}

/// `back` if it is a path on this site, else the board: a form field must
/// not send the browser to another site. Browsers read `//host` and `/\host`
/// as another host and drop tabs and newlines before deciding. Only
/// visible ASCII, as our links are: a `Location` header cannot carry the
/// rest, and a redirect without one leaves a blank page.
fn same_site_path(back: &str) -> &str {
    let mut bytes = back.bytes();
    let same_site = bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/' | b'\\'))
        && back.len() <= 1_000
        && back.bytes().all(|b| b.is_ascii_graphic());
    if same_site {
        back
    } else {
        "/shop"
    }
}

pub async fn api_orders(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let since = req.int_param("since", -1)?;
    let after = req.int_param("after", 0)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let board = orders::wait_for_shop(&app.data, shop_id, since, after, wait).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(board),
    ))
}

// ---- Staff accounts (the keeper's) ----

/// The keeper's shop's members (for the API and the page alike).
async fn members(app: &App, keeper: Box<Staff>) -> Result<Vec<accounts::MemberView>> {
    app.data
        .db
        .read(move |c| accounts::member_list(c, &keeper))
        .await
}

/// Takes a member off the keeper's shop.
async fn remove_staff(app: &App, keeper: Box<Staff>, user_id: i64) -> Result<()> {
    app.data
        .db
        .write(move |tx| accounts::remove_member(tx, &keeper, user_id))
        .await
}

pub async fn api_staff(app: &App, req: &Request) -> Result<Response> {
    let keeper = shop_staff(app, req).await?;
    Ok(json(StatusCode::OK, &members(app, keeper).await?))
}

pub async fn api_add_staff(app: &App, req: &Request) -> Result<Response> {
    let keeper = *shop_staff(app, req).await?;
    let member = accounts::add_staff(&app.data, &app.limits, keeper, req.json()?).await?;
    Ok(json(StatusCode::CREATED, &member))
}

pub async fn api_remove_staff(app: &App, req: &Request, user_id: i64) -> Result<Response> {
    let keeper = shop_staff(app, req).await?;
    remove_staff(app, keeper, user_id).await?;
    Ok(no_content())
}

pub async fn staff_page(app: &App, req: &Request) -> Result<Response> {
    let keeper = shop_staff(app, req).await?;
    let members = members(app, keeper.clone()).await?;
    render(
        app,
        req,
        "shop/staff.html",
        Some(&keeper),
        context! { members => value(&members), me => keeper.user_id },
    )
}

pub async fn add_staff_form(app: &App, req: &Request) -> Result<Response> {
    let keeper = *shop_staff(app, req).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    accounts::add_staff(&app.data, &app.limits, keeper, form.parse()?).await?;
    Ok(redirect("/shop/staff"))
}

pub async fn remove_staff_form(app: &App, req: &Request, user_id: i64) -> Result<Response> {
    let keeper = shop_staff(app, req).await?;
    check_csrf(app, req, &req.form()?)?;
    remove_staff(app, keeper, user_id).await?;
    Ok(redirect("/shop/staff"))
}

// ---- Recall, pause and payments at pickup ----

pub async fn api_recall(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    let view = orders::recall_order(&app.data, order_id, actor(&staff, shop_id)).await?;
    Ok(json(StatusCode::OK, &view))
}

pub async fn recall_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    check_csrf(app, req, &req.form()?)?;
    orders::recall_order(&app.data, order_id, actor(&staff, shop_id)).await?;
    Ok(redirect("/shop"))
}

/// `{until}`: "13:20" in the venue's time, minutes, or null to resume.
pub(crate) struct PauseRequest {
    until: Json,
}

impl FromFields for PauseRequest {
    fn from_fields(f: &Fields) -> Result<PauseRequest> {
        let until = f.value("until").ok_or_else(|| f.bad("until", "missing"))?;
        f.done(PauseRequest { until })
    }
}

async fn pause(app: &App, req: &Request, until: Json) -> Result<Option<i64>> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditProfile).await?;
    let now = crate::support::time::now_ms();
    let end = windows::pause_end(&until, now, app.venue().minute_of_day(now))?;
    windows::set_pause(&app.data, shop_id, end).await?;
    Ok(end)
}

pub async fn api_pause(app: &App, req: &Request) -> Result<Response> {
    let body: PauseRequest = req.json()?;
    let end = pause(app, req, body.until).await?;
    Ok(json(StatusCode::OK, &Single("paused_until", end)))
}

/// The board's pause form: `minutes`, `until` ("13:20"), or neither to resume.
pub async fn pause_form(app: &App, req: &Request) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let until = match (form.get("minutes"), form.get("until")) {
        (Some(m), _) if !m.trim().is_empty() => m
            .trim()
            .parse::<i64>()
            .map(Json::Int)
            .map_err(|_| Error::bad(Code::ShopBadPause))?,
        (_, Some(t)) if !t.trim().is_empty() => Json::from(t.trim()),
        _ => Json::Null,
    };
    pause(app, req, until).await?;
    Ok(redirect(same_site_path(form.get("back").unwrap_or(""))))
}

/// Records a payment or refund, each under the right its kind needs.
async fn money(app: &App, req: &Request, order_id: i64, change: Money) -> Result<OrderView> {
    let action = match change {
        Money::Pay(_) => ShopAction::TakePayments,
        Money::Refund(_) => ShopAction::Refund,
    };
    let (staff, shop_id) = acting_shopkeeper(app, req, action).await?;
    payments::record(&app.data, order_id, actor(&staff, shop_id), change).await
}

pub async fn api_payment(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let view = money(app, req, order_id, Money::Pay(req.json()?)).await?;
    Ok(json(StatusCode::OK, &view))
}

/// The ticket's one-tap "paid by cash/card": what is still due.
pub async fn payment_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    money(app, req, order_id, Money::Pay(form.parse()?)).await?;
    Ok(redirect("/shop"))
}

pub async fn api_refund(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let view = money(app, req, order_id, Money::Refund(req.json()?)).await?;
    Ok(json(StatusCode::OK, &view))
}

pub(crate) struct MethodsRequest {
    methods: Vec<String>,
}

impl FromFields for MethodsRequest {
    fn from_fields(f: &Fields) -> Result<MethodsRequest> {
        let methods = f.texts("methods").unwrap_or_else(|| {
            f.fail(f.bad("methods", "missing"));
            Vec::new()
        });
        f.done(MethodsRequest { methods })
    }
}

pub async fn api_payment_methods(app: &App, req: &Request) -> Result<Response> {
    menu::api_read(app, req, |c, shop| {
        let methods = payments::methods_of(c, shop)?;
        Ok(Single("methods", methods))
    })
    .await
}

pub async fn api_set_payment_methods(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditProfile).await?;
    let body: MethodsRequest = req.json()?;
    let methods = app
        .data
        .db
        .write(move |tx| payments::set_methods(tx, shop_id, &body.methods))
        .await?;
    Ok(json(StatusCode::OK, &Single("methods", methods)))
}

/// `PUT /api/shop/slots` `{opens, closes, slot_cap}` (keeper): the hours
/// pickup slots are offered in and the most orders per slot.
pub async fn api_set_slots(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditProfile).await?;
    let slots = crate::ordering::checkout::slots_of(&req.json()?)?;
    crate::ordering::checkout::set_slots(&app.data, shop_id, slots).await?;
    Ok(json(
        StatusCode::OK,
        &Sorted(&json_fields! {
            "opens" => slots.hours.map(|h| crate::ordering::menu::clock_text(h.0)),
            "closes" => slots.hours.map(|h| crate::ordering::menu::clock_text(h.1)),
            "slot_cap" => slots.cap,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_stays_on_this_site() {
        for ok in ["/shop", "/shop/menu#item-3", "/", "/a:b?c=//d"] {
            assert_eq!(same_site_path(ok), ok);
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "http://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/shop?\u{202E}x",
            "/shop?a b",
            "/shop?\"><img src=x>",
        ] {
            assert_eq!(same_site_path(bad), "/shop", "{bad:?}");
        }
    }
}
