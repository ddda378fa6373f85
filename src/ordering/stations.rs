//! Kitchen stations: a shop routes its items to stations (grill, fryer,
//! drinks …); each station sees only its items across the open orders and
//! marks them done, and an order whose items all went to stations turns
//! ready once every one of them is done. Items routed nowhere are the
//! keeper's, who marks such orders ready as before.

use crate::error::{Code, Error, Result};
use crate::live::{Answer, Audience, Built, Changes, Data, Topic};
use crate::ordering::menu_edit;
use crate::ordering::orders::{self, Actor, LineView, OrderView, Status};
use crate::store::orders as order_rows;
use crate::store::payments::touch_order;
use crate::store::stations::{self as rows, OrderStationRow, StationRow};
use crate::store::{items, orders::OrderRow};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::text;
use rusqlite::Connection;
use std::time::Duration;

/// Stations one shop may have: a kitchen has a handful.
pub const MAX_STATIONS: usize = 12;
pub const MAX_NAME_CHARS: usize = 40;
const MAX_POSITION: i64 = 100_000;
/// Orders one station's view shows, oldest first.
pub const STATION_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    pub id: i64,
    pub name: String,
    pub position: i64,
}
json_object!(Station: id, name, position);

impl From<StationRow> for Station {
    fn from(r: StationRow) -> Self {
        Station {
            id: r.id,
            name: r.name,
            position: r.position,
        }
    }
}

/// A station as sent: a new one needs a name; missing fields keep theirs.
#[derive(Debug, Default)]
pub struct StationPatch {
    pub name: Option<String>,
    pub position: Option<i64>,
}

impl FromFields for StationPatch {
    fn from_fields(f: &Fields) -> Result<StationPatch> {
        // A misspelt field must not read as "keep the value".
        f.only(&["name", "position"]);
        f.done(StationPatch {
            name: f.text("name"),
            position: f.int("position"),
        })
    }
}

/// `{item_id, station_id}`: `station_id` null sends the item to no station.
#[derive(Debug)]
pub struct Route {
    pub item_id: i64,
    pub station_id: Option<i64>,
}

impl FromFields for Route {
    fn from_fields(f: &Fields) -> Result<Route> {
        f.only(&["item_id", "station_id"]);
        f.done(Route {
            item_id: f.required_int("item_id"),
            station_id: f.int("station_id"),
        })
    }
}

/// A shop's stations and where its routed items go.
#[derive(Debug)]
pub struct Stations {
    pub stations: Vec<Station>,
    pub routes: Vec<RouteView>,
}
json_object!(Stations: stations, routes);

#[derive(Debug)]
pub struct RouteView {
    pub item_id: i64,
    pub station_id: i64,
}
json_object!(RouteView: item_id, station_id);

pub fn list(conn: &Connection, shop_id: i64) -> Result<Stations> {
    Ok(Stations {
        stations: rows::list(conn, shop_id)?
            .into_iter()
            .map(Station::from)
            .collect(),
        routes: rows::routes(conn, shop_id)?
            .into_iter()
            .map(|(item_id, station_id)| RouteView {
                item_id,
                station_id,
            })
            .collect(),
    })
}

fn not_found() -> Error {
    Error::not_found(Code::StationNotFound)
}

fn station_of(conn: &Connection, shop_id: i64, id: i64) -> Result<StationRow> {
    rows::find(conn, shop_id, id)?.ok_or_else(not_found)
}

fn checked_name(conn: &Connection, shop_id: i64, name: &str, id: i64) -> Result<String> {
    let name = text::required("name", name, MAX_NAME_CHARS)?;
    if rows::name_taken(conn, shop_id, &name, id)? {
        return Err(Error::conflict(Code::StationNameTaken).with("name", &name));
    }
    Ok(name)
}

pub fn create(conn: &Connection, shop_id: i64, patch: StationPatch) -> Result<Station> {
    let existing = rows::list(conn, shop_id)?;
    if existing.len() >= MAX_STATIONS {
        return Err(Error::conflict(Code::MenuTooMany)
            .with("what", "stations")
            .with("max", MAX_STATIONS));
    }
    let name = checked_name(conn, shop_id, patch.name.as_deref().unwrap_or(""), 0)?;
    let position = patch
        .position
        .unwrap_or(existing.len() as i64)
        .clamp(0, MAX_POSITION);
    let id = rows::insert(conn, shop_id, &name, position)?;
    Ok(station_of(conn, shop_id, id)?.into())
}

pub fn update(conn: &Connection, shop_id: i64, id: i64, patch: StationPatch) -> Result<Station> {
    let station = station_of(conn, shop_id, id)?;
    let name = match patch.name {
        Some(name) => checked_name(conn, shop_id, &name, id)?,
        None => station.name,
    };
    let position = patch
        .position
        .unwrap_or(station.position)
        .clamp(0, MAX_POSITION);
    rows::update(conn, id, &name, position)?;
    Ok(station_of(conn, shop_id, id)?.into())
}

/// Its items go back to no station; its past marks keep their figures.
pub fn remove(conn: &Connection, changes: &mut Changes, shop_id: i64, id: i64) -> Result<()> {
    station_of(conn, shop_id, id)?;
    rows::remove(conn, id)?;
    // Tickets waiting on it may be ready to go now: the boards redraw.
    changes.add(Topic::ShopOrders(shop_id));
    Ok(())
}

pub fn route(conn: &Connection, changes: &mut Changes, shop_id: i64, r: Route) -> Result<Stations> {
    if items::by_id(conn, r.item_id)?.is_none_or(|i| i.shop_id != shop_id) {
        return Err(Error::not_found(Code::ItemNotFound));
    }
    if let Some(station) = r.station_id {
        station_of(conn, shop_id, station)?;
    }
    rows::route(conn, r.item_id, r.station_id)?;
    changes.add(Topic::ShopOrders(shop_id));
    list(conn, shop_id)
}

/// Routes every item of the shop's category to a station (or to none);
/// how many items that was. The category's items are the shop's, so as
/// many as `MAX_ITEMS_PER_SHOP`.
pub fn route_category(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    category_id: i64,
    station_id: Option<i64>,
) -> Result<usize> {
    menu_edit::own_category(conn, shop_id, category_id)?;
    if let Some(station) = station_id {
        station_of(conn, shop_id, station)?;
    }
    let mut routed = 0;
    for item in items::for_shop(conn, shop_id)? {
        if item.fields.category_id == Some(category_id) {
            rows::route(conn, item.id, station_id)?;
            routed += 1;
        }
    }
    changes.add(Topic::ShopOrders(shop_id));
    Ok(routed)
}

/// A station holding an order's items, as a ticket shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketStation {
    pub id: i64,
    pub name: String,
    pub items: i64,
    pub done: bool,
}
json_object!(TicketStation: id, name, items, done);

impl From<OrderStationRow> for TicketStation {
    fn from(r: OrderStationRow) -> Self {
        TicketStation {
            id: r.station_id,
            name: r.name,
            items: r.items,
            done: r.done_at.is_some(),
        }
    }
}

pub fn of_order(conn: &Connection, order_id: i64) -> Result<Vec<TicketStation>> {
    Ok(rows::of_order(conn, order_id)?
        .into_iter()
        .map(TicketStation::from)
        .collect())
}

/// Whether marking `done` finishes the order: every station holding its
/// items is done and none of its items is the keeper's.
pub fn all_done(stations: &[TicketStation], unrouted_lines: i64) -> bool {
    unrouted_lines == 0 && !stations.is_empty() && stations.iter().all(|s| s.done)
}

fn open_order(conn: &Connection, order_id: i64, actor: &Actor) -> Result<OrderRow> {
    orders::visible_order(conn, order_id, actor)
}

fn order_changed(changes: &mut Changes, order: &OrderRow) {
    changes.add(Topic::Order(order.id));
    changes.add(Topic::ShopOrders(order.shop_id));
}

/// The station marks its items of the order done; the order turns ready
/// (through the stages it has not passed yet, each an event) when that was
/// the last station.
pub fn mark_done(
    tx: &Connection,
    changes: &mut Changes,
    order_id: i64,
    station_id: i64,
    actor: &Actor,
    now: i64,
) -> Result<OrderView> {
    let order = open_order(tx, order_id, actor)?;
    let Actor::Shop { user_id, .. } = actor else {
        return Err(Error::not_found(Code::OrderNotFound));
    };
    if !matches!(
        order.status,
        Status::Placed | Status::Accepted | Status::Preparing
    ) {
        return Err(Error::conflict(Code::StationOrderNotOpen)
            .with("code", &order.pickup_code)
            .with_key("from", format!("status.{}", order.status.as_str())));
    }
    let mut stations = of_order(tx, order_id)?;
    let station = stations
        .iter_mut()
        .find(|s| s.id == station_id)
        .ok_or_else(not_found)?;
    if station.done {
        return Err(Error::conflict(Code::StationAlreadyDone).with("code", &order.pickup_code));
    }
    rows::mark_done(tx, order_id, station_id, station.items, *user_id, now)?;
    station.done = true;
    order_changed(changes, &order);
    if all_done(&stations, rows::unrouted_lines(tx, order_id)?) {
        let mut status = order.status;
        while let Some(next) = status.next().filter(|_| status != Status::Ready) {
            orders::change_status(tx, order_id, next, actor, "", now)?;
            status = next;
        }
    } else {
        touch_order(tx, order_id, now)?;
    }
    let order = order_rows::by_id(tx, order_id)?.ok_or_else(not_found)?;
    orders::load_view(tx, order)
}

/// Takes back a station's mark. An order that was ready goes back to
/// preparing (a recall event), so its customer's page follows.
pub fn undo(
    tx: &Connection,
    changes: &mut Changes,
    order_id: i64,
    station_id: i64,
    actor: &Actor,
    now: i64,
) -> Result<OrderView> {
    let order = open_order(tx, order_id, actor)?;
    if !matches!(
        order.status,
        Status::Placed | Status::Accepted | Status::Preparing | Status::Ready
    ) {
        return Err(Error::conflict(Code::StationOrderNotOpen)
            .with("code", &order.pickup_code)
            .with_key("from", format!("status.{}", order.status.as_str())));
    }
    if rows::find(tx, order.shop_id, station_id)?.is_none() {
        return Err(not_found());
    }
    if !rows::unmark(tx, order_id, station_id)? {
        return Err(Error::conflict(Code::StationNotDone).with("code", &order.pickup_code));
    }
    order_changed(changes, &order);
    if order.status == Status::Ready {
        orders::recall(tx, order_id, actor, now)?;
    } else {
        touch_order(tx, order_id, now)?;
    }
    let order = order_rows::by_id(tx, order_id)?.ok_or_else(not_found)?;
    orders::load_view(tx, order)
}

pub async fn done_order(
    data: &Data,
    order_id: i64,
    station_id: i64,
    actor: Actor,
) -> Result<OrderView> {
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| mark_done(tx, changes, order_id, station_id, &actor, now))
        .await
}

pub async fn undo_order(
    data: &Data,
    order_id: i64,
    station_id: i64,
    actor: Actor,
) -> Result<OrderView> {
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| undo(tx, changes, order_id, station_id, &actor, now))
        .await
}

/// An order as one station sees it: only the lines routed to it.
#[derive(Debug)]
pub struct StationTicket {
    pub id: i64,
    pub pickup_code: String,
    pub customer_name: String,
    pub status: Status,
    pub created_at: i64,
    pub note: String,
    /// The table it was ordered at ('' for none).
    pub table_name: String,
    pub items: Vec<LineView>,
    /// This station has marked its items done.
    pub done: bool,
}
json_object!(StationTicket: id, pickup_code, customer_name, status, created_at, note, table_name,
    items, done);

/// A station's view: its items across the shop's orders not yet handed
/// over, oldest first.
#[derive(Debug)]
pub struct StationView {
    pub version: i64,
    pub now: i64,
    pub station: Station,
    pub orders: Vec<StationTicket>,
}
json_object!(StationView: version, now, station, orders);

pub fn view(conn: &Connection, shop_id: i64, station_id: i64, now: i64) -> Result<StationView> {
    let station = station_of(conn, shop_id, station_id)?;
    let version = order_rows::shop_version(conn, shop_id)?;
    let routed = rows::items_of(conn, station_id)?;
    let mut orders = Vec::new();
    for id in rows::open_orders_at(conn, shop_id, station_id, STATION_PAGE, now)? {
        let Some(order) = order_rows::by_id(conn, id)? else {
            continue;
        };
        let items = order_rows::lines(conn, id)?
            .into_iter()
            .filter(|l| routed.contains(&l.item_id))
            .map(LineView::from)
            .collect();
        let done = rows::of_order(conn, id)?
            .iter()
            .any(|s| s.station_id == station_id && s.done_at.is_some());
        orders.push(StationTicket {
            id,
            pickup_code: order.pickup_code,
            customer_name: order.customer_name,
            status: order.status,
            created_at: order.created_at,
            note: order.note,
            table_name: order.table_name,
            items,
            done,
        });
    }
    Ok(StationView {
        version,
        now,
        station: station.into(),
        orders,
    })
}

/// The station's view once its shop's board version is above `since`,
/// waiting up to `wait`.
pub async fn wait_for_station(
    data: &Data,
    shop_id: i64,
    station_id: i64,
    since: i64,
    wait: Duration,
) -> Result<Answer> {
    let version = data.read(move |c| {
        station_of(c, shop_id, station_id)?;
        Ok(order_rows::shop_version(c, shop_id)?)
    });
    let build = || {
        let now = crate::support::time::now_ms();
        data.read(move |c| {
            let view = view(c, shop_id, station_id, now)?;
            Ok(Built::json(view.version, &view))
        })
    };
    data.live
        .answer(
            Topic::ShopOrders(shop_id),
            Audience::Station { id: station_id },
            since,
            wait,
            version,
            build,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station(id: i64, done: bool) -> TicketStation {
        TicketStation {
            id,
            name: format!("S{id}"),
            items: 1,
            done,
        }
    }

    #[test]
    fn an_order_is_done_when_every_station_is_and_nothing_is_the_keepers() {
        assert!(all_done(&[station(1, true), station(2, true)], 0));
        assert!(!all_done(&[station(1, true), station(2, false)], 0));
        // An item routed nowhere is the keeper's to finish.
        assert!(!all_done(&[station(1, true)], 1));
        // No station at all: the keeper marks it ready as before.
        assert!(!all_done(&[], 0));
    }

    #[test]
    fn a_whole_category_goes_to_one_station_and_back() {
        use crate::ordering::menu_edit::{self, CategoryPatch, ItemPatch};
        use crate::ordering::testing::{patch, shop};
        let conn = crate::db::test_connection();
        let (mine, theirs) = (shop(&conn, "a@x.y"), shop(&conn, "b@x.y"));
        let changes = &mut Changes::default();
        let in_category = |name: &str| ItemPatch {
            category: Some("Hot".into()),
            ..patch(name, 100)
        };
        let soup = menu_edit::create_item(&conn, changes, mine, in_category("Soup"), 0).unwrap();
        let stew = menu_edit::create_item(&conn, changes, mine, in_category("Stew"), 0).unwrap();
        let tea = menu_edit::create_item(&conn, changes, mine, patch("Tea", 100), 0).unwrap();
        let hot = menu_edit::own_item(&conn, mine, soup)
            .unwrap()
            .fields
            .category_id
            .unwrap();
        let named = |name: &str| StationPatch {
            name: Some(name.into()),
            position: None,
        };
        let stove = create(&conn, mine, named("Stove")).unwrap().id;
        let foreign = create(&conn, theirs, named("Bar")).unwrap().id;
        let other_hot = menu_edit::create_category(
            &conn,
            changes,
            theirs,
            CategoryPatch {
                name: Some("Hot".into()),
                position: None,
            },
        )
        .unwrap()
        .id;

        assert_eq!(
            route_category(&conn, changes, mine, hot, Some(stove)),
            Ok(2)
        );
        let routed = |shop| rows::routes(&conn, shop).unwrap();
        assert_eq!(routed(mine), [(soup, stove), (stew, stove)]);
        assert!(!routed(mine).iter().any(|&(item, _)| item == tea));
        // Another shop's station or category is not found, and changes nothing.
        let mut refused = |category, station| {
            route_category(&conn, changes, mine, category, station)
                .unwrap_err()
                .code()
        };
        assert_eq!(refused(hot, Some(foreign)), "station.not_found");
        assert_eq!(refused(other_hot, Some(stove)), "category.not_found");
        assert_eq!(routed(mine).len(), 2);
        assert_eq!(route_category(&conn, changes, mine, hot, None), Ok(2));
        assert!(routed(mine).is_empty());
    }
}
