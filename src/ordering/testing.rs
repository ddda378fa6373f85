//! Shared by the ordering modules' unit tests.

use crate::accounts::{create_user, Role};
use crate::ordering::menu_edit::ItemPatch;
use crate::store::shops::{self, ShopStatus};
use rusqlite::Connection;

/// A pending shop with its own keeper.
pub fn shop(conn: &Connection, email: &str) -> i64 {
    let user = create_user(conn, email, "Keeper", Role::Shopkeeper, "x", 0).unwrap();
    shops::insert(conn, user, "Stall", "", ShopStatus::Pending, 0).unwrap()
}

/// A new item's name and price.
pub fn patch(name: &str, price: i64) -> ItemPatch {
    ItemPatch {
        name: Some(name.into()),
        price_cents: Some(price),
        ..Default::default()
    }
}
