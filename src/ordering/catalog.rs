//! Shops and their menus: what customers may see, what shopkeepers may edit,
//! and the owner's approval.

use crate::error::{Code, Error, Result};
use crate::live::{Answer, Audience, Built, Changes, Data, Topic};
use crate::store::items::{self, ItemFields, ItemRow};
use crate::store::shops::{self, ShopRow};
use crate::support::money::{self, MoneyFormat};
use crate::support::text::{optional_line, optional_text, required};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub use crate::store::shops::ShopStatus;

pub const MAX_ITEMS_PER_SHOP: i64 = 2_000;

/// A shop as customers see it.
#[derive(Debug, Serialize)]
pub struct PublicShop {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub open: bool,
}

impl From<ShopRow> for PublicShop {
    fn from(s: ShopRow) -> Self {
        PublicShop {
            id: s.id,
            name: s.name,
            description: s.description,
            open: s.open,
        }
    }
}

/// A shop as the venue owner and its keeper see it.
#[derive(Debug, Serialize)]
pub struct ShopView {
    pub id: i64,
    pub owner_user_id: i64,
    pub owner_email: String,
    pub name: String,
    pub description: String,
    pub status: ShopStatus,
    pub open: bool,
    pub created_at: i64,
}

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
        }
    }
}

/// A menu item as customers and its shop see it.
#[derive(Debug, Serialize)]
pub struct MenuItemView {
    pub id: i64,
    pub shop_id: i64,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub available: bool,
    pub position: i64,
}

impl From<ItemRow> for MenuItemView {
    fn from(i: ItemRow) -> Self {
        MenuItemView {
            id: i.id,
            shop_id: i.shop_id,
            name: i.name,
            description: i.description,
            category: i.category,
            price_cents: i.price_cents,
            available: i.available,
            position: i.position,
        }
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

/// An approved shop with its menu.
pub fn public_menu(conn: &Connection, shop_id: i64) -> Result<(PublicShop, Vec<MenuItemView>)> {
    let shop = approved_shop(conn, shop_id)?;
    Ok((shop.into(), menu(conn, shop_id)?))
}

/// A shop's menu in display order.
pub fn menu(conn: &Connection, shop_id: i64) -> Result<Vec<MenuItemView>> {
    Ok(items::for_shop(conn, shop_id)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The version of an approved shop's menu; others are "not found".
fn public_menu_version(conn: &Connection, shop_id: i64) -> Result<i64> {
    shops::by_id(conn, shop_id)?
        .filter(|s| s.status == ShopStatus::Approved)
        .ok_or_else(|| Error::not_found(Code::ShopNotFound))?;
    Ok(shops::menu_version(conn, shop_id)?.unwrap_or(0))
}

/// What a menu long-poll answers.
#[derive(Serialize)]
struct VersionedMenu {
    version: i64,
    shop: PublicShop,
    items: Vec<MenuItemView>,
}

fn menu_answer(conn: &Connection, shop_id: i64) -> Result<Built> {
    // The version first: a change landing between the reads is then
    // answered again rather than missed.
    let version = public_menu_version(conn, shop_id)?;
    let (shop, items) = public_menu(conn, shop_id)?;
    Built::json(
        version,
        &VersionedMenu {
            version,
            shop,
            items,
        },
    )
}

/// An approved shop's menu (`{version, shop, items}`) once its version is
/// above `since`, waiting up to `wait`.
pub async fn wait_for_menu(
    data: &Data,
    shop_id: i64,
    since: i64,
    wait: Duration,
) -> Result<Answer> {
    let version = data.read(move |c| public_menu_version(c, shop_id));
    let build = || data.read(move |c| menu_answer(c, shop_id));
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
fn menu_changed(conn: &Connection, changes: &mut Changes, shop_id: i64) -> Result<()> {
    shops::bump_menu_version(conn, shop_id)?;
    changes.add(Topic::ShopMenu(shop_id));
    Ok(())
}

/// Item fields as sent by the menu editor; missing ones keep their value.
#[derive(Debug, Default, Deserialize)]
pub struct ItemPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price_cents: Option<i64>,
    /// The price as a person types it ("4.50"), when `price_cents` is not given.
    pub price: Option<String>,
    pub available: Option<bool>,
    pub position: Option<i64>,
}

impl ItemPatch {
    /// Reads a typed `price` in the venue's format into `price_cents`
    /// (which wins when both are sent).
    fn with_typed_price(mut self, money: &MoneyFormat) -> Result<ItemPatch> {
        if let (None, Some(price)) = (self.price_cents, self.price.take()) {
            self.price_cents = Some(money.parse_price(&price)?);
        }
        Ok(self)
    }

    fn apply(self, mut fields: ItemFields) -> Result<ItemFields> {
        if let Some(name) = self.name {
            fields.name = required("name", &name, 80)?;
        }
        if let Some(description) = self.description {
            fields.description = optional_text("description", &description, 500)?;
        }
        if let Some(category) = self.category {
            fields.category = optional_line("category", &category, 40)?;
        }
        if let Some(price) = self.price_cents {
            money::check_price(price)?;
            fields.price_cents = price;
        }
        if let Some(available) = self.available {
            fields.available = available;
        }
        if let Some(position) = self.position {
            fields.position = position.clamp(0, 100_000);
        }
        Ok(fields)
    }
}

pub fn create_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    patch: ItemPatch,
    now: i64,
) -> Result<MenuItemView> {
    if patch.name.is_none() || patch.price_cents.is_none() {
        return Err(Error::bad(Code::ItemNeedsNameAndPrice));
    }
    if items::count_for_shop(conn, shop_id)? >= MAX_ITEMS_PER_SHOP {
        return Err(Error::conflict(Code::ShopTooManyItems).with("max", MAX_ITEMS_PER_SHOP));
    }
    let fields = patch.apply(ItemFields {
        name: String::new(),
        description: String::new(),
        category: String::new(),
        price_cents: 0,
        available: true,
        position: 0,
    })?;
    let id = items::insert(conn, shop_id, &fields, now)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(own_item(conn, shop_id, id)?.into())
}

/// The item if it belongs to `shop_id` (others are "not found").
pub fn own_item(conn: &Connection, shop_id: i64, item_id: i64) -> Result<ItemRow> {
    items::by_id(conn, item_id)?
        .filter(|i| i.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::ItemNotFound))
}

pub fn update_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    item_id: i64,
    patch: ItemPatch,
    now: i64,
) -> Result<MenuItemView> {
    let item = own_item(conn, shop_id, item_id)?;
    let fields = patch.apply(ItemFields {
        name: item.name,
        description: item.description,
        category: item.category,
        price_cents: item.price_cents,
        available: item.available,
        position: item.position,
    })?;
    items::update(conn, item_id, &fields, now)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(own_item(conn, shop_id, item_id)?.into())
}

pub fn delete_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    item_id: i64,
    now: i64,
) -> Result<()> {
    own_item(conn, shop_id, item_id)?;
    items::mark_deleted(conn, item_id, now)?;
    menu_changed(conn, changes, shop_id)
}

#[derive(Debug, Deserialize)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub open: Option<bool>,
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

pub async fn add_item(
    data: &Data,
    money: &MoneyFormat,
    shop_id: i64,
    patch: ItemPatch,
) -> Result<MenuItemView> {
    let patch = patch.with_typed_price(money)?;
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| create_item(tx, changes, shop_id, patch, now))
        .await
}

/// Also the sold-out switch (`available`).
pub async fn edit_item(
    data: &Data,
    money: &MoneyFormat,
    shop_id: i64,
    item_id: i64,
    patch: ItemPatch,
) -> Result<MenuItemView> {
    let patch = patch.with_typed_price(money)?;
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| update_item(tx, changes, shop_id, item_id, patch, now))
        .await
}

pub async fn remove_item(data: &Data, shop_id: i64, item_id: i64) -> Result<()> {
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| delete_item(tx, changes, shop_id, item_id, now))
        .await
}

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

    fn shop(conn: &Connection, email: &str) -> i64 {
        let user = crate::accounts::create_user(
            conn,
            email,
            "Keeper",
            crate::accounts::Role::Shopkeeper,
            "x",
            0,
        )
        .unwrap();
        shops::insert(conn, user, "Stall", "", ShopStatus::Pending, 0).unwrap()
    }

    fn patch(name: &str, price: i64) -> ItemPatch {
        ItemPatch {
            name: Some(name.into()),
            price_cents: Some(price),
            ..Default::default()
        }
    }

    #[test]
    fn pending_shops_are_hidden_until_approved() {
        let conn = crate::db::test_connection();
        let id = shop(&conn, "a@x.y");
        assert!(listed(&conn).unwrap().is_empty());
        assert!(public_menu(&conn, id).is_err());
        let changes = &mut Changes::default();
        set_status(&conn, changes, id, ShopStatus::Approved).unwrap();
        assert_eq!(listed(&conn).unwrap().len(), 1);
        set_status(&conn, changes, id, ShopStatus::Suspended).unwrap();
        assert!(public_menu(&conn, id).is_err());
    }

    #[test]
    fn items_are_validated_and_scoped_to_their_shop() {
        let conn = crate::db::test_connection();
        let mine = shop(&conn, "a@x.y");
        let theirs = shop(&conn, "b@x.y");
        let changes = &mut Changes::default();
        let item = create_item(&conn, changes, mine, patch("Tea", 250), 0).unwrap();
        assert!(create_item(&conn, changes, mine, patch("Gold", -1), 0).is_err());
        assert!(create_item(&conn, changes, mine, patch("  ", 100), 0).is_err());
        let typed = ItemPatch {
            name: Some("Cake".into()),
            price: Some("3.50".into()),
            ..Default::default()
        }
        .with_typed_price(&MoneyFormat::default())
        .unwrap();
        assert_eq!(
            create_item(&conn, changes, mine, typed, 0)
                .unwrap()
                .price_cents,
            350
        );
        let nameless_price = ItemPatch {
            name: Some("Pie".into()),
            ..Default::default()
        };
        assert!(create_item(&conn, changes, mine, nameless_price, 0).is_err());
        let sold_out = ItemPatch {
            available: Some(false),
            ..Default::default()
        };
        let updated = update_item(&conn, changes, mine, item.id, sold_out, 1).unwrap();
        assert!(!updated.available);
        assert_eq!(updated.price_cents, 250);
        assert!(update_item(&conn, changes, theirs, item.id, ItemPatch::default(), 1).is_err());
        assert!(delete_item(&conn, changes, theirs, item.id, 1).is_err());
        delete_item(&conn, changes, mine, item.id, 1).unwrap();
        assert!(own_item(&conn, mine, item.id).is_err());
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
        update_item(&conn, &mut changes, id, item.id, sold_out, 1).unwrap();
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
        assert!(delete_item(&conn, &mut changes, other, item.id, 2).is_err());
        assert!(changes.topics().is_empty() && version() == seen);
        create_item(&conn, &mut changes, other, patch("Soup", 500), 2).unwrap();
        assert_eq!(changes.topics(), [Topic::ShopMenu(other)]);
        assert_eq!(version(), seen);

        let mut changes = Changes::default();
        delete_item(&conn, &mut changes, id, item.id, 3).unwrap();
        assert!(changed(changes) && version() > seen);

        let answer = menu_answer(&conn, id).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(json["version"], version());
        assert_eq!(answer.version, version());
        assert_eq!(json["shop"]["open"], false);
        assert_eq!(json["items"], serde_json::json!([]));
        set_status(&conn, &mut Changes::default(), id, ShopStatus::Suspended).unwrap();
        assert!(menu_answer(&conn, id).is_err());
    }
}
