//! The demo venue: an owner and four approved shops with menus, created on
//! an empty database by `serve --demo` so a new user can order at once.
//! Three food shops show off categories, option groups, dietary tags and
//! allergens, a time window, a low stock count and a shared ingredient; the
//! fourth is a grocery stall with 200 counted products.

use crate::accounts::{self, Role};
use crate::error::Result;
use crate::live::Changes;
use crate::ordering::menu::TAGS;
use crate::ordering::menu_edit::{
    self, GroupPatch, IngredientPatch, IngredientUse, ItemPatch, OptionPatch, WindowPatch,
};
use crate::store::shops::ShopStatus;
use crate::store::users;
use rusqlite::Connection;

pub const PASSWORD: &str = "demo-password";
pub const OWNER_EMAIL: &str = "owner@demo.local";

struct DemoShop {
    name: &'static str,
    description: &'static str,
    /// The price changes of a small and a large size (medium is the price).
    size: (i64, i64),
    /// The add-on group's name and its options as `name cents,…`.
    extras: (&'static str, &'static str),
    /// A shop-level ingredient (40 in stock) that items marked `uses` share.
    ingredient: &'static str,
    /// One item a line: `category|name|description|cents|words|marks`.
    /// Words are dietary tags and allergens; marks are `opt` (the size and
    /// add-on groups), `uses` (the shared ingredient), `low` (3 left, the
    /// shop warned at 5) and `HH:MM-HH:MM` (a time window).
    menu: &'static str,
}

// The items tests order by position (the first few of each shop) take no
// required options, are always available and are not counted.
const SHOPS: &[DemoShop] = &[
    DemoShop {
        name: "Noodle Bar",
        description: "Hand-pulled noodles and broths",
        size: (-150, 200),
        extras: ("Toppings", "Soft egg 120,Extra noodles 150,Sweetcorn 80,Nori 50"),
        ingredient: "",
        menu: "Noodles|Beef noodle soup|Slow-cooked broth, hand-pulled noodles|950|halal gluten soy celery|\n\
               Noodles|Veggie ramen|Miso broth, tofu, greens|890|vegetarian vegan gluten soy sesame|\n\
               Noodles|Dan dan noodles|Spicy sesame sauce, pork|920|spicy gluten soy sesame peanuts|\n\
               Small plates|Pork dumplings (6)|Steamed, with black vinegar|650|gluten soy sesame|\n\
               Small plates|Spring rolls (4)|Crispy, vegetarian|550|vegetarian vegan gluten soy|\n\
               Small plates|Edamame|Sea salt|400|vegan gluten-free soy|low\n\
               Drinks|Jasmine tea|Hot pot for one|250|vegan gluten-free|\n\
               Drinks|Lychee soda|Cold|350|vegan gluten-free|\n\
               Bowls|Tonkotsu ramen|Pork bone broth, chashu, soft egg|1150|gluten soy eggs sesame|opt\n\
               Bowls|Chicken katsu curry|Crispy chicken, Japanese curry, rice|1090|gluten eggs milk celery|opt\n\
               Bowls|Tofu rice bowl|Glazed tofu, pickles, rice|950|vegan soy sesame|opt\n\
               Bowls|Midnight ramen|Spicy miso broth, for night owls|990|spicy gluten soy|opt 22:00-02:00",
    },
    DemoShop {
        name: "Taco Stand",
        description: "Street tacos made to order",
        size: (-100, 150),
        extras: ("Extras", "Guacamole 150,Cheese 100,Jalapeños 50,Sour cream 80"),
        ingredient: "Flour tortillas",
        menu: "Tacos|Al pastor taco|Pork, pineapple, onion, coriander|350|gluten-free|\n\
               Tacos|Carnitas taco|Slow-cooked pork, salsa verde|350|gluten-free|\n\
               Tacos|Mushroom taco|Roasted mushrooms, chipotle|320|vegan gluten-free spicy|\n\
               Tacos|Fish taco|Battered fish, cabbage, lime|380|fish gluten eggs|\n\
               Sides|Nachos|Cheese, jalapeños, pico de gallo|600|vegetarian spicy milk|\n\
               Sides|Elote|Grilled corn, cheese, chilli|400|vegetarian gluten-free milk|low\n\
               Drinks|Horchata|Rice, almonds and cinnamon|300|vegan nuts|\n\
               Burritos|Chicken burrito|Rice, black beans, salsa roja|850|gluten|opt uses\n\
               Burritos|Bean burrito|Black beans, rice, pico de gallo|750|vegan gluten|opt uses\n\
               Burritos|Quesadilla|Melted cheese, peppers|700|vegetarian gluten milk|opt uses\n\
               Burritos|Breakfast burrito|Egg, potato, cheese|650|vegetarian gluten eggs milk|uses 07:00-11:00",
    },
    DemoShop {
        name: "Coffee Corner",
        description: "Espresso, cakes and sandwiches",
        size: (-40, 60),
        extras: ("Milk & extras", "Oat milk 40,Extra shot 60,Vanilla syrup 50,Whipped cream 50"),
        ingredient: "",
        menu: "Coffee|Espresso|Double shot|220|vegan gluten-free|\n\
               Coffee|Flat white|Double shot, steamed milk|340|vegetarian milk|\n\
               Coffee|Cappuccino||320|vegetarian milk|opt\n\
               Coffee|Iced latte||380|vegetarian milk|opt\n\
               Coffee|Mocha|Espresso, chocolate, steamed milk|390|vegetarian milk soy|opt\n\
               Food|Croissant|Butter croissant|250|vegetarian gluten milk eggs|\n\
               Food|Banana bread|Slice, with walnuts|300|vegetarian gluten eggs milk nuts|low\n\
               Food|Cheese toastie|Cheddar and onion|550|vegetarian gluten milk|\n\
               Food|Porridge|Oats, banana and honey|450|vegetarian gluten milk|07:00-11:00\n\
               Drinks|Orange juice|Fresh|350|vegan gluten-free|\n\
               Drinks|Sparkling water||200|vegan gluten-free|",
    },
];

const GROCERY: (&str, &str) = ("Corner Grocery", "Fresh produce and pantry staples");
/// The grocery's 200 products are every style of every kind: a few words
/// instead of a table of 200 rows. Kinds: `category|name|cents|words`.
const GROCERY_KINDS: &str = "Fruit & veg|apples|180|vegan gluten-free\n\
    Fruit & veg|bananas|150|vegan gluten-free\n\
    Fruit & veg|tomatoes|220|vegan gluten-free\n\
    Fruit & veg|potatoes|250|vegan gluten-free\n\
    Bakery|bread|240|vegan gluten\n\
    Bakery|crackers|200|vegan gluten sesame\n\
    Bakery|biscuits|190|vegetarian gluten milk eggs\n\
    Dairy|milk|110|vegetarian milk\n\
    Dairy|yoghurt|130|vegetarian milk\n\
    Dairy|cheese|350|vegetarian milk\n\
    Dairy|eggs|290|vegetarian eggs\n\
    Pantry|pasta|160|vegan gluten\n\
    Pantry|rice|210|vegan gluten-free\n\
    Pantry|peanut butter|300|vegan peanuts\n\
    Pantry|honey|420|vegetarian gluten-free\n\
    Pantry|olive oil|650|vegan gluten-free\n\
    Snacks|crisps|140|vegan gluten-free\n\
    Snacks|chocolate|190|vegetarian milk soy nuts\n\
    Drinks|orange juice|230|vegan gluten-free\n\
    Drinks|coffee beans|550|vegan gluten-free";
/// Styles and their price in percent of the kind's.
const GROCERY_STYLES: &str =
    "Classic 100,Organic 130,Value 80,Premium 150,Local 110,Fair trade 125,Family-size 190,Mini 60,Fresh 105,Light 95";

/// Creates the demo venue unless the database already has an owner.
/// Returns whether it did.
pub fn seed(conn: &Connection) -> Result<bool> {
    if users::count_by_role(conn, Role::Owner)? > 0 {
        return Ok(false);
    }
    let now = crate::support::time::now_ms();
    accounts::create_owner(conn, OWNER_EMAIL, "Venue Owner", PASSWORD)?;
    // Seeded before the server listens: nobody waits on these changes yet.
    let changes = &mut Changes::default();
    // One hash for every keeper: the password is public anyway, and each
    // hash costs a slow router a noticeable part of a second.
    let hash = accounts::hash_password(PASSWORD)?;
    for (n, demo) in SHOPS.iter().enumerate() {
        let shop = create_shop(conn, &hash, n, demo.name, demo.description, now)?;
        seed_menu(conn, changes, shop, demo, now)?;
    }
    let shop = create_shop(conn, &hash, SHOPS.len(), GROCERY.0, GROCERY.1, now)?;
    seed_grocery(conn, changes, shop, now)?;
    Ok(true)
}

fn create_shop(
    conn: &Connection,
    hash: &str,
    n: usize,
    name: &str,
    description: &str,
    now: i64,
) -> Result<i64> {
    let email = format!("shop{}@demo.local", n + 1);
    let keeper = format!("{name} keeper");
    let user = accounts::create_user(conn, &email, &keeper, Role::Shopkeeper, hash, now)?;
    accounts::create_shop(conn, user, name, description, ShopStatus::Approved, now)
}

/// `name cents,name cents` as pairs.
fn priced(list: &str) -> impl Iterator<Item = (&str, i64)> {
    list.split(',')
        .filter_map(|o| o.rsplit_once(' '))
        .map(|(name, cents)| (name, cents.parse().unwrap_or(0)))
}

fn group(
    conn: &Connection,
    changes: &mut Changes,
    shop: i64,
    name: &str,
    (min, max): (i64, i64),
    options: impl Iterator<Item = (&'static str, i64)>,
) -> Result<i64> {
    let options = options
        .map(|(name, delta)| OptionPatch {
            id: None,
            name: Some(name.into()),
            price_delta_cents: Some(delta),
            available: None,
            position: None,
        })
        .collect();
    let patch = GroupPatch {
        name: Some(name.into()),
        min: Some(min),
        max: Some(max),
        options: Some(options),
        replace_options: false,
    };
    Ok(menu_edit::create_group(conn, changes, shop, patch)?.id)
}

/// An item with its category, price, and its words sorted into dietary
/// tags and allergens.
fn item(category: &str, name: String, description: &str, cents: i64, words: &str) -> ItemPatch {
    let (tags, allergens) = words
        .split_whitespace()
        .map(String::from)
        .partition(|w| TAGS.contains(&w.as_str()));
    ItemPatch {
        name: Some(name),
        description: Some(description.into()),
        category: Some(category.into()),
        price_cents: Some(cents),
        tags: Some(tags),
        allergens: Some(allergens),
        ..ItemPatch::default()
    }
}

fn seed_menu(
    conn: &Connection,
    changes: &mut Changes,
    shop: i64,
    demo: &DemoShop,
    now: i64,
) -> Result<()> {
    let (small, large) = demo.size;
    let sizes = [("Small", small), ("Medium", 0), ("Large", large)];
    let size = group(conn, changes, shop, "Size", (1, 1), sizes.into_iter())?;
    let (extras_name, extras) = demo.extras;
    let extras = group(conn, changes, shop, extras_name, (0, 3), priced(extras))?;
    let ingredient = match demo.ingredient {
        "" => None,
        name => {
            let patch = IngredientPatch {
                name: Some(name.into()),
                stock: Some(40),
                low_stock: Some(10),
            };
            Some(menu_edit::create_ingredient(conn, changes, shop, patch)?.id)
        }
    };
    for (position, line) in demo.menu.lines().enumerate() {
        let mut field = line.split('|');
        let mut next = || field.next().unwrap_or_default();
        let (category, name, description) = (next(), next(), next());
        let cents = next().parse().unwrap_or(0);
        let mut patch = item(category, name.into(), description, cents, next());
        patch.position = Some(position as i64);
        for mark in next().split_whitespace() {
            match mark {
                "opt" => patch.option_groups = Some(vec![size, extras]),
                "uses" => {
                    patch.ingredients = ingredient.map(|ingredient_id| {
                        vec![IngredientUse {
                            ingredient_id,
                            qty: 1,
                        }]
                    })
                }
                "low" => (patch.stock, patch.low_stock) = (Some(Some(3)), Some(5)),
                window => {
                    let (from, until) = window.split_once('-').unwrap_or_default();
                    patch.window = Some(Some(WindowPatch {
                        from: from.into(),
                        until: until.into(),
                    }));
                }
            }
        }
        menu_edit::create_item(conn, changes, shop, patch, now)?;
    }
    Ok(())
}

/// Every style of every kind, each with its own stock count: a few run
/// low, and one in sixty-one is sold out.
fn seed_grocery(conn: &Connection, changes: &mut Changes, shop: i64, now: i64) -> Result<()> {
    let mut n = 0;
    for kind in GROCERY_KINDS.lines() {
        let mut field = kind.split('|');
        let mut next = || field.next().unwrap_or_default();
        let (category, name) = (next(), next());
        let cents: i64 = next().parse().unwrap_or(0);
        let words = next();
        for (style, percent) in priced(GROCERY_STYLES) {
            // Whole tens of cents, like shelf prices.
            let price = cents * percent / 1000 * 10;
            let mut patch = item(category, format!("{style} {name}"), "", price, words);
            patch.position = Some(n);
            patch.stock = Some(Some(n * 37 % 61));
            patch.low_stock = Some(5);
            menu_edit::create_item(conn, changes, shop, patch, now)?;
            n += 1;
        }
    }
    Ok(())
}

/// What `serve --demo` prints so people know how to log in.
pub fn accounts_text() -> String {
    let mut text = format!("Demo accounts (password: {PASSWORD})\n  owner:      {OWNER_EMAIL}\n");
    let names = SHOPS.iter().map(|s| s.name).chain([GROCERY.0]);
    for (n, name) in names.enumerate() {
        text += &format!("  shopkeeper: shop{}@demo.local ({name})\n", n + 1);
    }
    text
}

#[cfg(test)]
mod tests {
    use crate::ordering::catalog::{listed, menu};
    use crate::store::ingredients;

    #[test]
    fn seeds_once() {
        let conn = crate::db::test_connection();
        assert!(super::seed(&conn).unwrap());
        assert!(!super::seed(&conn).unwrap());
        assert_eq!(listed(&conn).unwrap().len(), 4);
        assert!(super::accounts_text().contains("shop4@demo.local (Corner Grocery)"));
    }

    #[test]
    fn every_food_shop_shows_off_its_menu_and_the_grocery_counts_200_products() {
        let conn = crate::db::test_connection();
        super::seed(&conn).unwrap();
        let mut shops = listed(&conn).unwrap();
        shops.sort_by_key(|s| s.id);
        for shop in &shops[..3] {
            let menu = menu(&conn, shop.id, 12 * 60).unwrap();
            let name = &shop.name;
            assert!(menu.categories.len() >= 3, "{name}");
            let with_options = menu.items.iter().filter(|i| {
                let groups = &i.option_groups;
                groups.len() == 2
                    && (groups[0].min, groups[0].max, groups[1].min, groups[1].max) == (1, 1, 0, 3)
                    && groups[0]
                        .options
                        .iter()
                        .map(|o| o.price_delta_cents.signum())
                        .eq([-1, 0, 1])
            });
            assert!(with_options.count() >= 3, "{name}");
            assert!(
                menu.items.iter().any(|i| i.tags.contains(&"vegan")),
                "{name}"
            );
            assert!(menu
                .items
                .iter()
                .all(|i| !i.allergens.is_empty() || !i.tags.is_empty()));
            assert_eq!(
                menu.items.iter().filter(|i| i.window.is_some()).count(),
                1,
                "{name}"
            );
            let low = menu.items.iter().filter(|i| i.running_low && !i.sold_out);
            assert_eq!(low.count(), 1, "{name}");
            // What the other tests order by position: plain, always there.
            for first in &menu.items[..2] {
                assert!(
                    first.option_groups.is_empty() && first.window.is_none(),
                    "{name}"
                );
                assert!(first.stock.is_none() && first.available, "{name}");
            }
        }
        let noodles = menu(&conn, shops[0].id, 0).unwrap();
        let ramen = noodles
            .items
            .iter()
            .find(|i| i.name == "Veggie ramen")
            .unwrap();
        assert!(ramen.tags.contains(&"vegan"));
        let dumplings = &noodles.items[3];
        assert_eq!(dumplings.allergens, ["gluten", "soy", "sesame"]);

        let tacos = shops[1].id;
        let recipes = ingredients::recipes_for_shop(&conn, tacos).unwrap();
        assert!(recipes.len() >= 2 && recipes.iter().all(|r| r.1 == recipes[0].1));

        let grocery = menu(&conn, shops[3].id, 0).unwrap();
        assert_eq!(grocery.items.len(), 200);
        assert!(grocery
            .items
            .iter()
            .all(|i| i.stock.is_some() && i.price_cents > 0));
        assert!(grocery.items.iter().any(|i| i.running_low));
        assert!(grocery.categories.len() >= 5);
        let names: std::collections::BTreeSet<_> = grocery.items.iter().map(|i| &i.name).collect();
        assert_eq!(names.len(), 200);
    }
}
