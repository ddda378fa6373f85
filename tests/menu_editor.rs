//! The shopkeeper's menu editor through its HTML forms, as a phone's
//! browser sends them: categories, option groups, items with every field,
//! reordering, bulk sold-out, shared ingredients and waste; who may use
//! which form; and what the order board shows.

mod common;

use common::{unique_ref, Server, TempDir, OWNER, PASSWORD};
use serde_json::{json, Value};

/// What a missing catalogue entry looks like on a page.
const MISSING_TEXT: &str = "⟦";

/// A logged-in shopkeeper posting the editor's forms with the CSRF token
/// their pages carry.
struct Keeper<'a> {
    server: &'a Server,
    token: String,
    csrf: String,
}

/// Registers a shop of its own for a test (so the demo's menus never get
/// in the way) and has the owner approve it; its keeper's email and its id.
fn open_shop(server: &Server, name: &str) -> (String, i64) {
    let email = format!("{}@editor.example", name.to_lowercase().replace(' ', "-"));
    let registration = json!({
        "email": email, "password": PASSWORD, "name": "Keeper", "shop_name": name,
    });
    server
        .post("/api/auth/register", None, &registration)
        .expect(201);
    let owner = server.login(OWNER, PASSWORD);
    let shops = server.get("/api/admin/shops", Some(&owner)).expect(200);
    let id = shops
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .expect("the new shop")["id"]
        .as_i64()
        .unwrap();
    server
        .post(
            &format!("/api/admin/shops/{id}/approve"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    (email, id)
}

impl<'a> Keeper<'a> {
    fn login(server: &'a Server, email: &str) -> Keeper<'a> {
        let token = server.login(email, PASSWORD);
        let page = server.get("/shop/menu", Some(&token));
        page.assert_status(200);
        let csrf = hidden(&page.text(), "csrf");
        Keeper {
            server,
            token,
            csrf,
        }
    }

    /// Posts a form (with its CSRF field); the raw response.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> common::Response {
        let mut body = format!("csrf={}", encode(&self.csrf));
        for (key, value) in fields {
            body += &format!("&{key}={}", encode(value));
        }
        let auth = format!("Bearer {}", self.token);
        self.server.request(
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
    }

    /// Posts a form that must succeed: the editor answers with a redirect.
    #[track_caller]
    fn submit(&self, path: &str, fields: &[(&str, &str)]) {
        self.post(path, fields).assert_status(303);
    }

    fn page(&self, path: &str) -> String {
        let page = self.server.get(path, Some(&self.token));
        page.assert_status(200);
        page.text()
    }

    fn api(&self, path: &str) -> Vec<Value> {
        let list = self.server.get(path, Some(&self.token)).expect(200);
        list.as_array().expect("a list").clone()
    }

    fn items(&self) -> Vec<Value> {
        self.api("/api/shop/items")
    }

    fn item(&self, id: i64) -> Value {
        let items = self.items();
        items.into_iter().find(|i| i["id"] == id).expect("the item")
    }

    /// The id of the only element of `path`'s list called `name`.
    fn id_of(&self, path: &str, name: &str) -> i64 {
        let list = self.api(path);
        let found: Vec<&Value> = list.iter().filter(|v| v["name"] == name).collect();
        assert_eq!(found.len(), 1, "{name} in {list:?}");
        found[0]["id"].as_i64().unwrap()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of the first hidden field called `name`.
fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no field {name}"))
        .to_string()
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|v| v["name"].as_str().unwrap()).collect()
}

/// Creates an item through the add form in `category`; its id.
fn add_item(keeper: &Keeper, name: &str, price: &str, category: &str) -> i64 {
    keeper.submit(
        "/shop/items",
        &[("name", name), ("price", price), ("category", category)],
    );
    keeper.id_of("/api/shop/items", name)
}

#[test]
fn a_keeper_builds_a_whole_menu_with_the_forms() {
    let server = Server::start_demo();
    let (email, _) = open_shop(&server, "Porridge Bar");
    let keeper = Keeper::login(&server, &email);

    // Categories: created, renamed, reordered, deleted.
    for name in ["Breakfast", "Drinks", "Spare"] {
        keeper.submit("/shop/categories", &[("name", name)]);
    }
    let breakfast = keeper.id_of("/api/shop/categories", "Breakfast");
    let drinks = keeper.id_of("/api/shop/categories", "Drinks");
    let spare = keeper.id_of("/api/shop/categories", "Spare");
    keeper.submit(&format!("/shop/categories/{spare}"), &[("name", "Sides")]);
    keeper.submit(&format!("/shop/categories/{drinks}/move"), &[("up", "1")]);
    let order = keeper.api("/api/shop/categories");
    assert_eq!(names(&order), ["Drinks", "Breakfast", "Sides"]);
    keeper.submit(&format!("/shop/categories/{spare}/delete"), &[]);
    assert_eq!(
        names(&keeper.api("/api/shop/categories")),
        ["Drinks", "Breakfast"]
    );

    // An option group with a price cut and a surcharge; the empty third row adds nothing.
    keeper.submit(
        "/shop/option-groups",
        &[
            ("name", "Cup"),
            ("min", "1"),
            ("max", "1"),
            ("option_id", ""),
            ("option_name", "Small"),
            ("option_price", "-0.50"),
            ("option_id", ""),
            ("option_name", "Large"),
            ("option_price", "0.70"),
            ("option_id", ""),
            ("option_name", ""),
            ("option_price", ""),
        ],
    );
    let group = keeper.id_of("/api/shop/option-groups", "Cup");
    let groups = keeper.api("/api/shop/option-groups");
    let cup = groups.iter().find(|g| g["id"] == group).unwrap();
    assert_eq!(
        (cup["min"].as_i64(), cup["max"].as_i64()),
        (Some(1), Some(1))
    );
    let deltas: Vec<(&str, i64)> = cup["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap(),
                o["price_delta_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(deltas, [("Small", -50), ("Large", 70)]);

    // A shared ingredient.
    keeper.submit(
        "/shop/ingredients",
        &[("name", "Oats"), ("stock", "40"), ("low_stock", "5")],
    );
    let oats = keeper.id_of("/api/shop/ingredients", "Oats");

    // An item with every field of the editor's form.
    let porridge = add_item(&keeper, "Porridge", "4.50", "Breakfast");
    let group_text = group.to_string();
    let breakfast_text = breakfast.to_string();
    keeper.submit(
        &format!("/shop/items/{porridge}"),
        &[
            ("name", "Porridge"),
            ("price", "4.80"),
            ("category_id", &breakfast_text),
            ("description", "Warm oats"),
            ("tags", ""),
            ("tags", "vegan"),
            ("tags", "gluten-free"),
            ("allergens", ""),
            ("allergens", "milk"),
            ("allergens", "nuts"),
            ("prep_minutes", "7"),
            ("window_from", "07:00"),
            ("window_until", "11:00"),
            ("option_groups", ""),
            ("option_groups", &group_text),
        ],
    );
    keeper.submit(
        &format!("/shop/items/{porridge}"),
        &[("stock", "3"), ("low_stock", "5")],
    );
    let oats_text = oats.to_string();
    keeper.submit(
        &format!("/shop/items/{porridge}/ingredients"),
        &[
            ("ingredient_id", &oats_text),
            ("qty", "2"),
            ("ingredient_id", ""),
            ("qty", "1"),
        ],
    );
    let item = keeper.item(porridge);
    assert_eq!(item["price_cents"], 480);
    assert_eq!(item["category_id"], breakfast);
    assert_eq!(item["tags"], json!(["vegan", "gluten-free"]));
    assert_eq!(item["allergens"], json!(["milk", "nuts"]));
    assert_eq!(item["prep_minutes"], 7);
    assert_eq!(item["window"], json!({ "from": "07:00", "until": "11:00" }));
    assert_eq!(
        (item["stock"].as_i64(), item["running_low"].as_bool()),
        (Some(3), Some(true))
    );
    assert_eq!(item["option_groups"][0]["id"], group);
    let editor = keeper.page(&format!("/shop/items/{porridge}"));
    assert!(
        editor.contains(&format!("<option value=\"{oats}\" selected>Oats</option>")),
        "the item's ingredient is chosen on its page"
    );
    assert!(editor.contains("value=\"2\""), "with its quantity");
    assert!(
        editor.contains(&format!("name=\"option_groups\" value=\"{group}\" checked")),
        "its option group is ticked"
    );
    assert!(editor.contains("Gluten-free") && editor.contains("Molluscs"));
    for page in [editor, keeper.page("/shop/menu"), keeper.page("/shop")] {
        assert!(
            !page.contains(MISSING_TEXT),
            "every text is in the catalogue"
        );
    }

    // "None" reaches the server: the hidden empty fields alone clear the lists,
    // empty times remove the window and an empty count stops counting.
    keeper.submit(
        &format!("/shop/items/{porridge}"),
        &[
            ("tags", ""),
            ("allergens", ""),
            ("option_groups", ""),
            ("window_from", ""),
            ("window_until", ""),
        ],
    );
    keeper.submit(
        &format!("/shop/items/{porridge}"),
        &[("stock", ""), ("low_stock", "0")],
    );
    let item = keeper.item(porridge);
    assert_eq!(item["tags"], json!([]));
    assert_eq!(item["allergens"], json!([]));
    assert_eq!(item["option_groups"], json!([]));
    assert_eq!(
        (&item["window"], &item["stock"]),
        (&Value::Null, &Value::Null)
    );
    // An unknown allergen is refused, naming it.
    let refused = keeper.post(
        &format!("/shop/items/{porridge}"),
        &[("allergens", ""), ("allergens", "glitter")],
    );
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.text().contains("glitter"), "{refused:?}");

    // Items reorder within their category.
    let toast = add_item(&keeper, "Toast", "2.00", "Breakfast");
    let eggs = add_item(&keeper, "Eggs", "3.00", "Breakfast");
    let breakfast_order = || -> Vec<i64> {
        keeper
            .items()
            .iter()
            .filter(|i| i["category_id"] == breakfast)
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    let before = breakfast_order();
    assert_eq!(before, [eggs, porridge, toast], "by name until moved");
    keeper.submit(&format!("/shop/items/{toast}/move"), &[("up", "1")]);
    keeper.submit(&format!("/shop/items/{eggs}/move"), &[("up", "0")]);
    assert_eq!(breakfast_order(), [toast, eggs, porridge]);
    // The editor's list: one heading over each category's items.
    add_item(&keeper, "Tea", "1.50", "Drinks");
    let page = keeper.page("/shop/menu");
    let headings: Vec<&str> = page
        .split("<h3>")
        .skip(1)
        .map(|rest| &rest[..rest.find("</h3>").unwrap()])
        .collect();
    assert_eq!(
        headings,
        ["Drinks", "Breakfast", "Waste in the last 24 hours"]
    );

    // Bulk sold-out and back.
    let both = [toast.to_string(), eggs.to_string()];
    let bulk = |available: &str| {
        keeper.submit(
            "/shop/items-available",
            &[
                ("items", ""),
                ("items", &both[0]),
                ("items", &both[1]),
                ("available", available),
            ],
        )
    };
    bulk("0");
    for id in [toast, eggs] {
        assert_eq!(keeper.item(id)["sold_out"], true);
    }
    assert_eq!(keeper.item(porridge)["sold_out"], false);
    bulk("1");
    for id in [toast, eggs] {
        assert_eq!(keeper.item(id)["sold_out"], false);
    }

    // The group's own form: an emptied name removes an option, a new row
    // adds one; and each option has its sold-out switch.
    let option_ids: Vec<String> = cup["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].to_string())
        .collect();
    keeper.submit(
        &format!("/shop/option-groups/{group}"),
        &[
            ("name", "Cup size"),
            ("min", "1"),
            ("max", "1"),
            ("option_id", &option_ids[0]),
            ("option_name", ""),
            ("option_price", "-0.50"),
            ("option_id", &option_ids[1]),
            ("option_name", "Large"),
            ("option_price", "+0.90"),
            ("option_id", ""),
            ("option_name", "Huge"),
            ("option_price", "1.50"),
        ],
    );
    keeper.submit(
        &format!("/shop/option-groups/{group}/options/{}", option_ids[1]),
        &[("available", "0")],
    );
    let groups = keeper.api("/api/shop/option-groups");
    let cup = groups.iter().find(|g| g["id"] == group).unwrap();
    assert_eq!(cup["name"], "Cup size");
    let options: Vec<(&str, i64, bool)> = cup["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap(),
                o["price_delta_cents"].as_i64().unwrap(),
                o["available"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(options, [("Large", 90, false), ("Huge", 150, true)]);

    // Shared ingredients: restock, waste with its reason, today's list.
    keeper.submit(&format!("/shop/ingredients/{oats}"), &[("stock", "30")]);
    keeper.submit(
        &format!("/shop/ingredients/{oats}/waste"),
        &[("qty", "4"), ("reason", "spilled on the floor")],
    );
    let list = keeper.api("/api/shop/ingredients");
    let stock = list.iter().find(|i| i["id"] == oats).unwrap()["stock"].clone();
    assert_eq!(stock, 26);
    let page = keeper.page("/shop/menu");
    assert!(
        page.contains("spilled on the floor"),
        "today's waste is listed"
    );
    assert!(page.contains("Cup size"), "groups are listed");
}

#[test]
fn the_board_shows_each_lines_options_and_note_and_what_runs_low() {
    let server = Server::start_demo();
    let (email, shop_id) = open_shop(&server, "Milk Bar");
    let keeper = Keeper::login(&server, &email);
    keeper.submit(
        "/shop/option-groups",
        &[
            ("name", "Milk choice"),
            ("min", "1"),
            ("max", "1"),
            ("option_id", ""),
            ("option_name", "Oat milk"),
            ("option_price", "0.40"),
        ],
    );
    let group = keeper.id_of("/api/shop/option-groups", "Milk choice");
    let groups = keeper.api("/api/shop/option-groups");
    let oat = groups.iter().find(|g| g["id"] == group).unwrap()["options"][0]["id"]
        .as_i64()
        .unwrap();
    let latte = add_item(&keeper, "Flat white", "3.00", "");
    keeper.submit(
        &format!("/shop/items/{latte}"),
        &[("option_groups", ""), ("option_groups", &group.to_string())],
    );
    keeper.submit(
        &format!("/shop/items/{latte}"),
        &[("stock", "3"), ("low_stock", "1")],
    );
    keeper.submit(
        "/shop/ingredients",
        &[("name", "Paper cups"), ("stock", "2"), ("low_stock", "10")],
    );
    let board = keeper.page("/shop");
    assert!(
        board.contains("Paper cups"),
        "an ingredient at its threshold"
    );
    assert!(!board.contains("Flat white"), "3 left is above 1");

    let order = json!({
        "shop_id": shop_id,
        "items": [{ "item_id": latte, "qty": 2, "options": [oat], "note": "extra hot please" }],
        "customer_name": "Ann",
        "client_ref": unique_ref(),
    });
    server.post("/api/orders", None, &order).expect(201);
    let board = keeper.page("/shop");
    assert!(board.contains("Milk choice: <b>Oat milk</b>"), "{board}");
    assert!(board.contains("extra hot please"), "{board}");
    assert!(
        board.contains(&format!(
            "href=\"/shop/items/{latte}\">Flat white</a> · 1 left"
        )),
        "the item is now at its threshold: {board}"
    );
    let fragment = keeper.page("/shop?fragment=1");
    assert!(fragment.contains("Oat milk") && fragment.contains("Paper cups"));
}

/// Opens the server's database while the server is stopped.
fn database(dir: &TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.path.join("orderspot.db")).expect("open the database")
}

#[test]
fn staff_switch_and_restock_but_only_the_keeper_edits_the_menu() {
    let mut demo = Server::start_demo();
    let (email, shop_id) = open_shop(&demo, "Burger Bar");
    let data_dir = demo.data_dir.clone();
    assert!(demo.stop());
    // No page adds staff yet: a counter hand joins the shop in the
    // database, with the keeper's password.
    database(&data_dir)
        .execute(
            "INSERT INTO users (email, name, role, password_hash, created_at)
                 SELECT 'counter@editor.example', 'Counter', 'shopkeeper', password_hash, 0
                 FROM users WHERE email = ?1",
            [&email],
        )
        .unwrap();
    database(&data_dir)
        .execute(
            "INSERT INTO shop_members (shop_id, user_id, role, created_at)
                 SELECT ?1, id, 'staff', 0 FROM users WHERE email = 'counter@editor.example'",
            [shop_id],
        )
        .unwrap();
    drop(demo);
    let server = Server::start_in(data_dir, false);
    let keeper = Keeper::login(&server, &email);
    keeper.submit("/shop/categories", &[("name", "Mains")]);
    let category = keeper.id_of("/api/shop/categories", "Mains");
    keeper.submit(
        "/shop/option-groups",
        &[
            ("name", "Sauce"),
            ("min", "0"),
            ("max", "1"),
            ("option_name", "Chili"),
            ("option_id", ""),
            ("option_price", ""),
        ],
    );
    let group = keeper.id_of("/api/shop/option-groups", "Sauce");
    let groups = keeper.api("/api/shop/option-groups");
    let chili = groups.iter().find(|g| g["id"] == group).unwrap()["options"][0]["id"]
        .as_i64()
        .unwrap();
    keeper.submit(
        "/shop/ingredients",
        &[("name", "Buns"), ("stock", "10"), ("low_stock", "2")],
    );
    let buns = keeper.id_of("/api/shop/ingredients", "Buns");
    let burger = add_item(&keeper, "Burger", "8.00", "Mains");

    let staff = Keeper::login(&server, "counter@editor.example");
    // The counter's switches and counts.
    staff.submit(&format!("/shop/items/{burger}"), &[("available", "0")]);
    staff.submit(
        &format!("/shop/items/{burger}"),
        &[("stock", "12"), ("low_stock", "3")],
    );
    staff.submit(
        "/shop/items-available",
        &[
            ("items", ""),
            ("items", &burger.to_string()),
            ("available", "1"),
        ],
    );
    staff.submit(
        &format!("/shop/option-groups/{group}/options/{chili}"),
        &[("available", "0")],
    );
    staff.submit(&format!("/shop/ingredients/{buns}"), &[("stock", "25")]);
    staff.submit(
        &format!("/shop/ingredients/{buns}/waste"),
        &[("qty", "1"), ("reason", "dropped")],
    );
    let item = keeper.item(burger);
    assert_eq!(
        (item["stock"].as_i64(), item["sold_out"].as_bool()),
        (Some(12), Some(false))
    );
    let list = keeper.api("/api/shop/ingredients");
    assert_eq!(list.iter().find(|i| i["id"] == buns).unwrap()["stock"], 24);

    // Not the menu itself.
    let (category, group_text) = (category.to_string(), group.to_string());
    let edits: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/shop/items/{burger}"),
            vec![("name", "Cheap"), ("stock", "1")],
        ),
        (
            format!("/shop/items/{burger}"),
            vec![("option_groups", &group_text)],
        ),
        (format!("/shop/items/{burger}/move"), vec![("up", "1")]),
        (
            format!("/shop/items/{burger}/ingredients"),
            vec![("ingredient_id", "")],
        ),
        (format!("/shop/items/{burger}/delete"), vec![]),
        ("/shop/items".into(), vec![("name", "X"), ("price", "1")]),
        ("/shop/categories".into(), vec![("name", "X")]),
        (format!("/shop/categories/{category}"), vec![("name", "X")]),
        (
            format!("/shop/categories/{category}/move"),
            vec![("up", "0")],
        ),
        (format!("/shop/categories/{category}/delete"), vec![]),
        (
            "/shop/option-groups".into(),
            vec![("name", "X"), ("min", "0"), ("max", "1")],
        ),
        (
            format!("/shop/option-groups/{group}"),
            vec![("name", "X"), ("min", "0"), ("max", "1")],
        ),
        (format!("/shop/option-groups/{group}/delete"), vec![]),
        ("/shop/ingredients".into(), vec![("name", "X")]),
        (
            format!("/shop/ingredients/{buns}"),
            vec![("low_stock", "9")],
        ),
        (format!("/shop/ingredients/{buns}/delete"), vec![]),
    ];
    for (path, fields) in &edits {
        let answer = staff.post(path, fields);
        assert_eq!(answer.status, 403, "{path} {fields:?}: {answer:?}");
    }
    let item = keeper.item(burger);
    assert_eq!(
        (
            item["name"].as_str(),
            item["option_groups"].as_array().map(Vec::len)
        ),
        (Some("Burger"), Some(0))
    );
    // Staff see the switches, not the editor's forms.
    let page = staff.page("/shop/menu");
    assert!(page.contains(&format!("/shop/ingredients/{buns}/waste")));
    assert!(
        !page.contains("action=\"/shop/categories\""),
        "no category form for staff"
    );
    let item_page = staff.page(&format!("/shop/items/{burger}"));
    assert!(
        !item_page.contains("name=\"allergens\""),
        "no item form for staff"
    );
}

#[test]
fn another_shops_ids_are_refused() {
    let server = Server::start_demo();
    let (email, _) = open_shop(&server, "Soup Bar");
    let mine = Keeper::login(&server, &email);
    mine.submit("/shop/categories", &[("name", "Soups")]);
    let category = mine.id_of("/api/shop/categories", "Soups");
    mine.submit(
        "/shop/option-groups",
        &[
            ("name", "Bowl"),
            ("min", "1"),
            ("max", "1"),
            ("option_id", ""),
            ("option_name", "Big"),
            ("option_price", "1"),
        ],
    );
    let group = mine.id_of("/api/shop/option-groups", "Bowl");
    let groups = mine.api("/api/shop/option-groups");
    let big = groups.iter().find(|g| g["id"] == group).unwrap()["options"][0]["id"]
        .as_i64()
        .unwrap();
    mine.submit(
        "/shop/ingredients",
        &[("name", "Broth"), ("stock", "9"), ("low_stock", "1")],
    );
    let broth = mine.id_of("/api/shop/ingredients", "Broth");
    let soup = add_item(&mine, "Miso", "5.00", "Soups");

    let (email, _) = open_shop(&server, "Taco Bar");
    let other = Keeper::login(&server, &email);
    let theirs = add_item(&other, "Taco special", "4.00", "");
    let (group_text, broth_text, category_text) =
        (group.to_string(), broth.to_string(), category.to_string());
    let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/shop/items/{soup}"), vec![("name", "Stolen")]),
        (format!("/shop/items/{soup}"), vec![("available", "0")]),
        (format!("/shop/items/{soup}/move"), vec![("up", "1")]),
        (
            format!("/shop/items/{soup}/ingredients"),
            vec![("ingredient_id", "")],
        ),
        (format!("/shop/items/{soup}/delete"), vec![]),
        (
            format!("/shop/categories/{category}"),
            vec![("name", "Mine")],
        ),
        (
            format!("/shop/categories/{category}/move"),
            vec![("up", "1")],
        ),
        (format!("/shop/categories/{category}/delete"), vec![]),
        (
            format!("/shop/option-groups/{group}"),
            vec![("name", "Mine"), ("min", "0"), ("max", "1")],
        ),
        (
            format!("/shop/option-groups/{group}/options/{big}"),
            vec![("available", "0")],
        ),
        (format!("/shop/option-groups/{group}/delete"), vec![]),
        (format!("/shop/ingredients/{broth}"), vec![("stock", "0")]),
        (
            format!("/shop/ingredients/{broth}/waste"),
            vec![("qty", "9"), ("reason", "x")],
        ),
        (format!("/shop/ingredients/{broth}/delete"), vec![]),
        // Their own item, with our group, ingredient or category.
        (
            format!("/shop/items/{theirs}"),
            vec![("option_groups", &group_text)],
        ),
        (
            format!("/shop/items/{theirs}/ingredients"),
            vec![("ingredient_id", &broth_text), ("qty", "1")],
        ),
        (
            format!("/shop/items/{theirs}"),
            vec![("category_id", &category_text)],
        ),
    ];
    for (path, fields) in &attempts {
        let answer = other.post(path, fields);
        assert_eq!(answer.status, 404, "{path} {fields:?}: {answer:?}");
    }
    other
        .server
        .get(&format!("/shop/items/{soup}"), Some(&other.token))
        .assert_status(404);
    // The bulk switch passes over ids that are not the shop's.
    other.submit(
        "/shop/items-available",
        &[("items", &soup.to_string()), ("available", "0")],
    );

    let item = mine.item(soup);
    assert_eq!(
        (item["name"].as_str(), item["sold_out"].as_bool()),
        (Some("Miso"), Some(false))
    );
    assert_eq!(names(&mine.api("/api/shop/categories")), ["Soups"]);
    let groups = mine.api("/api/shop/option-groups");
    let bowl = groups.iter().find(|g| g["id"] == group).unwrap();
    assert_eq!(
        (
            bowl["name"].as_str(),
            bowl["options"][0]["available"].as_bool()
        ),
        (Some("Bowl"), Some(true))
    );
    let broth_now = mine.api("/api/shop/ingredients");
    assert_eq!(broth_now[0]["stock"], 9);
}

/// A shop's stations as `(name, id)` and its routes as `(item, station)`.
type Kitchen = (Vec<(String, i64)>, Vec<(i64, i64)>);

fn kitchen(keeper: &Keeper) -> Kitchen {
    let list = keeper
        .server
        .get("/api/shop/stations", Some(&keeper.token))
        .expect(200);
    let stations = list["stations"].as_array().unwrap().iter();
    let routes = list["routes"].as_array().unwrap().iter();
    (
        stations
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["id"].as_i64().unwrap(),
                )
            })
            .collect(),
        routes
            .map(|r| {
                (
                    r["item_id"].as_i64().unwrap(),
                    r["station_id"].as_i64().unwrap(),
                )
            })
            .collect(),
    )
}

#[test]
fn a_keeper_sets_up_stations_and_routes_items_with_the_forms() {
    let server = Server::start_demo();
    let (email, shop_id) = open_shop(&server, "Grill Bar");
    let keeper = Keeper::login(&server, &email);
    let burger = add_item(&keeper, "Burger", "6.00", "Mains");
    let fries = add_item(&keeper, "Fries", "2.50", "Mains");
    let lemonade = add_item(&keeper, "Lemonade", "2.00", "");
    let mains = keeper.id_of("/api/shop/categories", "Mains");
    let item_page = keeper.page(&format!("/shop/items/{burger}"));
    assert!(
        item_page.contains("href=\"/shop/menu#stations\""),
        "{item_page}"
    );

    keeper.submit("/shop/stations", &[("name", "Grill")]);
    keeper.submit("/shop/stations", &[("name", "Drinks")]);
    let (stations, _) = kitchen(&keeper);
    let [(_, grill), (_, drinks)] = stations[..] else {
        panic!("two stations: {stations:?}");
    };
    // The API's rules, shown as the editor's other errors are.
    let taken = keeper.post("/shop/stations", &[("name", "Grill")]);
    assert_eq!(taken.status, 409, "{taken:?}");
    assert!(taken.text().contains("already has a station called Grill"));
    keeper
        .post(&format!("/shop/stations/{grill}"), &[("name", " ")])
        .assert_status(400);
    let renamed = keeper.post(&format!("/shop/stations/{drinks}"), &[("name", "Bar")]);
    assert_eq!(
        (renamed.status, renamed.header("location")),
        (303, Some("/shop/menu#stations"))
    );
    let menu = keeper.page("/shop/menu");
    assert!(!menu.contains(MISSING_TEXT), "{menu}");
    for station in [grill, drinks] {
        assert!(
            menu.contains(&format!("href=\"/shop/stations/{station}\"")),
            "{menu}"
        );
    }
    assert!(
        menu.contains("value=\"Bar\"") && !menu.contains("value=\"Drinks\""),
        "{menu}"
    );

    // The item's edit page routes it, and the list shows where it goes.
    let routed = keeper.post(
        &format!("/shop/items/{burger}/station"),
        &[("station_id", &grill.to_string())],
    );
    assert_eq!(
        routed.header("location"),
        Some(&*format!("/shop/items/{burger}"))
    );
    let item_page = keeper.page(&format!("/shop/items/{burger}"));
    assert!(
        item_page.contains(&format!(
            "<option value=\"{grill}\" selected>Grill</option>"
        )),
        "{item_page}"
    );
    keeper.submit(
        &format!("/shop/items/{lemonade}/station"),
        &[("station_id", &drinks.to_string())],
    );
    let menu = keeper.page("/shop/menu");
    assert!(menu.contains("→ Grill") && menu.contains("→ Bar"), "{menu}");
    assert_eq!(kitchen(&keeper).1, [(burger, grill), (lemonade, drinks)]);
    // A whole category at once.
    keeper.submit(
        "/shop/stations/route-category",
        &[
            ("category_id", &mains.to_string()),
            ("station_id", &grill.to_string()),
        ],
    );
    assert_eq!(
        kitchen(&keeper).1,
        [(burger, grill), (fries, grill), (lemonade, drinks)]
    );

    // The grill's view shows the order's grill items only.
    let (order, _, _) = server.place_ok(shop_id, &[(burger, 1), (lemonade, 2)]);
    let view = server
        .get(
            &format!("/api/shop/stations/{grill}/orders"),
            Some(&keeper.token),
        )
        .expect(200);
    let ticket = &view["orders"][0];
    assert_eq!(ticket["id"], order, "{view}");
    let lines: Vec<&str> = ticket["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["Burger"]);
    let page = keeper.page(&format!("/shop/stations/{grill}"));
    assert!(
        page.contains("Burger") && !page.contains("Lemonade"),
        "{page}"
    );

    // Back to no station, then a station deleted takes its routes along.
    keeper.submit(
        &format!("/shop/items/{fries}/station"),
        &[("station_id", "")],
    );
    keeper.submit(&format!("/shop/stations/{drinks}/delete"), &[]);
    let (stations, routes) = kitchen(&keeper);
    assert_eq!(
        (stations, routes),
        (vec![("Grill".to_string(), grill)], vec![(burger, grill)])
    );

    // At most 12 stations.
    for n in 2..=12 {
        keeper.submit("/shop/stations", &[("name", &format!("Station {n}"))]);
    }
    keeper
        .post("/shop/stations", &[("name", "Thirteenth")])
        .assert_status(409);
    assert_eq!(kitchen(&keeper).0.len(), 12);
}

#[test]
fn another_shops_stations_are_refused() {
    let server = Server::start_demo();
    let (email, _) = open_shop(&server, "Wok Bar");
    let mine = Keeper::login(&server, &email);
    let noodles = add_item(&mine, "Noodles", "5.00", "Hot");
    let hot = mine.id_of("/api/shop/categories", "Hot");
    mine.submit("/shop/stations", &[("name", "Wok")]);
    let wok = kitchen(&mine).0[0].1;

    let (email, _) = open_shop(&server, "Pie Bar");
    let other = Keeper::login(&server, &email);
    let pie = add_item(&other, "Pie", "4.00", "Baked");
    let baked = other.id_of("/api/shop/categories", "Baked");
    other.submit("/shop/stations", &[("name", "Oven")]);
    let oven = kitchen(&other).0[0].1;
    let (wok_text, oven_text) = (wok.to_string(), oven.to_string());
    let (hot_text, baked_text) = (hot.to_string(), baked.to_string());
    let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/shop/stations/{wok}"), vec![("name", "Mine")]),
        (format!("/shop/stations/{wok}/delete"), vec![]),
        // Our item to their station, their item to our station.
        (
            format!("/shop/items/{noodles}/station"),
            vec![("station_id", &oven_text)],
        ),
        (
            format!("/shop/items/{pie}/station"),
            vec![("station_id", &wok_text)],
        ),
        (
            "/shop/stations/route-category".to_string(),
            vec![("category_id", &hot_text), ("station_id", &oven_text)],
        ),
        (
            "/shop/stations/route-category".to_string(),
            vec![("category_id", &baked_text), ("station_id", &wok_text)],
        ),
    ];
    for (path, fields) in &attempts {
        let answer = other.post(path, fields);
        assert_eq!(answer.status, 404, "{path} {fields:?}: {answer:?}");
    }
    assert_eq!(kitchen(&mine), (vec![("Wok".to_string(), wok)], vec![]));
    assert_eq!(kitchen(&other), (vec![("Oven".to_string(), oven)], vec![]));
    other
        .server
        .get(&format!("/shop/stations/{wok}"), Some(&other.token))
        .assert_status(404);
}
