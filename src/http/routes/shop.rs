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
use crate::live::Changes;
use crate::ordering::catalog::{self, ProfilePatch};
use crate::ordering::menu_edit::{
    self, BulkAvailability, CategoryPatch, GroupPatch, IngredientPatch, ItemPatch, WasteReport,
};
use crate::ordering::orders::{self, Actor, OrderView, Status};
use crate::ordering::photos;
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

/// A patch that only marks an item sold out, back in stock or restocks it
/// is the sold-out switch, which staff may use; any other is a menu edit.
fn item_action(patch: &ItemPatch) -> ShopAction {
    if patch.is_stock_only() {
        ShopAction::SwitchSoldOut
    } else {
        ShopAction::EditMenu
    }
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
    let minute = minute_now(app);
    let menu = app
        .data
        .db
        .read(move |c| catalog::menu(c, shop_id, minute))
        .await?;
    render(
        app,
        req,
        "shop/menu.html",
        Some(&staff),
        context! { items => value(&menu.items), categories => value(&menu.categories) },
    )
}

pub async fn create_item_form(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    menu_edit::add_item(
        &app.data,
        &app.venue().money(),
        minute_now(app),
        shop_id,
        form.parse()?,
    )
    .await?;
    Ok(redirect("/shop/menu"))
}

pub async fn api_create_item(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let item = menu_edit::add_item(
        &app.data,
        &app.venue().money(),
        minute_now(app),
        shop_id,
        req.json()?,
    )
    .await?;
    Ok(json(StatusCode::CREATED, &item))
}

pub async fn update_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, _) = shopkeeper(app, req).await?;
    let form = req.form();
    check_csrf(app, req, &form)?;
    let patch: ItemPatch = form.parse()?;
    let shop_id = staff.shop_for(item_action(&patch))?.id;
    menu_edit::edit_item(
        &app.data,
        &app.venue().money(),
        minute_now(app),
        shop_id,
        item_id,
        patch,
    )
    .await?;
    Ok(redirect(&format!("/shop/menu#item-{item_id}")))
}

pub async fn api_update_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, _) = shopkeeper(app, req).await?;
    let patch: ItemPatch = req.json()?;
    let shop_id = staff.shop_for(item_action(&patch))?.id;
    let item = menu_edit::edit_item(
        &app.data,
        &app.venue().money(),
        minute_now(app),
        shop_id,
        item_id,
        patch,
    )
    .await?;
    Ok(json(StatusCode::OK, &item))
}

pub async fn delete_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    check_csrf(app, req, &req.form())?;
    photos::remove_item(&app.data, shop_id, item_id).await?;
    Ok(redirect("/shop/menu"))
}

pub async fn api_delete_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    photos::remove_item(&app.data, shop_id, item_id).await?;
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
    let minute = minute_now(app);
    let menu = app
        .data
        .db
        .read(move |c| catalog::menu(c, shop_id, minute))
        .await?;
    Ok(json(StatusCode::OK, &menu.items))
}

/// Runs a menu edit the shopkeeper's role must allow and answers its JSON.
async fn api_edit<T, F>(
    app: &App,
    req: &Request,
    action: ShopAction,
    status: StatusCode,
    f: F,
) -> Result<Response>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&rusqlite::Connection, &mut Changes, i64, i64) -> Result<T> + Send + 'static,
{
    let (staff, shop_id) = acting_shopkeeper(app, req, action).await?;
    let user_id = staff.user_id;
    let value =
        menu_edit::edit(&app.data, move |c, changes| f(c, changes, shop_id, user_id)).await?;
    Ok(json(status, &value))
}

pub async fn api_categories(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let minute = minute_now(app);
    let menu = app
        .data
        .db
        .read(move |c| catalog::menu(c, shop_id, minute))
        .await?;
    Ok(json(StatusCode::OK, &menu.categories))
}

pub async fn api_create_category(app: &App, req: &Request) -> Result<Response> {
    let patch: CategoryPatch = req.json()?;
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::CREATED,
        move |c, ch, shop, _| menu_edit::create_category(c, ch, shop, patch),
    )
    .await
}

pub async fn api_update_category(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: CategoryPatch = req.json()?;
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::OK,
        move |c, ch, shop, _| menu_edit::update_category(c, ch, shop, id, patch),
    )
    .await
}

pub async fn api_delete_category(app: &App, req: &Request, id: i64) -> Result<Response> {
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::OK,
        move |c, ch, shop, _| menu_edit::delete_category(c, ch, shop, id),
    )
    .await
}

pub async fn api_groups(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let groups = app
        .data
        .db
        .read(move |c| menu_edit::groups(c, shop_id))
        .await?;
    Ok(json(StatusCode::OK, &groups))
}

pub async fn api_create_group(app: &App, req: &Request) -> Result<Response> {
    let patch: GroupPatch = req.json()?;
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::CREATED,
        move |c, ch, shop, _| menu_edit::create_group(c, ch, shop, patch),
    )
    .await
}

/// Also the options' sold-out switches.
pub async fn api_update_group(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: GroupPatch = req.json()?;
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::OK,
        move |c, ch, shop, _| menu_edit::update_group(c, ch, shop, id, patch),
    )
    .await
}

pub async fn api_delete_group(app: &App, req: &Request, id: i64) -> Result<Response> {
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::OK,
        move |c, ch, shop, _| menu_edit::delete_group(c, ch, shop, id),
    )
    .await
}

pub async fn api_ingredients(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let list = app
        .data
        .db
        .read(move |c| menu_edit::ingredient_list(c, shop_id))
        .await?;
    Ok(json(StatusCode::OK, &list))
}

pub async fn api_create_ingredient(app: &App, req: &Request) -> Result<Response> {
    let patch: IngredientPatch = req.json()?;
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::CREATED,
        move |c, ch, shop, _| menu_edit::create_ingredient(c, ch, shop, patch),
    )
    .await
}

/// Restocking (only `stock`) is the counter's job; anything else edits the menu.
pub async fn api_update_ingredient(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: IngredientPatch = req.json()?;
    let action = if patch.name.is_none() && patch.low_stock.is_none() {
        ShopAction::SwitchSoldOut
    } else {
        ShopAction::EditMenu
    };
    api_edit(app, req, action, StatusCode::OK, move |c, ch, shop, _| {
        menu_edit::update_ingredient(c, ch, shop, id, patch)
    })
    .await
}

pub async fn api_delete_ingredient(app: &App, req: &Request, id: i64) -> Result<Response> {
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        StatusCode::OK,
        move |c, ch, shop, _| menu_edit::delete_ingredient(c, ch, shop, id),
    )
    .await
}

pub async fn api_waste(app: &App, req: &Request, id: i64) -> Result<Response> {
    let report: WasteReport = req.json()?;
    let now = crate::support::time::now_ms();
    api_edit(
        app,
        req,
        ShopAction::SwitchSoldOut,
        StatusCode::OK,
        move |c, ch, shop, user| menu_edit::record_waste(c, ch, shop, user, id, report, now),
    )
    .await
}

/// Waste recorded between `from` and `until` (UTC ms; default: the last 24 hours).
pub async fn api_waste_list(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let now = crate::support::time::now_ms();
    let until = req.int_param("until", now)?;
    let from = req.int_param("from", until - 24 * 60 * 60 * 1000)?;
    let list = app
        .data
        .db
        .read(move |c| menu_edit::waste(c, shop_id, from, until))
        .await?;
    Ok(json(StatusCode::OK, &list))
}

/// Many items sold out (or back) at once.
pub async fn api_bulk_available(app: &App, req: &Request) -> Result<Response> {
    let bulk: BulkAvailability = req.json()?;
    let now = crate::support::time::now_ms();
    api_edit(
        app,
        req,
        ShopAction::SwitchSoldOut,
        StatusCode::OK,
        move |c, ch, shop, _| {
            let changed = menu_edit::set_many_available(c, ch, shop, &bulk, now)?;
            Ok(serde_json::json!({ "changed": changed }))
        },
    )
    .await
}

/// `PUT /api/shop/items/{id}/photo`: the raw body is the photo.
pub async fn api_put_photo(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let quota = app.venue().photo_quota_bytes;
    let bytes = req.body.to_vec();
    let item = photos::put(&app.data, shop_id, item_id, bytes, quota, minute_now(app)).await?;
    Ok(json(StatusCode::OK, &item))
}

pub async fn api_delete_photo(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let item = photos::take_away(&app.data, shop_id, item_id, minute_now(app)).await?;
    Ok(json(StatusCode::OK, &item))
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
