//! The demo venue: an owner and three approved shops with menus, created on
//! an empty database by `serve --demo` so a new user can order at once.

use crate::accounts::{self, Role};
use crate::error::Result;
use crate::live::Changes;
use crate::ordering::menu_edit::{self, ItemPatch};
use crate::store::shops::ShopStatus;
use crate::store::users;
use rusqlite::Connection;

pub const PASSWORD: &str = "demo-password";
pub const OWNER_EMAIL: &str = "owner@demo.local";

type Menu = &'static [(&'static str, &'static str, &'static str, i64)];

const SHOPS: &[(&str, &str, Menu)] = &[
    (
        "Noodle Bar",
        "Hand-pulled noodles and broths",
        &[
            (
                "Noodles",
                "Beef noodle soup",
                "Slow-cooked broth, hand-pulled noodles",
                950,
            ),
            ("Noodles", "Veggie ramen", "Miso broth, tofu, greens", 890),
            (
                "Noodles",
                "Dan dan noodles",
                "Spicy sesame sauce, pork",
                920,
            ),
            (
                "Small plates",
                "Pork dumplings (6)",
                "Steamed, with black vinegar",
                650,
            ),
            (
                "Small plates",
                "Spring rolls (4)",
                "Crispy, vegetarian",
                550,
            ),
            ("Small plates", "Edamame", "Sea salt", 400),
            ("Drinks", "Jasmine tea", "Hot pot for one", 250),
            ("Drinks", "Lychee soda", "Cold", 350),
        ],
    ),
    (
        "Taco Stand",
        "Street tacos made to order",
        &[
            (
                "Tacos",
                "Al pastor taco",
                "Pork, pineapple, onion, coriander",
                350,
            ),
            (
                "Tacos",
                "Carnitas taco",
                "Slow-cooked pork, salsa verde",
                350,
            ),
            ("Tacos", "Mushroom taco", "Roasted mushrooms, chipotle", 320),
            ("Tacos", "Fish taco", "Battered fish, cabbage, lime", 380),
            ("Sides", "Nachos", "Cheese, jalapeños, pico de gallo", 600),
            ("Sides", "Elote", "Grilled corn, cheese, chilli", 400),
            ("Drinks", "Horchata", "Rice and cinnamon", 300),
        ],
    ),
    (
        "Coffee Corner",
        "Espresso, cakes and sandwiches",
        &[
            ("Coffee", "Espresso", "Double shot", 220),
            ("Coffee", "Flat white", "Double shot, steamed milk", 340),
            ("Coffee", "Cappuccino", "", 320),
            ("Coffee", "Iced latte", "", 380),
            ("Food", "Croissant", "Butter croissant", 250),
            ("Food", "Banana bread", "Slice", 300),
            ("Food", "Cheese toastie", "Cheddar and onion", 550),
            ("Drinks", "Orange juice", "Fresh", 350),
            ("Drinks", "Sparkling water", "", 200),
        ],
    ),
];

/// Creates the demo venue unless the database already has an owner.
/// Returns whether it did.
pub fn seed(conn: &Connection) -> Result<bool> {
    if users::count_by_role(conn, Role::Owner)? > 0 {
        return Ok(false);
    }
    let now = crate::support::time::now_ms();
    accounts::create_owner(conn, OWNER_EMAIL, "Venue Owner", PASSWORD)?;
    for (n, (name, description, menu)) in SHOPS.iter().enumerate() {
        let email = format!("shop{}@demo.local", n + 1);
        let hash = accounts::hash_password(PASSWORD)?;
        let user = accounts::create_user(
            conn,
            &email,
            &format!("{name} keeper"),
            Role::Shopkeeper,
            &hash,
            now,
        )?;
        let shop = accounts::create_shop(conn, user, name, description, ShopStatus::Approved, now)?;
        for (position, (category, item, text, price)) in menu.iter().enumerate() {
            let patch = ItemPatch {
                name: Some(item.to_string()),
                description: Some(text.to_string()),
                category: Some(category.to_string()),
                price_cents: Some(*price),
                available: Some(true),
                position: Some(position as i64),
                ..ItemPatch::default()
            };
            // Seeded before the server listens: nobody waits on it yet.
            menu_edit::create_item(conn, &mut Changes::default(), shop, patch, now)?;
        }
    }
    Ok(true)
}

/// What `serve --demo` prints so people know how to log in.
pub fn accounts_text() -> String {
    let mut text = format!("Demo accounts (password: {PASSWORD})\n  owner:      {OWNER_EMAIL}\n");
    for (n, (name, _, _)) in SHOPS.iter().enumerate() {
        text += &format!("  shopkeeper: shop{}@demo.local ({name})\n", n + 1);
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_once() {
        let conn = crate::db::test_connection();
        assert!(super::seed(&conn).unwrap());
        assert!(!super::seed(&conn).unwrap());
        assert_eq!(crate::ordering::catalog::listed(&conn).unwrap().len(), 3);
    }
}
