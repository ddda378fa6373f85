//! Shopkeeper routes: the live order board and the menu editor, as pages
//! and as JSON. A shopkeeper only ever reaches their own shop's orders.

use crate::accounts::ShopAction;
use crate::accounts::Staff;
use crate::app::App;
use crate::error::Result;
use crate::http::identity::{check_csrf, require_staff};
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{json, no_content, redirect, with_body, Response};
use crate::http::templates::value;
use crate::ordering::catalog::{self, ItemPatch, ProfilePatch};
use crate::ordering::orders::{self, Actor, OrderView, Status};
use hyper::body::Bytes;
use hyper::StatusCode;
use minijinja::context;
use serde::Deserialize;
use std::time::Duration;

/// The logged-in shopkeeper and their shop id.
async fn shopkeeper(app: &App, req: &Request) -> Result<(Staff, i64)> {
    let staff = require_staff(app, req).await?;
    let shop_id = staff.own_shop()?.id;
    Ok((staff, shop_id))
}

/// Like `shopkeeper`, for changes their role at the shop allows: refused
/// while the shop is suspended. The session is read afresh on every
/// request, so a suspension takes effect on the next one.
async fn acting_shopkeeper(app: &App, req: &Request, action: ShopAction) -> Result<(Staff, i64)> {
    let staff = require_staff(app, req).await?;
    let shop_id = staff.shop_for(action)?.id;
    Ok((staff, shop_id))
}

/// A patch that only marks an item sold out or back in stock is the
/// sold-out switch, which staff may use; any other is a menu edit.
fn item_action(patch: &ItemPatch) -> ShopAction {
    match patch {
        ItemPatch {
            available: Some(_),
            name: None,
            description: None,
            category: None,
            price_cents: None,
            price: None,
            position: None,
        } => ShopAction::SwitchSoldOut,
        _ => ShopAction::EditMenu,
    }
}

fn actor(staff: &Staff, shop_id: i64) -> Actor {
    Actor::Shop {
        shop_id,
        user_id: staff.user_id,
    }
}

pub async fn board_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let now = crate::support::time::now_ms();
    let after = req.int_param("after", 0)?;
    let board = app
        .data
        .db
        .read(move |c| orders::shop_orders(c, shop_id, after, now))
        .await?;
    let template = if req.param("fragment").is_some() {
        "shop/orders.html"
    } else {
        "shop/board.html"
    };
    let newest_placed = board
        .orders
        .iter()
        .filter(|o| o.order.status == Status::Placed)
        .map(|o| o.order.id)
        .max();
    render(
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
            newest_placed => newest_placed,
        },
    )
}

/// A move to another stage, from the board's buttons or the API.
#[derive(Deserialize)]
struct StatusChange {
    status: Status,
    #[serde(default)]
    reason: String,
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
    let form = req.form();
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
    let form = req.form();
    check_csrf(app, req, &form)?;
    let patch: ProfilePatch = form.parse()?;
    let shop = staff.shop_for(ShopAction::EditProfile)?.clone();
    catalog::edit_profile(&app.data, shop, patch).await?;
    Ok(redirect(same_site_path(form.get("back").unwrap_or(""))))
}

/// `back` if it is a path on this site, else the board: a form field must
/// not send the browser to another site. Browsers read `//host` and `/\host`
/// as another host and drop tabs and newlines before deciding.
fn same_site_path(back: &str) -> &str {
    let mut bytes = back.bytes();
    let same_site = bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/' | b'\\'))
        && back.len() <= 1_000
        && !back.chars().any(char::is_control);
    if same_site {
        back
    } else {
        "/shop"
    }
}

pub async fn menu_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let items = app.data.db.read(move |c| catalog::menu(c, shop_id)).await?;
    render(
        app,
        req,
        "shop/menu.html",
        Some(&staff),
        context! { items => value(&items) },
    )
}

pub async fn create_item_form(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    catalog::add_item(&app.data, &app.venue().money(), shop_id, form.parse()?).await?;
    Ok(redirect("/shop/menu"))
}

pub async fn api_create_item(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let item = catalog::add_item(&app.data, &app.venue().money(), shop_id, req.json()?).await?;
    Ok(json(StatusCode::CREATED, &item))
}

pub async fn update_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, _) = shopkeeper(app, req).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let patch: ItemPatch = form.parse()?;
    let shop_id = staff.shop_for(item_action(&patch))?.id;
    catalog::edit_item(&app.data, &app.venue().money(), shop_id, item_id, patch).await?;
    Ok(redirect(&format!("/shop/menu#item-{item_id}")))
}

pub async fn api_update_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, _) = shopkeeper(app, req).await?;
    let patch: ItemPatch = req.json()?;
    let shop_id = staff.shop_for(item_action(&patch))?.id;
    let item = catalog::edit_item(&app.data, &app.venue().money(), shop_id, item_id, patch).await?;
    Ok(json(StatusCode::OK, &item))
}

pub async fn delete_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    check_csrf(app, req, &req.form())?;
    catalog::remove_item(&app.data, shop_id, item_id).await?;
    Ok(redirect("/shop/menu"))
}

pub async fn api_delete_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    catalog::remove_item(&app.data, shop_id, item_id).await?;
    Ok(no_content())
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

pub async fn api_items(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let items = app.data.db.read(move |c| catalog::menu(c, shop_id)).await?;
    Ok(json(StatusCode::OK, &items))
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

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
        ] {
            assert_eq!(same_site_path(bad), "/shop", "{bad:?}");
        }
    }
}
