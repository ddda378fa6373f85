//! Shops and their menus: what customers may see, what shopkeepers may edit,
//! and the owner's approval.

use crate::error::{Code, Error, Result};
use crate::money;
use crate::store::items::{self, ItemFields, ItemRow};
use crate::store::shops::{self, ShopRow};
use crate::text::{optional_line, optional_text, required};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

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

pub fn listed(conn: &Connection) -> Result<Vec<PublicShop>> {
    Ok(shops::approved(conn)?.into_iter().map(Into::into).collect())
}

/// An approved shop with its menu; others are "not found" to customers.
pub fn public_menu(conn: &Connection, shop_id: i64) -> Result<(PublicShop, Vec<ItemRow>)> {
    let shop = shops::by_id(conn, shop_id)?
        .filter(|s| s.status == "approved")
        .ok_or_else(|| Error::not_found(Code::ShopNotFound))?;
    Ok((shop.into(), items::for_shop(conn, shop_id)?))
}

/// Item fields as sent by the menu editor; missing ones keep their value.
#[derive(Debug, Default, Deserialize)]
pub struct ItemPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price_cents: Option<i64>,
    pub available: Option<bool>,
    pub position: Option<i64>,
}

impl ItemPatch {
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

pub fn create_item(conn: &Connection, shop_id: i64, patch: ItemPatch, now: i64) -> Result<ItemRow> {
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
    items::by_id(conn, id)?.ok_or_else(|| Error::not_found(Code::ItemNotFound))
}

/// The item if it belongs to `shop_id` (others are "not found").
pub fn own_item(conn: &Connection, shop_id: i64, item_id: i64) -> Result<ItemRow> {
    items::by_id(conn, item_id)?
        .filter(|i| i.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::ItemNotFound))
}

pub fn update_item(
    conn: &Connection,
    shop_id: i64,
    item_id: i64,
    patch: ItemPatch,
    now: i64,
) -> Result<ItemRow> {
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
    own_item(conn, shop_id, item_id)
}

pub fn delete_item(conn: &Connection, shop_id: i64, item_id: i64, now: i64) -> Result<()> {
    own_item(conn, shop_id, item_id)?;
    items::mark_deleted(conn, item_id, now)?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub open: Option<bool>,
}

pub fn update_profile(conn: &Connection, shop: &ShopRow, patch: ProfilePatch) -> Result<ShopRow> {
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
    shops::by_id(conn, shop.id)?.ok_or_else(|| Error::not_found(Code::ShopNotFound))
}

/// The owner approves or suspends a shop.
pub fn set_status(conn: &Connection, shop_id: i64, status: &str) -> Result<ShopRow> {
    if !shops::set_status(conn, shop_id, status)? {
        return Err(Error::not_found(Code::ShopNotFound));
    }
    log::info!("shop {shop_id} is now {status}");
    shops::by_id(conn, shop_id)?.ok_or_else(|| Error::not_found(Code::ShopNotFound))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(conn: &Connection, email: &str) -> i64 {
        let user =
            crate::auth::create_user(conn, email, "Keeper", crate::auth::Role::Shopkeeper, "x", 0)
                .unwrap();
        shops::insert(conn, user, "Stall", "", "pending", 0).unwrap()
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
        set_status(&conn, id, "approved").unwrap();
        assert_eq!(listed(&conn).unwrap().len(), 1);
        set_status(&conn, id, "suspended").unwrap();
        assert!(public_menu(&conn, id).is_err());
    }

    #[test]
    fn items_are_validated_and_scoped_to_their_shop() {
        let conn = crate::db::test_connection();
        let mine = shop(&conn, "a@x.y");
        let theirs = shop(&conn, "b@x.y");
        let item = create_item(&conn, mine, patch("Tea", 250), 0).unwrap();
        assert!(create_item(&conn, mine, patch("Gold", -1), 0).is_err());
        assert!(create_item(&conn, mine, patch("  ", 100), 0).is_err());
        let sold_out = ItemPatch {
            available: Some(false),
            ..Default::default()
        };
        let updated = update_item(&conn, mine, item.id, sold_out, 1).unwrap();
        assert!(!updated.available);
        assert_eq!(updated.price_cents, 250);
        assert!(update_item(&conn, theirs, item.id, ItemPatch::default(), 1).is_err());
        assert!(delete_item(&conn, theirs, item.id, 1).is_err());
        delete_item(&conn, mine, item.id, 1).unwrap();
        assert!(own_item(&conn, mine, item.id).is_err());
    }
}
