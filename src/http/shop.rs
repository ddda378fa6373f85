//! Shopkeeper routes: the live order board and the menu editor, as pages
//! and as JSON. A shopkeeper only ever reaches their own shop's orders.

use super::identity::{check_csrf, require_staff};
use super::render;
use super::request::{Form, Request};
use super::response::{json, no_content, redirect, Response};
use crate::app::App;
use crate::auth::{ShopAction, Staff};
use crate::error::{Error, Result};
use crate::money;
use crate::orders::{self, Actor, Status};
use crate::shops::{self, ItemPatch, ProfilePatch};
use crate::store::items;
use crate::templates::value;
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
    let now = crate::time::now_ms();
    let after = req.int_param("after", 0)?;
    let board = app
        .db
        .read(move |c| orders::shop_orders(c, shop_id, after, now))
        .await?;
    let template = if req.param("fragment").is_some() {
        "shop_orders.html"
    } else {
        "shop_board.html"
    };
    let newest_placed = board
        .orders
        .iter()
        .filter(|o| o.status() == Status::Placed)
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

pub async fn status_form(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let to = parse_status(form.get("status").unwrap_or(""))?;
    let actor = actor(&staff, shop_id);
    orders::move_order(app, order_id, to, actor, form.text("reason")).await?;
    Ok(redirect("/shop"))
}

fn parse_status(text: &str) -> Result<Status> {
    Status::parse(text).ok_or_else(|| Error::bad(format!("unknown status '{text}'")))
}

pub async fn profile_form(app: &App, req: &Request) -> Result<Response> {
    let (staff, _) = acting_shopkeeper(app, req, ShopAction::EditProfile).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let patch = ProfilePatch {
        name: form.get("name").map(str::to_string),
        description: form.get("description").map(str::to_string),
        open: form.get("open").map(|v| v == "1"),
    };
    let shop = staff.shop_for(ShopAction::EditProfile)?.clone();
    app.db
        .write(move |tx| shops::update_profile(tx, &shop, patch))
        .await?;
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
    let items = app
        .db
        .read(move |c| Ok(items::for_shop(c, shop_id)?))
        .await?;
    render(
        app,
        req,
        "shop_menu.html",
        Some(&staff),
        context! { items => value(&items) },
    )
}

/// The menu editor's form fields as a patch; prices are typed like "4.50".
fn item_patch(form: &Form) -> Result<ItemPatch> {
    Ok(ItemPatch {
        name: form.get("name").map(str::to_string),
        description: form.get("description").map(str::to_string),
        category: form.get("category").map(str::to_string),
        price_cents: form.get("price").map(money::parse_price).transpose()?,
        available: form.get("available").map(|v| v == "1"),
        position: None,
    })
}

pub async fn create_item_form(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let patch = item_patch(&form)?;
    let now = crate::time::now_ms();
    app.db
        .write(move |tx| shops::create_item(tx, shop_id, patch, now))
        .await?;
    Ok(redirect("/shop/menu"))
}

pub async fn update_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, _) = shopkeeper(app, req).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let patch = item_patch(&form)?;
    let shop_id = staff.shop_for(item_action(&patch))?.id;
    let now = crate::time::now_ms();
    app.db
        .write(move |tx| shops::update_item(tx, shop_id, item_id, patch, now))
        .await?;
    Ok(redirect(&format!("/shop/menu#item-{item_id}")))
}

pub async fn delete_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    check_csrf(app, req, &req.form())?;
    let now = crate::time::now_ms();
    app.db
        .write(move |tx| shops::delete_item(tx, shop_id, item_id, now))
        .await?;
    Ok(redirect("/shop/menu"))
}

pub async fn api_orders(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let since = req.int_param("since", -1)?;
    let after = req.int_param("after", 0)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let board = orders::wait_for_shop(app, shop_id, since, after, wait).await?;
    Ok(json(StatusCode::OK, &board))
}

#[derive(Deserialize)]
struct StatusChange {
    status: String,
    #[serde(default)]
    reason: String,
}

pub async fn api_status(app: &App, req: &Request, order_id: i64) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    let change: StatusChange = req.json()?;
    let to = parse_status(&change.status)?;
    let view = orders::move_order(app, order_id, to, actor(&staff, shop_id), change.reason).await?;
    Ok(json(StatusCode::OK, &view))
}

pub async fn api_items(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let items = app
        .db
        .read(move |c| Ok(items::for_shop(c, shop_id)?))
        .await?;
    Ok(json(StatusCode::OK, &items))
}

pub async fn api_create_item(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let patch: ItemPatch = req.json()?;
    let now = crate::time::now_ms();
    let item = app
        .db
        .write(move |tx| shops::create_item(tx, shop_id, patch, now))
        .await?;
    Ok(json(StatusCode::CREATED, &item))
}

pub async fn api_update_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, _) = shopkeeper(app, req).await?;
    let patch: ItemPatch = req.json()?;
    let shop_id = staff.shop_for(item_action(&patch))?.id;
    let now = crate::time::now_ms();
    let item = app
        .db
        .write(move |tx| shops::update_item(tx, shop_id, item_id, patch, now))
        .await?;
    Ok(json(StatusCode::OK, &item))
}

pub async fn api_delete_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let now = crate::time::now_ms();
    app.db
        .write(move |tx| shops::delete_item(tx, shop_id, item_id, now))
        .await?;
    Ok(no_content())
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
