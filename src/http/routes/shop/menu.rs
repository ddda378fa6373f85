//! The menu editor's pages, forms and JSON: items, categories, option
//! groups, shared ingredients and their waste, bulk sold-out, photos.

use super::{acting_shopkeeper, minute_now, same_site_path, shopkeeper};
use crate::accounts::ShopAction;
use crate::app::App;
use crate::error::{Code, Error, Result};
use crate::http::identity::check_csrf;
use crate::http::render::render;
use crate::http::request::{Form, Request};
use crate::http::response::{json, no_content, redirect, Response};
use crate::http::routes::{answer, Answer};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::live::Changes;
use crate::ordering::catalog;
use crate::ordering::menu::{ALLERGENS, TAGS};
use crate::ordering::menu_edit::{
    self, BulkAvailability, CategoryPatch, GroupPatch, IngredientPatch, IngredientUse, ItemPatch,
    OptionPatch, WasteReport,
};
use crate::ordering::photos;
use crate::ordering::stations;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::{Pairs, Single, ToJson};
use crate::support::money::MoneyFormat;
use hyper::StatusCode;
use std::future::Future;

/// A patch that only marks an item sold out, back in stock or restocks it
/// is the sold-out switch, which staff may use; any other is a menu edit.
fn item_action(patch: &ItemPatch) -> ShopAction {
    if patch.is_stock_only() {
        ShopAction::SwitchSoldOut
    } else {
        ShopAction::EditMenu
    }
}

/// Items the editor lists on one page; `?page=N` shows the next ones.
const ITEMS_PER_PAGE: usize = 200;

pub async fn menu_page(app: &App, req: &Request) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let minute = minute_now(app);
    let page = req.int_param("page", 0)?.clamp(0, 1_000) as usize;
    let since = crate::support::time::now_ms() - 24 * 60 * 60 * 1000;
    let (menu, groups, ingredients, waste, kitchen) = app
        .data
        .db
        .read(move |c| {
            Ok((
                catalog::menu(c, shop_id, minute)?,
                menu_edit::groups(c, shop_id)?,
                menu_edit::ingredient_list(c, shop_id)?,
                menu_edit::waste(c, shop_id, since, i64::MAX)?,
                stations::list(c, shop_id)?,
            ))
        })
        .await?;
    // Each routed item's station name, for the item list; keyed by the id
    // as text, as template values come from JSON, whose keys are text.
    let station_of: Vec<(String, &str)> = kitchen
        .routes
        .iter()
        .filter_map(|r| {
            let station = kitchen.stations.iter().find(|s| s.id == r.station_id)?;
            Some((r.item_id.to_string(), station.name.as_str()))
        })
        .collect();
    let first = (page * ITEMS_PER_PAGE).min(menu.items.len());
    let last = (first + ITEMS_PER_PAGE).min(menu.items.len());
    let can_edit = staff.shop_for(ShopAction::EditMenu).is_ok();
    render(
        app,
        req,
        "shop/menu.html",
        Some(&staff),
        context! {
            items => value(&&menu.items[first..last]),
            categories => value(&menu.categories),
            groups => value(&groups),
            ingredients => value(&ingredients),
            waste => value(&waste),
            page => page,
            next_page => (last < menu.items.len()).then_some(page + 1),
            can_edit => can_edit,
            tags => value(&TAGS),
            allergens => value(&ALLERGENS),
            stations => value(&kitchen.stations),
            station_of => value(&Pairs(&station_of)),
            max_stations => stations::MAX_STATIONS,
        },
    )
}

/// One item's whole editor: fields, stock, ingredients and photo.
pub async fn item_page(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let minute = minute_now(app);
    let (item, recipe, menu, groups, ingredients, kitchen) = app
        .data
        .db
        .read(move |c| {
            Ok((
                catalog::one_item(c, shop_id, item_id, minute)?,
                menu_edit::recipe(c, shop_id, item_id)?,
                catalog::menu(c, shop_id, minute)?.categories,
                menu_edit::groups(c, shop_id)?,
                menu_edit::ingredient_list(c, shop_id)?,
                stations::list(c, shop_id)?,
            ))
        })
        .await?;
    let routed_to = kitchen
        .routes
        .iter()
        .find(|r| r.item_id == item_id)
        .map(|r| r.station_id);
    let can_edit = staff.shop_for(ShopAction::EditMenu).is_ok();
    render(
        app,
        req,
        "shop/item.html",
        Some(&staff),
        context! {
            item => value(&item),
            recipe => value(&recipe),
            categories => value(&menu),
            groups => value(&groups),
            ingredients => value(&ingredients),
            can_edit => can_edit,
            tags => value(&TAGS),
            allergens => value(&ALLERGENS),
            stations => value(&kitchen.stations),
            routed_to => routed_to,
        },
    )
}

pub async fn create_item_form(app: &App, req: &Request) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let form = req.form()?;
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
    let form = req.form()?;
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
    check_csrf(app, req, &req.form()?)?;
    photos::remove_item(&app.data, shop_id, item_id).await?;
    Ok(redirect("/shop/menu"))
}

pub async fn api_delete_item(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    photos::remove_item(&app.data, shop_id, item_id).await?;
    Ok(no_content())
}

pub async fn api_items(app: &App, req: &Request) -> Result<Response> {
    let minute = minute_now(app);
    api_read(app, req, move |c, shop| {
        Ok(catalog::menu(c, shop, minute)?.items)
    })
    .await
}

/// Reads what the shop's members may see and answers its JSON.
pub(super) fn api_read<'a, T, F>(
    app: &'a App,
    req: &'a Request,
    f: F,
) -> impl Future<Output = Result<Response>> + 'a
where
    T: ToJson + Send + 'static,
    F: FnOnce(&rusqlite::Connection, i64) -> Result<T> + Send + 'static,
{
    read_answer(app, req, Box::new(move |c, shop| f(c, shop).map(answer)))
}

/// `api_read` compiled once: only the boxed read differs per caller.
async fn read_answer(app: &App, req: &Request, f: Read<Answer>) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let answer = app.data.db.read(move |c| f(c, shop_id)).await?;
    Ok(answer(StatusCode::OK))
}

/// Runs a menu edit the shopkeeper's role must allow and answers its JSON.
pub(super) fn api_edit<'a, T, F>(
    app: &'a App,
    req: &'a Request,
    action: ShopAction,
    status: StatusCode,
    f: F,
) -> impl Future<Output = Result<Response>> + 'a
where
    T: ToJson + Send + 'static,
    F: FnOnce(&rusqlite::Connection, &mut Changes, i64, i64) -> Result<T> + Send + 'static,
{
    edit_answer(
        app,
        req,
        action,
        status,
        Box::new(move |c, changes, shop, user| f(c, changes, shop, user).map(answer)),
    )
}

/// `api_edit` compiled once: only the boxed edit differs per caller.
async fn edit_answer(
    app: &App,
    req: &Request,
    action: ShopAction,
    status: StatusCode,
    f: Edit<Answer>,
) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, action).await?;
    let user_id = staff.user_id;
    let answer =
        menu_edit::edit(&app.data, move |c, changes| f(c, changes, shop_id, user_id)).await?;
    Ok(answer(status))
}

pub async fn api_categories(app: &App, req: &Request) -> Result<Response> {
    let minute = minute_now(app);
    api_read(app, req, move |c, shop| {
        Ok(catalog::menu(c, shop, minute)?.categories)
    })
    .await
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
    api_read(app, req, menu_edit::groups).await
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

/// A patch that only switches options sold out or back is the counter's
/// job (the oat milk ran out); any other changes the menu.
fn group_action(patch: &GroupPatch) -> ShopAction {
    let switches_only = patch.name.is_none()
        && patch.min.is_none()
        && patch.max.is_none()
        && !patch.replace_options
        && patch.options.as_ref().is_some_and(|options| {
            options.iter().all(|o| {
                o.id.is_some()
                    && o.name.is_none()
                    && o.price_delta_cents.is_none()
                    && o.position.is_none()
            })
        });
    if switches_only {
        ShopAction::SwitchSoldOut
    } else {
        ShopAction::EditMenu
    }
}

/// Also the options' sold-out switches.
pub async fn api_update_group(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: GroupPatch = req.json()?;
    api_edit(
        app,
        req,
        group_action(&patch),
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
    api_read(app, req, menu_edit::ingredient_list).await
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
fn ingredient_action(patch: &IngredientPatch) -> ShopAction {
    if patch.name.is_none() && patch.low_stock.is_none() {
        ShopAction::SwitchSoldOut
    } else {
        ShopAction::EditMenu
    }
}

pub async fn api_update_ingredient(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: IngredientPatch = req.json()?;
    api_edit(
        app,
        req,
        ingredient_action(&patch),
        StatusCode::OK,
        move |c, ch, shop, _| menu_edit::update_ingredient(c, ch, shop, id, patch),
    )
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
    let now = crate::support::time::now_ms();
    let until = req.int_param("until", now)?;
    let from = req.int_param("from", until - 24 * 60 * 60 * 1000)?;
    api_read(app, req, move |c, shop| {
        menu_edit::waste(c, shop, from, until)
    })
    .await
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
            Ok(Single("changed", changed))
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

// ---- The menu editor's forms: each parses into the API's patch and
// ---- calls the same editor function, then goes back to the page.

/// Where a form sends the browser afterwards: its `back` field when that
/// is a path on this site, else `default`.
fn back_to(form: &Form, default: &str) -> String {
    form.get("back").map_or(default, same_site_path).to_string()
}

/// Runs a menu edit from a form the shopkeeper's role must allow, then
/// redirects to the form's `back` (or `default`).
pub(super) fn form_edit<'a, T, F>(
    app: &'a App,
    req: &'a Request,
    action: ShopAction,
    default: &'a str,
    f: F,
) -> impl Future<Output = Result<Response>> + 'a
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection, &mut Changes, i64, i64) -> Result<T> + Send + 'static,
{
    form_edit_once(
        app,
        req,
        action,
        default,
        Box::new(move |c, changes, shop, user| f(c, changes, shop, user).map(drop)),
    )
}

/// `form_edit` compiled once: only the boxed edit differs per caller.
async fn form_edit_once(
    app: &App,
    req: &Request,
    action: ShopAction,
    default: &str,
    f: Edit<()>,
) -> Result<Response> {
    let (staff, shop_id) = acting_shopkeeper(app, req, action).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let user_id = staff.user_id;
    menu_edit::edit(&app.data, move |c, changes| f(c, changes, shop_id, user_id)).await?;
    Ok(redirect(&back_to(&form, default)))
}

/// A read boxed: its connection and shop.
type Read<T> = Box<dyn FnOnce(&rusqlite::Connection, i64) -> Result<T> + Send>;

/// A menu edit boxed: its connection, changes, shop and acting user.
type Edit<T> = Box<dyn FnOnce(&rusqlite::Connection, &mut Changes, i64, i64) -> Result<T> + Send>;

/// An arrow button: one place up (`up=1`) or down (`up=0`).
pub(crate) struct Move {
    up: bool,
}

impl FromFields for Move {
    fn from_fields(f: &Fields) -> Result<Move> {
        f.done(Move {
            up: f.required_bool("up"),
        })
    }
}

pub async fn create_category_form(app: &App, req: &Request) -> Result<Response> {
    let patch: CategoryPatch = req.form()?.parse()?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_CATEGORIES,
        move |c, ch, shop, _| menu_edit::create_category(c, ch, shop, patch),
    )
    .await
}

pub async fn update_category_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: CategoryPatch = req.form()?.parse()?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_CATEGORIES,
        move |c, ch, shop, _| menu_edit::update_category(c, ch, shop, id, patch),
    )
    .await
}

pub async fn move_category_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    let Move { up } = req.form()?.parse()?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_CATEGORIES,
        move |c, ch, shop, _| menu_edit::move_category(c, ch, shop, id, up),
    )
    .await
}

pub async fn delete_category_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_CATEGORIES,
        move |c, ch, shop, _| menu_edit::delete_category(c, ch, shop, id),
    )
    .await
}

pub async fn move_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let Move { up } = req.form()?.parse()?;
    let now = crate::support::time::now_ms();
    let back = format!("/shop/menu#item-{item_id}");
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        &back,
        move |c, ch, shop, _| menu_edit::move_item(c, ch, shop, item_id, up, now),
    )
    .await
}

/// The item's shared ingredients as rows of `ingredient_id` and `qty`
/// (a row without an ingredient is skipped: the form's empty row).
pub(crate) struct RecipeForm {
    ingredient_id: Vec<String>,
    qty: Vec<String>,
}

impl FromFields for RecipeForm {
    fn from_fields(f: &Fields) -> Result<RecipeForm> {
        f.done(RecipeForm {
            ingredient_id: f.texts("ingredient_id").unwrap_or_default(),
            qty: f.texts("qty").unwrap_or_default(),
        })
    }
}

impl RecipeForm {
    fn into_patch(self) -> Result<ItemPatch> {
        let mut uses = Vec::new();
        for (n, ingredient) in self.ingredient_id.iter().enumerate() {
            let Some(ingredient_id) = whole_number("ingredient_id", ingredient)? else {
                continue;
            };
            let qty = self
                .qty
                .get(n)
                .map_or(Ok(None), |q| whole_number("qty", q))?;
            uses.push(IngredientUse {
                ingredient_id,
                qty: qty.unwrap_or(1),
            });
        }
        Ok(ItemPatch {
            ingredients: Some(uses),
            ..ItemPatch::default()
        })
    }
}

/// A whole number typed into a form field; empty is none.
pub(super) fn whole_number(name: &str, text: &str) -> Result<Option<i64>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| Error::bad(Code::RequestNotWholeNumber).with("name", name))
}

pub async fn item_ingredients_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let (_, shop_id) = acting_shopkeeper(app, req, ShopAction::EditMenu).await?;
    let form = req.form()?;
    check_csrf(app, req, &form)?;
    let patch = form.parse::<RecipeForm>()?.into_patch()?;
    menu_edit::edit_item(
        &app.data,
        &app.venue().money(),
        minute_now(app),
        shop_id,
        item_id,
        patch,
    )
    .await?;
    Ok(redirect(&format!("/shop/items/{item_id}")))
}

/// Ticked items (`items`, repeated) sold out (`available=0`) or back.
pub async fn bulk_available_form(app: &App, req: &Request) -> Result<Response> {
    let bulk: BulkAvailability = req.form()?.parse()?;
    let now = crate::support::time::now_ms();
    form_edit(
        app,
        req,
        ShopAction::SwitchSoldOut,
        "/shop/menu",
        move |c, ch, shop, _| menu_edit::set_many_available(c, ch, shop, &bulk, now),
    )
    .await
}

/// An option group as its form sends it: the group's fields and one row
/// per option (`option_id` empty for a new one, `option_name`,
/// `option_price` as typed, may be negative). The form lists every
/// option, so an option whose name is emptied is removed, and rows left
/// empty add nothing.
pub(crate) struct GroupForm {
    name: String,
    min: i64,
    max: i64,
    option_id: Vec<String>,
    option_name: Vec<String>,
    option_price: Vec<String>,
}

impl FromFields for GroupForm {
    fn from_fields(f: &Fields) -> Result<GroupForm> {
        f.done(GroupForm {
            name: f.required_text("name"),
            min: f.required_int("min"),
            max: f.required_int("max"),
            option_id: f.texts("option_id").unwrap_or_default(),
            option_name: f.texts("option_name").unwrap_or_default(),
            option_price: f.texts("option_price").unwrap_or_default(),
        })
    }
}

impl GroupForm {
    fn into_patch(self, money: &MoneyFormat) -> Result<GroupPatch> {
        let mut options = Vec::new();
        for (n, name) in self.option_name.into_iter().enumerate() {
            let id = self
                .option_id
                .get(n)
                .map_or(Ok(None), |id| whole_number("option_id", id))?;
            if name.trim().is_empty() {
                continue;
            }
            let price = self.option_price.get(n).map_or("", String::as_str);
            options.push(OptionPatch {
                id,
                name: Some(name),
                price_delta_cents: Some(typed_delta(money, price)?),
                available: None,
                position: Some(n as i64),
            });
        }
        Ok(GroupPatch {
            name: Some(self.name),
            min: Some(self.min),
            max: Some(self.max),
            options: Some(options),
            replace_options: true,
        })
    }
}

/// A price change as typed: "0.50", "+0.50" or "-0.50"; empty is none.
fn typed_delta(money: &MoneyFormat, text: &str) -> Result<i64> {
    let text = text.trim();
    match text.strip_prefix('-') {
        _ if text.is_empty() => Ok(0),
        Some(rest) => Ok(-money.parse_price(rest)?),
        None => money.parse_price(text.strip_prefix('+').unwrap_or(text)),
    }
}

pub async fn create_group_form(app: &App, req: &Request) -> Result<Response> {
    let patch = req
        .form()?
        .parse::<GroupForm>()?
        .into_patch(&app.venue().money())?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_GROUPS,
        move |c, ch, shop, _| menu_edit::create_group(c, ch, shop, patch),
    )
    .await
}

pub async fn update_group_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch = req
        .form()?
        .parse::<GroupForm>()?
        .into_patch(&app.venue().money())?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_GROUPS,
        move |c, ch, shop, _| menu_edit::update_group(c, ch, shop, id, patch),
    )
    .await
}

pub async fn delete_group_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_GROUPS,
        move |c, ch, shop, _| menu_edit::delete_group(c, ch, shop, id),
    )
    .await
}

/// An option's sold-out switch.
pub(crate) struct OptionSwitch {
    available: bool,
}

impl FromFields for OptionSwitch {
    fn from_fields(f: &Fields) -> Result<OptionSwitch> {
        f.done(OptionSwitch {
            available: f.required_bool("available"),
        })
    }
}

pub async fn option_switch_form(
    app: &App,
    req: &Request,
    group_id: i64,
    option_id: i64,
) -> Result<Response> {
    let OptionSwitch { available } = req.form()?.parse()?;
    let patch = GroupPatch {
        options: Some(vec![OptionPatch {
            id: Some(option_id),
            name: None,
            price_delta_cents: None,
            available: Some(available),
            position: None,
        }]),
        ..GroupPatch::default()
    };
    form_edit(
        app,
        req,
        group_action(&patch),
        MENU_GROUPS,
        move |c, ch, shop, _| menu_edit::update_group(c, ch, shop, group_id, patch),
    )
    .await
}

pub async fn create_ingredient_form(app: &App, req: &Request) -> Result<Response> {
    let patch: IngredientPatch = req.form()?.parse()?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_INGREDIENTS,
        move |c, ch, shop, _| menu_edit::create_ingredient(c, ch, shop, patch),
    )
    .await
}

/// Restocking (`stock` alone) or the ingredient's name and threshold.
pub async fn update_ingredient_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: IngredientPatch = req.form()?.parse()?;
    form_edit(
        app,
        req,
        ingredient_action(&patch),
        MENU_INGREDIENTS,
        move |c, ch, shop, _| menu_edit::update_ingredient(c, ch, shop, id, patch),
    )
    .await
}

pub async fn delete_ingredient_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_INGREDIENTS,
        move |c, ch, shop, _| menu_edit::delete_ingredient(c, ch, shop, id),
    )
    .await
}

pub async fn waste_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    let report: WasteReport = req.form()?.parse()?;
    let now = crate::support::time::now_ms();
    form_edit(
        app,
        req,
        ShopAction::SwitchSoldOut,
        MENU_INGREDIENTS,
        move |c, ch, shop, user| menu_edit::record_waste(c, ch, shop, user, id, report, now),
    )
    .await
}

const MENU_CATEGORIES: &str = "/shop/menu#categories";
const MENU_GROUPS: &str = "/shop/menu#groups";
const MENU_INGREDIENTS: &str = "/shop/menu#ingredients";

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        Form(
            body.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn option_rows_become_the_groups_options() {
        let money = MoneyFormat::default();
        let sent = form(
            "name=Size&min=1&max=1&option_id=4&option_name=Small&option_price=-0.50\
             &option_id=5&option_name=&option_price=1\
             &option_id=&option_name=Large&option_price=+0.70\
             &option_id=&option_name=&option_price=",
        );
        let patch = sent
            .parse::<GroupForm>()
            .unwrap()
            .into_patch(&money)
            .unwrap();
        assert!(patch.replace_options);
        let rows: Vec<_> = patch
            .options
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o.id,
                    o.name.clone().unwrap(),
                    o.price_delta_cents,
                    o.position,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (Some(4), "Small".into(), Some(-50), Some(0)),
                (None, "Large".into(), Some(70), Some(2)),
            ]
        );
        for bad in [
            "option_id=x&option_name=A",
            "option_name=A&option_price=1.2.3",
        ] {
            let sent = form(&format!("name=S&min=0&max=1&{bad}"));
            assert!(
                sent.parse::<GroupForm>()
                    .unwrap()
                    .into_patch(&money)
                    .is_err(),
                "{bad}"
            );
        }
        assert_eq!(typed_delta(&money, "  "), Ok(0));
        assert_eq!(typed_delta(&money, "-1"), Ok(-100));
        assert!(typed_delta(&money, "--1").is_err());
    }

    #[test]
    fn ingredient_rows_skip_the_empty_one() {
        let sent = form("ingredient_id=3&qty=2&ingredient_id=&qty=1&ingredient_id=9&qty=");
        let uses = sent.parse::<RecipeForm>().unwrap().into_patch().unwrap();
        let uses: Vec<_> = uses
            .ingredients
            .unwrap()
            .iter()
            .map(|u| (u.ingredient_id, u.qty))
            .collect();
        assert_eq!(uses, [(3, 2), (9, 1)]);
        let bad = form("ingredient_id=3&qty=two");
        assert!(bad.parse::<RecipeForm>().unwrap().into_patch().is_err());
    }

    #[test]
    fn only_option_switches_are_the_counters_job() {
        let switch: GroupPatch =
            crate::support::fields::from_json(r#"{"options": [{"id": 3, "available": false}]}"#)
                .unwrap();
        assert_eq!(group_action(&switch), ShopAction::SwitchSoldOut);
        for edit in [
            r#"{"options": [{"id": 3, "available": false, "price_delta_cents": 0}]}"#,
            r#"{"options": [{"name": "New"}]}"#,
            r#"{"options": [{"id": 3}], "replace_options": true}"#,
            r#"{"name": "Milk", "options": [{"id": 3, "available": false}]}"#,
            r#"{"max": 2}"#,
            r#"{}"#,
        ] {
            let patch: GroupPatch = crate::support::fields::from_json(edit).unwrap();
            assert_eq!(group_action(&patch), ShopAction::EditMenu, "{edit}");
        }
    }
}
