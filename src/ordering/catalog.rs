//! Shops and their menus: what customers may see, what shopkeepers may edit,
//! and the owner's approval.

use super::menu::{self, OfferedGroup};
use crate::error::{Code, Error, Result};
use crate::live::{Answer, Audience, Built, Changes, Data, Topic};
use crate::store::categories::{self, CategoryRow};
use crate::store::items::{self, ItemRow, SearchQuery};
use crate::store::shops::{self, ShopRow};
use crate::store::{ingredients, options};
use crate::support::case;
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::text::{optional_line, optional_text, required};
use rusqlite::Connection;
use std::time::Duration;

pub use crate::store::shops::ShopStatus;

/// A shop as customers see it.
#[derive(Debug)]
pub struct PublicShop {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub open: bool,
    /// Paused: takes no orders until this UTC instant (cleared once past).
    pub paused_until: Option<i64>,
}
json_object!(PublicShop: id, name, description, open, paused_until);

impl From<ShopRow> for PublicShop {
    fn from(s: ShopRow) -> Self {
        PublicShop {
            id: s.id,
            name: s.name,
            description: s.description,
            open: s.open,
            paused_until: s.paused_until,
        }
    }
}

/// A shop as the venue owner and its keeper see it.
#[derive(Debug)]
pub struct ShopView {
    pub id: i64,
    pub owner_user_id: i64,
    pub owner_email: String,
    pub name: String,
    pub description: String,
    pub status: ShopStatus,
    pub open: bool,
    pub created_at: i64,
    pub paused_until: Option<i64>,
}
json_object!(ShopView: id, owner_user_id, owner_email, name, description, status, open, created_at,
    paused_until);

impl From<ShopRow> for ShopView {
    fn from(s: ShopRow) -> Self {
        ShopView {
            id: s.id,
            owner_user_id: s.owner_user_id,
            owner_email: s.owner_email,
            name: s.name,
            description: s.description,
            status: s.status,
            open: s.open,
            created_at: s.created_at,
            paused_until: s.paused_until,
        }
    }
}

/// A menu item as customers and its shop see it.
#[derive(Debug, Clone)]
pub struct MenuItemView {
    pub id: i64,
    pub shop_id: i64,
    pub category_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    /// Can be ordered now: not sold out and within its time window.
    pub available: bool,
    /// Switched off by the shop, or its stock (or an ingredient's) is gone.
    pub sold_out: bool,
    /// Units left; `None`: not counted.
    pub stock: Option<i64>,
    /// At or below this many units left the shop is warned.
    pub low_stock: i64,
    pub running_low: bool,
    pub prep_minutes: i64,
    pub photo_url: Option<String>,
    pub tags: Vec<&'static str>,
    pub allergens: Vec<&'static str>,
    pub window: Option<WindowView>,
    /// Outside its window: when it can be ordered again ("07:00").
    pub available_from: Option<String>,
    pub option_groups: Vec<GroupView>,
    pub position: i64,
}
json_object!(MenuItemView: id, shop_id, category_id, name, description, price_cents, available,
    sold_out, stock, low_stock, running_low, prep_minutes, photo_url, tags, allergens, window,
    available_from, option_groups, position);

/// A daily time window as the venue's clock shows it.
#[derive(Debug, Clone)]
pub struct WindowView {
    pub from: String,
    pub until: String,
}
json_object!(WindowView: from, until);

#[derive(Debug, Clone)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub min: i64,
    pub max: i64,
    pub options: Vec<OptionView>,
}
json_object!(GroupView: id, name, min, max, options);

#[derive(Debug, Clone)]
pub struct OptionView {
    pub id: i64,
    pub name: String,
    pub price_delta_cents: i64,
    pub available: bool,
}
json_object!(OptionView: id, name, price_delta_cents, available);

#[derive(Debug, Clone)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub position: i64,
}
json_object!(CategoryView: id, name, position);

impl From<CategoryRow> for CategoryView {
    fn from(c: CategoryRow) -> Self {
        CategoryView {
            id: c.id,
            name: c.name,
            position: c.position,
        }
    }
}

/// A shop's whole menu: categories in order, items in display order.
#[derive(Debug)]
pub struct Menu {
    pub categories: Vec<CategoryView>,
    pub items: Vec<MenuItemView>,
}
json_object!(Menu: categories, items);

/// The URL an item's photo is served at; its name changes with its content.
pub fn photo_url(photo: &str) -> Option<String> {
    (!photo.is_empty()).then(|| format!("/photos/{photo}"))
}

fn group_view(offer: &OfferedGroup) -> GroupView {
    GroupView {
        id: offer.group.id,
        name: offer.group.name.clone(),
        min: offer.group.min_choices,
        max: offer.group.max_choices,
        options: offer
            .options
            .iter()
            .map(|o| OptionView {
                id: o.id,
                name: o.name.clone(),
                price_delta_cents: o.price_delta_cents,
                available: o.available,
            })
            .collect(),
    }
}

/// Every live group of a shop with its options, ordered by id.
fn offered_groups(conn: &Connection, shop_id: i64) -> Result<Vec<OfferedGroup>> {
    let mut groups: Vec<OfferedGroup> = options::groups_for_shop(conn, shop_id)?
        .into_iter()
        .map(|group| OfferedGroup {
            group,
            options: Vec::new(),
        })
        .collect();
    groups.sort_unstable_by_key(|offer| offer.group.id);
    for option in options::options_for_shop(conn, shop_id)? {
        if let Ok(at) = groups.binary_search_by_key(&option.group_id, |offer| offer.group.id) {
            groups[at].options.push(option);
        }
    }
    Ok(groups)
}

/// The rows of `rows` (sorted by their first field) whose first field is
/// `id`: sorted vectors instead of maps keep the code small.
fn rows_of<R>(rows: &[R], id: i64, key: impl Fn(&R) -> i64) -> &[R] {
    let start = rows.partition_point(|r| key(r) < id);
    let len = rows[start..].partition_point(|r| key(r) == id);
    &rows[start..start + len]
}

/// The menu of a shop (any status: the keeper's editor shows it too) at
/// local time `minute` (minutes after the venue's midnight).
pub fn menu(conn: &Connection, shop_id: i64, minute: i64) -> Result<Menu> {
    let groups = offered_groups(conn, shop_id)?;
    // By item, then position; recipes by item; stock by ingredient.
    let attachments = options::attachments_for_shop(conn, shop_id)?;
    let recipes = ingredients::recipes_for_shop(conn, shop_id)?;
    let mut stock: Vec<(i64, i64)> = ingredients::for_shop(conn, shop_id)?
        .into_iter()
        .map(|i| (i.id, i.stock))
        .collect();
    stock.sort_unstable();
    let items = items::for_shop(conn, shop_id)?
        .into_iter()
        .map(|item| {
            let short = rows_of(&recipes, item.id, |r| r.0)
                .iter()
                .any(|&(_, ingredient, qty)| {
                    stock
                        .binary_search_by_key(&ingredient, |s| s.0)
                        .is_ok_and(|at| stock[at].1 < qty)
                });
            let sold_out = !item.fields.available || item.fields.stock == Some(0) || short;
            let mut option_groups = Vec::new();
            for &(_, group_id) in rows_of(&attachments, item.id, |a| a.0) {
                if let Ok(at) = groups.binary_search_by_key(&group_id, |offer| offer.group.id) {
                    option_groups.push(group_view(&groups[at]));
                }
            }
            item_view(item, sold_out, minute, option_groups)
        })
        .collect();
    let categories = categories::for_shop(conn, shop_id)?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Menu { categories, items })
}

/// How many live items a shop has.
pub fn item_count(conn: &Connection, shop_id: i64) -> Result<i64> {
    Ok(items::count_for_shop(conn, shop_id)?)
}

/// An item at or below its low-stock threshold, for the shop's board.
#[derive(Debug)]
pub struct RunningLow {
    pub id: i64,
    pub name: String,
    pub stock: i64,
}
json_object!(RunningLow: id, name, stock);

/// Up to `limit` of a shop's items running low, fewest left first; reads
/// only those, however large the menu.
pub fn running_low(conn: &Connection, shop_id: i64, limit: i64) -> Result<Vec<RunningLow>> {
    Ok(items::running_low(conn, shop_id, limit)?
        .into_iter()
        .map(|(id, name, stock)| RunningLow { id, name, stock })
        .collect())
}

/// The groups an item offers with their live options, in its order.
pub fn offered(conn: &Connection, item_id: i64) -> Result<Vec<OfferedGroup>> {
    let mut offered = Vec::new();
    for group in options::groups_of_item(conn, item_id)? {
        offered.push(OfferedGroup {
            options: options::options_of_group(conn, group.id)?,
            group,
        });
    }
    Ok(offered)
}

/// Whether one item is sold out: switched off, or its own count or an
/// ingredient's too low for one more (read for this item alone).
fn sold_out(conn: &Connection, item: &ItemRow) -> Result<bool> {
    if !item.fields.available || item.fields.stock == Some(0) {
        return Ok(true);
    }
    for (ingredient_id, qty) in ingredients::recipe(conn, item.id)? {
        if ingredients::by_id(conn, ingredient_id)?.is_some_and(|i| i.stock < qty) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One item of a shop as its menu shows it at local time `minute`,
/// without reading the rest of the menu.
pub fn one_item(
    conn: &Connection,
    shop_id: i64,
    item_id: i64,
    minute: i64,
) -> Result<MenuItemView> {
    let item = items::by_id(conn, item_id)?
        .filter(|i| i.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::ItemNotFound))?;
    let sold_out = sold_out(conn, &item)?;
    let groups = offered(conn, item_id)?.iter().map(group_view).collect();
    Ok(item_view(item, sold_out, minute, groups))
}

fn item_view(
    item: ItemRow,
    sold_out: bool,
    minute: i64,
    option_groups: Vec<GroupView>,
) -> MenuItemView {
    let f = item.fields;
    let in_window = f.window.is_none_or(|w| menu::in_window(w, minute));
    MenuItemView {
        id: item.id,
        shop_id: item.shop_id,
        category_id: f.category_id,
        available: !sold_out && in_window,
        sold_out,
        running_low: f.stock.is_some_and(|s| s <= f.low_stock),
        stock: f.stock,
        low_stock: f.low_stock,
        prep_minutes: f.prep_minutes,
        photo_url: photo_url(&item.photo),
        tags: menu::words_of(f.tags, menu::TAGS),
        allergens: menu::words_of(f.allergens, menu::ALLERGENS),
        window: f.window.map(|(from, until)| WindowView {
            from: menu::clock_text(from),
            until: menu::clock_text(until),
        }),
        available_from: f
            .window
            .filter(|_| !in_window)
            .map(|(from, _)| menu::clock_text(from)),
        option_groups,
        name: f.name,
        description: f.description,
        price_cents: f.price_cents,
        position: f.position,
    }
}

pub fn listed(conn: &Connection) -> Result<Vec<PublicShop>> {
    Ok(shops::approved(conn)?.into_iter().map(Into::into).collect())
}

/// Every shop, pending ones first: the owner's approval list.
pub fn all(conn: &Connection) -> Result<Vec<ShopView>> {
    Ok(shops::all(conn)?.into_iter().map(Into::into).collect())
}

/// A shop customers may see and order from; others are "not found".
pub fn approved_shop(conn: &Connection, shop_id: i64) -> Result<ShopRow> {
    shops::by_id(conn, shop_id)?
        .filter(|s| s.status == ShopStatus::Approved)
        .ok_or_else(|| Error::not_found(Code::ShopNotFound))
}

/// An approved shop with its menu at local time `minute`.
pub fn public_menu(conn: &Connection, shop_id: i64, minute: i64) -> Result<(PublicShop, Menu)> {
    let shop = approved_shop(conn, shop_id)?;
    Ok((shop.into(), menu(conn, shop_id, minute)?))
}

/// Most results one search answers.
pub const MAX_SEARCH_RESULTS: i64 = 50;

/// What a customer searches for: text in names and descriptions, a shop,
/// a category, dietary tags every result has, allergens none has.
#[derive(Debug, Default)]
pub struct Search {
    pub q: String,
    pub shop: Option<Option<i64>>,
    pub category: Option<Option<i64>>,
    pub tag: Option<Vec<String>>,
    pub without: Option<Vec<String>>,
}

impl FromFields for Search {
    fn from_fields(f: &Fields) -> Result<Search> {
        f.done(Search {
            q: f.text_or_empty("q"),
            shop: f.clearable_int("shop"),
            category: f.clearable_int("category"),
            tag: f.words("tag"),
            without: f.words("without"),
        })
    }
}

/// A search result: the item (its options are on its shop's menu) and
/// where it is sold.
#[derive(Debug)]
pub struct Found {
    pub shop_name: String,
    pub item: MenuItemView,
}
json_object!(Found: shop_name, ..item);

/// Items of approved shops matching `search` at local time `minute`.
pub fn search(conn: &Connection, search: &Search, minute: i64) -> Result<Vec<Found>> {
    let query = SearchQuery {
        text: case::lowercase(&optional_line("q", &search.q, 80)?),
        shop_id: search.shop.flatten(),
        category_id: search.category.flatten(),
        tags: menu::bits_of(
            search.tag.as_deref().unwrap_or_default(),
            menu::TAGS,
            Code::MenuUnknownTag,
        )?,
        without: menu::bits_of(
            search.without.as_deref().unwrap_or_default(),
            menu::ALLERGENS,
            Code::MenuUnknownAllergen,
        )?,
        limit: MAX_SEARCH_RESULTS,
    };
    let shops = shops::approved(conn)?;
    let mut found = Vec::new();
    for item in items::search(conn, &query)? {
        let sold_out = sold_out(conn, &item)?;
        found.push(Found {
            shop_name: shops
                .iter()
                .find(|s| s.id == item.shop_id)
                .map_or_else(String::new, |s| s.name.clone()),
            item: item_view(item, sold_out, minute, Vec::new()),
        });
    }
    Ok(found)
}

/// The version of an approved shop's menu; others are "not found".
pub fn public_menu_version(conn: &Connection, shop_id: i64) -> Result<i64> {
    shops::by_id(conn, shop_id)?
        .filter(|s| s.status == ShopStatus::Approved)
        .ok_or_else(|| Error::not_found(Code::ShopNotFound))?;
    Ok(shops::menu_version(conn, shop_id)?.unwrap_or(0))
}

/// What a menu long-poll answers.
struct VersionedMenu {
    version: i64,
    shop: PublicShop,
    menu: Menu,
}
json_object!(VersionedMenu: version, shop, ..menu);

pub fn menu_answer(conn: &Connection, shop_id: i64, minute: i64) -> Result<Built> {
    // The version first: a change landing between the reads is then
    // answered again rather than missed.
    let version = public_menu_version(conn, shop_id)?;
    let (shop, menu) = public_menu(conn, shop_id, minute)?;
    Ok(Built::json(
        version,
        &VersionedMenu {
            version,
            shop,
            menu,
        },
    ))
}

/// An approved shop's menu (`{version, shop, categories, items}`) once its
/// version is above `since`, waiting up to `wait`. `clock` gives the
/// venue's local time (minutes after midnight) when the answer is built.
pub async fn wait_for_menu(
    data: &Data,
    shop_id: i64,
    since: i64,
    wait: Duration,
    clock: impl Fn() -> i64,
) -> Result<Answer> {
    let version = data.read(move |c| public_menu_version(c, shop_id));
    let build = || {
        let minute = clock();
        data.read(move |c| menu_answer(c, shop_id, minute))
    };
    data.live
        .answer(
            Topic::ShopMenu(shop_id),
            Audience::Customer,
            since,
            wait,
            version,
            build,
        )
        .await
}

/// Records that what customers see of the shop's menu changed: its
/// version moves and menu waiters wake once the transaction commits.
pub(crate) fn menu_changed(conn: &Connection, changes: &mut Changes, shop_id: i64) -> Result<()> {
    shops::bump_menu_version(conn, shop_id)?;
    changes.add(Topic::ShopMenu(shop_id));
    Ok(())
}

#[derive(Debug)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub open: Option<bool>,
}

impl FromFields for ProfilePatch {
    fn from_fields(f: &Fields) -> Result<ProfilePatch> {
        f.done(ProfilePatch {
            name: f.text("name"),
            description: f.text("description"),
            open: f.bool("open"),
        })
    }
}

pub fn update_profile(
    conn: &Connection,
    changes: &mut Changes,
    shop: &ShopRow,
    patch: ProfilePatch,
) -> Result<ShopView> {
    let name = match patch.name {
        Some(name) => required("name", &name, 60)?,
        None => shop.name.clone(),
    };
    let description = match patch.description {
        Some(d) => optional_text("description", &d, 500)?,
        None => shop.description.clone(),
    };
    shops::update_profile(
        conn,
        shop.id,
        &name,
        &description,
        patch.open.unwrap_or(shop.open),
    )?;
    menu_changed(conn, changes, shop.id)?;
    shop_view(conn, shop.id)
}

/// The owner approves or suspends a shop: its menu appears or disappears.
pub fn set_status(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    status: ShopStatus,
) -> Result<ShopView> {
    if !shops::set_status(conn, shop_id, status)? {
        return Err(Error::not_found(Code::ShopNotFound));
    }
    menu_changed(conn, changes, shop_id)?;
    log::info!("shop {shop_id} is now {}", status.as_str());
    shop_view(conn, shop_id)
}

fn shop_view(conn: &Connection, shop_id: i64) -> Result<ShopView> {
    Ok(shops::by_id(conn, shop_id)?
        .ok_or_else(|| Error::not_found(Code::ShopNotFound))?
        .into())
}

// ---- Use cases: each edit commits, then wakes the menu's waiters ----

/// Name, description and the open/closed switch.
pub async fn edit_profile(data: &Data, shop: ShopRow, patch: ProfilePatch) -> Result<ShopView> {
    data.write(move |tx, changes| update_profile(tx, changes, &shop, patch))
        .await
}

pub async fn change_status(data: &Data, shop_id: i64, status: ShopStatus) -> Result<ShopView> {
    data.write(move |tx, changes| set_status(tx, changes, shop_id, status))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ordering::menu_edit::{create_item, delete_item, update_item, ItemPatch};
    use crate::ordering::testing::{patch, shop};

    #[test]
    fn pending_shops_are_hidden_until_approved() {
        let conn = crate::db::test_connection();
        let id = shop(&conn, "a@x.y");
        assert!(listed(&conn).unwrap().is_empty());
        assert!(public_menu(&conn, id, 0).is_err());
        let changes = &mut Changes::default();
        set_status(&conn, changes, id, ShopStatus::Approved).unwrap();
        assert_eq!(listed(&conn).unwrap().len(), 1);
        set_status(&conn, changes, id, ShopStatus::Suspended).unwrap();
        assert!(public_menu(&conn, id, 0).is_err());
    }

    #[test]
    fn every_menu_change_moves_the_menu_version_and_names_the_menu() {
        let conn = crate::db::test_connection();
        let id = shop(&conn, "a@x.y");
        let other = shop(&conn, "b@x.y");
        let version = || shops::menu_version(&conn, id).unwrap().unwrap();
        let changed = |changes: Changes| changes.topics() == [Topic::ShopMenu(id)];
        let mut seen = version();

        let mut changes = Changes::default();
        set_status(&conn, &mut changes, id, ShopStatus::Approved).unwrap();
        assert!(changed(changes) && version() > seen);
        seen = version();
        assert_eq!(public_menu_version(&conn, id).unwrap(), seen);

        let mut changes = Changes::default();
        let item = create_item(&conn, &mut changes, id, patch("Tea", 250), 0).unwrap();
        assert!(changed(changes) && version() > seen);
        seen = version();

        let sold_out = ItemPatch {
            available: Some(false),
            ..Default::default()
        };
        let mut changes = Changes::default();
        update_item(&conn, &mut changes, id, item, sold_out, 1).unwrap();
        assert!(changed(changes) && version() > seen);
        seen = version();

        let shop_row = shops::by_id(&conn, id).unwrap().unwrap();
        let closed = ProfilePatch {
            name: None,
            description: None,
            open: Some(false),
        };
        let mut changes = Changes::default();
        update_profile(&conn, &mut changes, &shop_row, closed).unwrap();
        assert!(changed(changes) && version() > seen);
        seen = version();

        // A refused change moves nothing; another shop's has its own version.
        let mut changes = Changes::default();
        assert!(delete_item(&conn, &mut changes, other, item, 2).is_err());
        assert!(changes.topics().is_empty() && version() == seen);
        create_item(&conn, &mut changes, other, patch("Soup", 500), 2).unwrap();
        assert_eq!(changes.topics(), [Topic::ShopMenu(other)]);
        assert_eq!(version(), seen);

        let mut changes = Changes::default();
        delete_item(&conn, &mut changes, id, item, 3).unwrap();
        assert!(changed(changes) && version() > seen);

        let answer = menu_answer(&conn, id, 0).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(json["version"], version());
        assert_eq!(answer.version, version());
        assert_eq!(json["shop"]["open"], false);
        assert_eq!(json["items"], serde_json::json!([]));
        set_status(&conn, &mut Changes::default(), id, ShopStatus::Suspended).unwrap();
        assert!(menu_answer(&conn, id, 0).is_err());
    }
}
