//! Kitchen stations: the keeper's stations and routing (JSON), and each
//! station's view, where staff mark its items done or take that back.

use super::menu::{api_edit, api_read, form_edit, whole_number};
use super::{acting_shopkeeper, actor, shopkeeper};
use crate::accounts::ShopAction;
use crate::app::App;
use crate::error::Result;
use crate::http::identity::check_csrf;
use crate::http::render::render;
use crate::http::request::Request;
use crate::http::response::{json, no_content, redirect, with_body, Response};
use crate::http::templates::context;
use crate::http::templates::value;
use crate::live::Changes;
use crate::ordering::orders::OrderView;
use crate::ordering::stations::{self, Route, StationPatch};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::ToJson;
use hyper::body::Bytes;
use hyper::StatusCode;
use std::future::Future;
use std::time::Duration;

/// Runs a change of the keeper's stations in a write transaction.
fn edit<'a, T, F>(
    app: &'a App,
    req: &'a Request,
    status: StatusCode,
    f: F,
) -> impl Future<Output = Result<Response>> + 'a
where
    T: ToJson + Send + 'static,
    F: FnOnce(&rusqlite::Connection, &mut Changes, i64) -> Result<T> + Send + 'static,
{
    api_edit(
        app,
        req,
        ShopAction::EditMenu,
        status,
        move |c, changes, shop, _| f(c, changes, shop),
    )
}

pub async fn api_stations(app: &App, req: &Request) -> Result<Response> {
    api_read(app, req, stations::list).await
}

pub async fn api_create_station(app: &App, req: &Request) -> Result<Response> {
    let patch: StationPatch = req.json()?;
    edit(app, req, StatusCode::CREATED, move |c, _, shop| {
        stations::create(c, shop, patch)
    })
    .await
}

pub async fn api_update_station(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch: StationPatch = req.json()?;
    edit(app, req, StatusCode::OK, move |c, _, shop| {
        stations::update(c, shop, id, patch)
    })
    .await
}

pub async fn api_delete_station(app: &App, req: &Request, id: i64) -> Result<Response> {
    edit(app, req, StatusCode::OK, move |c, ch, shop| {
        stations::remove(c, ch, shop, id)
    })
    .await?;
    Ok(no_content())
}

pub async fn api_route(app: &App, req: &Request) -> Result<Response> {
    let route: Route = req.json()?;
    edit(app, req, StatusCode::OK, move |c, ch, shop| {
        stations::route(c, ch, shop, route)
    })
    .await
}

/// The station's view as JSON, long-polled like the board.
pub async fn api_station_orders(app: &App, req: &Request, station: i64) -> Result<Response> {
    let (_, shop_id) = shopkeeper(app, req).await?;
    let since = req.int_param("since", -1)?;
    let wait = Duration::from_secs(req.int_param("wait", 0)?.clamp(0, 60) as u64);
    let view = stations::wait_for_station(&app.data, shop_id, station, since, wait).await?;
    Ok(with_body(
        StatusCode::OK,
        "application/json",
        Bytes::from_owner(view),
    ))
}

/// Marks the station's items of the order done (`done`) or takes the
/// mark back (`undo`).
async fn mark(app: &App, req: &Request, order: i64, station: i64, done: bool) -> Result<OrderView> {
    let (staff, shop_id) = acting_shopkeeper(app, req, ShopAction::MoveOrders).await?;
    let actor = actor(&staff, shop_id);
    if done {
        stations::done_order(&app.data, order, station, actor).await
    } else {
        stations::undo_order(&app.data, order, station, actor).await
    }
}

pub async fn api_mark(
    app: &App,
    req: &Request,
    order: i64,
    station: i64,
    done: bool,
) -> Result<Response> {
    Ok(json(
        StatusCode::OK,
        &mark(app, req, order, station, done).await?,
    ))
}

pub async fn mark_form(
    app: &App,
    req: &Request,
    order: i64,
    station: i64,
    done: bool,
) -> Result<Response> {
    check_csrf(app, req, &req.form()?)?;
    mark(app, req, order, station, done).await?;
    Ok(redirect(&format!("/shop/stations/{station}")))
}

pub async fn station_page(app: &App, req: &Request, station: i64) -> Result<Response> {
    let (staff, shop_id) = shopkeeper(app, req).await?;
    let now = crate::support::time::now_ms();
    let (view, all) = app
        .data
        .read(move |c| {
            let view = stations::view(c, shop_id, station, now)?;
            Ok((view, stations::list(c, shop_id)?.stations))
        })
        .await?;
    let template = if req.param("fragment").is_some() {
        "shop/station_orders.html"
    } else {
        "shop/station.html"
    };
    let newest = view.orders.iter().filter(|o| !o.done).map(|o| o.id).max();
    render(
        app,
        req,
        template,
        Some(&staff),
        context! {
            version => view.version,
            view => value(&view),
            stations => value(&all),
            newest => newest,
        },
    )
}

// ---- The menu editor's station forms: each calls the same function as
// ---- the JSON above, then goes back to the editor.

const MENU_STATIONS: &str = "/shop/menu#stations";

/// A station's name as the add and rename forms send it.
struct NameForm {
    name: String,
}

impl FromFields for NameForm {
    fn from_fields(f: &Fields) -> Result<NameForm> {
        f.done(NameForm {
            name: f.required_text("name"),
        })
    }
}

impl NameForm {
    fn into_patch(self) -> StationPatch {
        StationPatch {
            name: Some(self.name),
            position: None,
        }
    }
}

/// A station picked from a select: its id, or empty for none.
struct StationForm {
    station_id: String,
}

impl FromFields for StationForm {
    fn from_fields(f: &Fields) -> Result<StationForm> {
        f.done(StationForm {
            station_id: f.required_text("station_id"),
        })
    }
}

impl StationForm {
    fn station(&self) -> Result<Option<i64>> {
        whole_number("station_id", &self.station_id)
    }
}

pub async fn create_station_form(app: &App, req: &Request) -> Result<Response> {
    let patch = req.form()?.parse::<NameForm>()?.into_patch();
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_STATIONS,
        move |c, _, shop, _| stations::create(c, shop, patch),
    )
    .await
}

pub async fn rename_station_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    let patch = req.form()?.parse::<NameForm>()?.into_patch();
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_STATIONS,
        move |c, _, shop, _| stations::update(c, shop, id, patch),
    )
    .await
}

pub async fn delete_station_form(app: &App, req: &Request, id: i64) -> Result<Response> {
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_STATIONS,
        move |c, ch, shop, _| stations::remove(c, ch, shop, id),
    )
    .await
}

/// The item page's station select.
pub async fn route_item_form(app: &App, req: &Request, item_id: i64) -> Result<Response> {
    let station_id = req.form()?.parse::<StationForm>()?.station()?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        &format!("/shop/items/{item_id}"),
        move |c, ch, shop, _| {
            stations::route(
                c,
                ch,
                shop,
                Route {
                    item_id,
                    station_id,
                },
            )
        },
    )
    .await
}

/// Every item of a category to one station (or to none) at once.
struct CategoryRouteForm {
    category_id: i64,
    station_id: String,
}

impl FromFields for CategoryRouteForm {
    fn from_fields(f: &Fields) -> Result<CategoryRouteForm> {
        f.done(CategoryRouteForm {
            category_id: f.required_int("category_id"),
            station_id: f.required_text("station_id"),
        })
    }
}

pub async fn route_category_form(app: &App, req: &Request) -> Result<Response> {
    let sent = req.form()?.parse::<CategoryRouteForm>()?;
    let category = sent.category_id;
    let station = whole_number("station_id", &sent.station_id)?;
    form_edit(
        app,
        req,
        ShopAction::EditMenu,
        MENU_STATIONS,
        move |c, ch, shop, _| stations::route_category(c, ch, shop, category, station),
    )
    .await
}
