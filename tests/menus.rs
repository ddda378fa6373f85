//! Real menus over HTTP, on data each test makes through the shop API:
//! option choices validated and priced at placement and kept as snapshots,
//! stock that concurrent orders cannot oversell (an item's own count and a
//! shared ingredient's), sold-out reaching open menus, time windows in the
//! venue's time zone, and search over a shop of 10,000 products.

mod common;

use common::{
    int_of, request_from, str_of, unique_ref, Response, Server, LIVE_BOUND, PASSWORD, SHOP1, SHOP2,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const JSON: [(&str, &str); 1] = [("Content-Type", "application/json")];
/// The demo's first shop: its keeper's account is all these tests use of it.
const SHOP: i64 = 1;

fn created(server: &Server, token: &str, path: &str, body: Value) -> Value {
    server.post(path, Some(token), &body).expect(201)
}

/// An option group of the keeper's shop: its id and its options' ids.
fn group(
    server: &Server,
    token: &str,
    name: &str,
    (min, max): (i64, i64),
    options: &[(&str, i64)],
) -> (i64, Vec<i64>) {
    let options: Vec<Value> = options
        .iter()
        .map(|(name, delta)| json!({ "name": name, "price_delta_cents": delta }))
        .collect();
    let body = json!({ "name": name, "min": min, "max": max, "options": options });
    let group = created(server, token, "/api/shop/option-groups", body);
    let ids = group["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| int_of(o, "id"))
        .collect();
    (int_of(&group, "id"), ids)
}

fn item(server: &Server, token: &str, body: Value) -> i64 {
    int_of(&created(server, token, "/api/shop/items", body), "id")
}

fn order_body(lines: Value) -> Value {
    json!({
        "shop_id": SHOP, "items": lines, "customer_name": "Menu tester", "note": "",
        "client_ref": unique_ref(),
    })
}

fn place(server: &Server, lines: Value) -> Response {
    server.post("/api/orders", None, &order_body(lines))
}

/// Places from another loopback address: another phone on the hotspot.
fn place_from(server: &Server, from: IpAddr, lines: Value) -> Response {
    let body = order_body(lines).to_string();
    request_from(
        from,
        server.addr,
        "POST",
        "/api/orders",
        &JSON,
        body.as_bytes(),
    )
}

/// Asserts an error's status and code; returns its message.
#[track_caller]
fn refused(response: &Response, status: u16, code: &str) -> String {
    assert_eq!(response.json()["code"], code, "{}", response.text());
    response.expect_error(status)
}

fn menu_item(server: &Server, id: i64) -> Value {
    server
        .menu(SHOP)
        .into_iter()
        .find(|i| int_of(i, "id") == id)
        .unwrap_or_else(|| panic!("item {id} not on the menu"))
}

#[test]
fn every_bad_option_choice_is_refused_by_name_and_placed_lines_keep_their_options() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 50 }));
    let shop1 = server.login(SHOP1, PASSWORD);
    let shop2 = server.login(SHOP2, PASSWORD);
    let (size, sizes) = group(
        &server,
        &shop1,
        "Size",
        (1, 1),
        &[("Small", -50), ("Medium", 0), ("Large", 70)],
    );
    let (extras, add_ons) = group(
        &server,
        &shop1,
        "Extras",
        (0, 2),
        &[("Syrup", 40), ("Extra shot", 60), ("Cream", 30)],
    );
    let (sauce, sauces) = group(&server, &shop1, "Sauce", (0, 1), &[("Chili", 20)]);
    let (_, theirs) = group(&server, &shop2, "Milk", (0, 1), &[("Oat", 40)]);
    let latte = item(
        &server,
        &shop1,
        json!({ "name": "Test latte", "price_cents": 330, "option_groups": [size, extras, sauce] }),
    );
    let ([small, medium, large], [syrup, shot, cream]) = (
        sizes[..].try_into().unwrap(),
        add_ons[..].try_into().unwrap(),
    );
    let choose = |options: &[i64]| {
        place(
            &server,
            json!([{ "item_id": latte, "qty": 1, "options": options }]),
        )
    };
    let refusal = |options: &[i64], status: u16, code: &str| {
        let message = refused(&choose(options), status, code);
        assert!(message.contains("Test latte"), "{options:?}: {message}");
        message
    };

    let message = refusal(&[medium, 999_999], 400, "order.unknown_option");
    assert!(message.contains("Size, Extras, Sauce"), "{message}");
    // Another shop's option is unknown here.
    refusal(&[medium, theirs[0]], 400, "order.unknown_option");
    for too_few_or_many in [&[][..], &[small, large]] {
        let message = refusal(too_few_or_many, 400, "order.option_count");
        assert!(message.contains("Size"), "{message}");
    }
    let message = refusal(&[medium, syrup, shot, cream], 400, "order.option_count");
    assert!(message.contains("Extras"), "{message}");
    let message = refusal(&[medium, syrup, syrup], 400, "order.option_twice");
    assert!(message.contains("Extras"), "{message}");

    let sold_out = json!({ "options": [{ "id": syrup, "available": false }] });
    let path = format!("/api/shop/option-groups/{extras}");
    server.patch(&path, Some(&shop1), &sold_out).expect(200);
    let message = refusal(&[medium, syrup], 409, "order.option_sold_out");
    assert!(
        message.contains("Extras") && message.contains("Syrup"),
        "{message}"
    );
    let back = json!({ "options": [{ "id": syrup, "available": true }] });
    server.patch(&path, Some(&shop1), &back).expect(200);

    // The customer saw the base price, but Large costs more.
    let stale = place(
        &server,
        json!([{ "item_id": latte, "qty": 1, "options": [large], "seen_price_cents": 330 }]),
    );
    let message = refused(&stale, 409, "order.price_changed");
    assert!(message.contains("Test latte"), "{message}");

    // A removed option, and an option of a removed group.
    let without_cream =
        json!({ "options": [{ "id": syrup }, { "id": shot }], "replace_options": true });
    server
        .patch(&path, Some(&shop1), &without_cream)
        .expect(200);
    let message = refusal(&[medium, cream], 409, "order.option_gone");
    assert!(
        message.contains("Extras") && message.contains("Cream"),
        "{message}"
    );
    let removed = server.call(
        "DELETE",
        &format!("/api/shop/option-groups/{sauce}"),
        Some(&shop1),
        None,
    );
    assert!([200, 204].contains(&removed.status), "{removed:?}");
    let message = refusal(&[medium, sauces[0]], 409, "order.option_gone");
    assert!(
        message.contains("Sauce") && message.contains("Chili"),
        "{message}"
    );

    // A good choice: 3.30 + 0.70 + 0.40 + 0.60, in any order.
    let placed = place(
        &server,
        json!([{ "item_id": latte, "qty": 2, "options": [shot, large, syrup],
                  "seen_price_cents": 500, "note": "extra hot" }]),
    )
    .expect(201);
    let line = &placed["items"][0];
    assert_eq!(
        (
            int_of(line, "unit_price_cents"),
            int_of(line, "line_total_cents")
        ),
        (500, 1000)
    );
    assert_eq!(int_of(&placed, "total_cents"), 1000);
    let snapshot: Vec<(&str, &str, i64)> = line["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                str_of(o, "group"),
                str_of(o, "name"),
                int_of(o, "price_delta_cents"),
            )
        })
        .collect();
    assert_eq!(
        snapshot,
        [
            ("Size", "Large", 70),
            ("Extras", "Syrup", 40),
            ("Extras", "Extra shot", 60)
        ]
    );

    // Later edits change new orders only.
    let renamed = json!({ "options": [{ "id": large, "name": "Huge", "price_delta_cents": 100 }] });
    server
        .patch(
            &format!("/api/shop/option-groups/{size}"),
            Some(&shop1),
            &renamed,
        )
        .expect(200);
    server
        .patch(
            &format!("/api/shop/items/{latte}"),
            Some(&shop1),
            &json!({ "price_cents": 400 }),
        )
        .expect(200);
    let removed = server.call("DELETE", &path, Some(&shop1), None);
    assert!([200, 204].contains(&removed.status), "{removed:?}");
    let stored = server.order(int_of(&placed, "id"), str_of(&placed, "token"));
    assert_eq!(stored["items"], placed["items"]);
    assert_eq!(stored["total_cents"], 1000);
    let newer = choose(&[large]).expect(201);
    assert_eq!(int_of(&newer, "total_cents"), 500);
    assert_eq!(newer["items"][0]["options"][0]["name"], "Huge");
}

#[test]
fn option_prices_add_up_in_whole_cents_and_never_below_zero() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (size, sizes) = group(
        &server,
        &shop1,
        "Size",
        (1, 1),
        &[("Small", -50), ("Regular", 0)],
    );
    let (shots, extra) = group(
        &server,
        &shop1,
        "Shots",
        (0, 3),
        &[("Dime", 10), ("Twenty", 20)],
    );
    let tea = item(
        &server,
        &shop1,
        json!({ "name": "Cheap tea", "price_cents": 30, "option_groups": [size, shots] }),
    );
    let cake = item(
        &server,
        &shop1,
        json!({ "name": "Cake", "price_cents": 500, "option_groups": [size] }),
    );
    let (small, regular) = (sizes[0], sizes[1]);
    let placed = place(
        &server,
        json!([
            { "item_id": tea, "qty": 3, "options": [small], "seen_price_cents": 0 },
            // 0.30 - 0.50 + 0.10: the line is free, not negative.
            { "item_id": tea, "qty": 1, "options": [small, extra[0]], "seen_price_cents": 0 },
            { "item_id": tea, "qty": 50, "options": [regular, extra[0], extra[1]] },
            { "item_id": cake, "qty": 1, "options": [small] },
        ]),
    )
    .expect(201);
    let lines: Vec<(i64, i64, i64)> = placed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                int_of(l, "qty"),
                int_of(l, "unit_price_cents"),
                int_of(l, "line_total_cents"),
            )
        })
        .collect();
    assert_eq!(lines, [(3, 0, 0), (1, 0, 0), (50, 60, 3000), (1, 450, 450)]);
    assert_eq!(int_of(&placed, "total_cents"), 3450);
}

/// Fifty phones (each its own loopback address) place at the same moment.
fn race(server: &Server, lines: impl Fn(usize) -> Value + Sync) -> Vec<Response> {
    let start = Barrier::new(50);
    std::thread::scope(|scope| {
        let racers: Vec<_> = (0..50)
            .map(|n| {
                let (start, lines) = (&start, &lines);
                scope.spawn(move || {
                    let from = IpAddr::from([127, 0, 1, n as u8 + 1]);
                    let body = lines(n);
                    start.wait();
                    place_from(server, from, body)
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// Asserts exactly `units` orders got through and the others were told
/// "sold out"; returns the placed ones.
#[track_caller]
fn exactly_sold(results: Vec<Response>, units: usize) -> Vec<Value> {
    let (placed, refused_ones): (Vec<_>, Vec<_>) =
        results.into_iter().partition(|r| r.status == 201);
    assert_eq!(placed.len(), units, "{refused_ones:?}");
    for refusal in &refused_ones {
        refused(refusal, 409, "item.sold_out");
    }
    placed.iter().map(|r| r.json()).collect()
}

fn cancel(server: &Server, order: &Value) {
    let path = format!("/api/orders/{}/cancel", int_of(order, "id"));
    server
        .post(&path, Some(str_of(order, "token")), &json!({}))
        .expect(200);
}

fn ingredient_stock(server: &Server, token: &str, id: i64) -> i64 {
    let all = server.get("/api/shop/ingredients", Some(token)).expect(200);
    let found = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| int_of(i, "id") == id);
    int_of(found.expect("the ingredient"), "stock")
}

#[test]
fn fifty_concurrent_orders_for_the_last_five_units_sell_exactly_five() {
    let server = Server::start_demo();
    server
        .set_venue(&json!({ "max_open_orders_per_device": 100, "max_open_orders_per_shop": 1000 }));
    let shop1 = server.login(SHOP1, PASSWORD);
    let cakes = item(
        &server,
        &shop1,
        json!({ "name": "Last cakes", "price_cents": 300, "stock": 5, "low_stock": 2 }),
    );
    let sold = exactly_sold(
        race(&server, |_| json!([{ "item_id": cakes, "qty": 1 }])),
        5,
    );
    let listed = menu_item(&server, cakes);
    assert_eq!(
        (listed["stock"].clone(), listed["sold_out"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(listed["available"], false);

    // Two burgers share one count of buns.
    let buns = created(
        &server,
        &shop1,
        "/api/shop/ingredients",
        json!({ "name": "Buns", "stock": 5, "low_stock": 1 }),
    );
    let buns = int_of(&buns, "id");
    let uses = json!([{ "ingredient_id": buns, "qty": 1 }]);
    let burgers = ["Burger", "Veggie burger"].map(|name| {
        item(
            &server,
            &shop1,
            json!({ "name": name, "price_cents": 800, "ingredients": uses }),
        )
    });
    let bun_orders = exactly_sold(
        race(
            &server,
            |n| json!([{ "item_id": burgers[n % 2], "qty": 1 }]),
        ),
        5,
    );
    assert_eq!(ingredient_stock(&server, &shop1, buns), 0);
    for burger in burgers {
        assert_eq!(menu_item(&server, burger)["sold_out"], true);
    }

    // Cancelling before preparation gives the units back.
    cancel(&server, &sold[0]);
    let listed = menu_item(&server, cakes);
    assert_eq!(
        (listed["stock"].clone(), listed["sold_out"].clone()),
        (json!(1), json!(false))
    );
    cancel(&server, &bun_orders[0]);
    assert_eq!(ingredient_stock(&server, &shop1, buns), 1);
    place(&server, json!([{ "item_id": burgers[1], "qty": 1 }])).expect(201);
    refused(
        &place(&server, json!([{ "item_id": burgers[0], "qty": 1 }])),
        409,
        "item.sold_out",
    );
}

/// The menu's version now, and a long-poll waiting for the next one.
fn wait_for_next_menu(server: &Server) -> common::Pending {
    let version = int_of(
        &server.get("/api/shops/1/menu", None).expect(200),
        "version",
    );
    let waiting =
        server.get_in_background(&format!("/api/shops/1/menu?since={version}&wait=20"), None);
    waiting.wait_until_taken();
    waiting
}

#[test]
fn sold_out_reaches_an_open_menu_within_a_second() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let soup = item(
        &server,
        &shop1,
        json!({ "name": "Soup", "price_cents": 500 }),
    );
    let pie = item(
        &server,
        &shop1,
        json!({ "name": "Last pie", "price_cents": 400, "stock": 1 }),
    );
    let find = |menu: &Value, id: i64| -> Value {
        menu["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| int_of(i, "id") == id)
            .unwrap()
            .clone()
    };

    // By the switch.
    let waiting = wait_for_next_menu(&server);
    let switched = Instant::now();
    server
        .patch(
            &format!("/api/shop/items/{soup}"),
            Some(&shop1),
            &json!({ "available": false }),
        )
        .expect(200);
    let (answered, menu) = waiting.join();
    let menu = menu.expect(200);
    assert!(
        answered - switched < LIVE_BOUND,
        "{:?}",
        answered - switched
    );
    assert_eq!(find(&menu, soup)["sold_out"], true);

    // By the last unit being ordered.
    let waiting = wait_for_next_menu(&server);
    let ordered = Instant::now();
    place(&server, json!([{ "item_id": pie, "qty": 1 }])).expect(201);
    let (answered, menu) = waiting.join();
    let menu = menu.expect(200);
    assert!(answered - ordered < LIVE_BOUND, "{:?}", answered - ordered);
    let pie = find(&menu, pie);
    assert_eq!(
        (pie["sold_out"].clone(), pie["stock"].clone()),
        (json!(true), json!(0))
    );
}

fn utc_minute_now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    seconds / 60 % 1440
}

/// Puts the venue in a fixed-offset time zone whose clocks show `local`
/// (minutes after midnight) now.
fn set_clock(server: &Server, local: i64) {
    let mut offset = (local - utc_minute_now()).rem_euclid(1440);
    if offset > 720 {
        offset -= 1440;
    }
    // POSIX counts west of Greenwich as positive.
    let sign = if offset >= 0 { '-' } else { '+' };
    let rule = format!("TST{sign}{}:{:02}", offset.abs() / 60, offset.abs() % 60);
    server.set_venue(&json!({ "time_zone": "", "time_zone_rule": rule }));
}

#[test]
fn time_windows_follow_the_venues_clock_across_midnight() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 50 }));
    let shop1 = server.login(SHOP1, PASSWORD);
    let window = |from: &str, until: &str| json!({ "from": from, "until": until });
    let night = item(
        &server,
        &shop1,
        json!({ "name": "Night noodles", "price_cents": 700, "window": window("22:00", "02:00") }),
    );
    let breakfast = item(
        &server,
        &shop1,
        json!({ "name": "Breakfast", "price_cents": 600, "window": window("07:00", "11:00") }),
    );
    // Local times well inside or outside the windows, so a slow test stays right.
    for (local, night_open, breakfast_open) in [
        (23 * 60 + 30, true, false),
        (45, true, false),
        (12 * 60, false, false),
        (8 * 60, false, true),
    ] {
        set_clock(&server, local);
        for (id, open, from) in [
            (night, night_open, "22:00"),
            (breakfast, breakfast_open, "07:00"),
        ] {
            let listed = menu_item(&server, id);
            assert_eq!(listed["available"], open, "at {local}: {listed}");
            assert_eq!(listed["sold_out"], false);
            let placed = place(&server, json!([{ "item_id": id, "qty": 1 }]));
            if open {
                assert_eq!(listed["available_from"], Value::Null);
                placed.expect(201);
            } else {
                assert_eq!(listed["available_from"], from, "at {local}");
                let message = refused(&placed, 409, "item.not_now");
                assert!(message.contains(from), "{message}");
            }
        }
    }
}

#[test]
fn an_open_menu_sees_a_time_window_open_without_any_edit() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    // Early in a minute, so the next one turns well within a long-poll.
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 45 {
        std::thread::sleep(Duration::from_secs(62 - second));
    }
    // The window opens at the next minute of the venue's clock.
    set_clock(&server, 7 * 60 - 1);
    let window = json!({ "from": "07:00", "until": "11:00" });
    let breakfast = item(
        &server,
        &shop1,
        json!({ "name": "Breakfast", "price_cents": 600, "window": window }),
    );
    let before = server.get("/api/shops/1/menu", None).expect(200);
    let since = int_of(&before, "version");
    let listed = |menu: &Value| -> Value {
        let items = menu["items"].as_array().unwrap();
        items
            .iter()
            .find(|i| int_of(i, "id") == breakfast)
            .unwrap()
            .clone()
    };
    assert_eq!(listed(&before)["available"], false);
    let after = server
        .get(&format!("/api/shops/1/menu?since={since}&wait=60"), None)
        .expect(200);
    // A new version, not a long-poll that ran out.
    assert!(int_of(&after, "version") > since, "{after}");
    assert_eq!(listed(&after)["available"], true);
}

/// Adds a shop of `count` generated products straight into the database
/// beside the running server; returns its id and its categories' ids.
fn fill_shop(server: &Server, count: i64) -> (i64, Vec<i64>) {
    let path = server.data_dir.path.join("orderspot.db");
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT INTO users (email, name, role, password_hash, created_at)
         VALUES ('big@test.local', 'Big', 'shopkeeper', 'x', 0)",
        [],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO shops (owner_user_id, name, status, created_at)
         VALUES (?1, 'Hypermarket', 'approved', 0)",
        [tx.last_insert_rowid()],
    )
    .unwrap();
    let shop = tx.last_insert_rowid();
    let categories: Vec<i64> = (0..10)
        .map(|n| {
            tx.execute(
                "INSERT INTO categories (shop_id, name, position) VALUES (?1, ?2, ?3)",
                rusqlite::params![shop, format!("Aisle {n}"), n],
            )
            .unwrap();
            tx.last_insert_rowid()
        })
        .collect();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO menu_items (shop_id, name, description, price_cents, position,
                                         category_id, tags, allergens, stock, search_text,
                                         created_at, updated_at)
                 VALUES (?1, ?2, 'Generated', 100 + ?3, ?3, ?4, ?5, ?6, 10, ?7, 0, 0)",
            )
            .unwrap();
        for n in 0..count {
            let p = Product(n);
            insert
                .execute(rusqlite::params![
                    shop,
                    p.name(),
                    n,
                    categories[p.aisle()],
                    p.tags(),
                    p.allergens(),
                    format!("{} generated", p.name()).to_lowercase(),
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    (shop, categories)
}

/// A generated product: its words, tags and allergens follow from its number.
struct Product(i64);

const COLOURS: [&str; 7] = [
    "Red", "Green", "Saffron", "Blue", "Golden", "Black", "White",
];
const FOODS: [&str; 11] = [
    "rice", "beans", "lentils", "tea", "soup", "bread", "pasta", "jam", "oats", "nuts", "tofu",
];

impl Product {
    fn name(&self) -> String {
        let n = self.0 as usize;
        format!("{} {} no. {n}", COLOURS[n % 7], FOODS[n % 11])
    }
    fn aisle(&self) -> usize {
        self.0 as usize % 10
    }
    fn vegan(&self) -> bool {
        self.0 % 3 == 0
    }
    fn gluten(&self) -> bool {
        self.0 % 4 == 0
    }
    /// Bit sets over the server's word lists: vegetarian is bit 0 and
    /// vegan bit 1 of the tags, gluten bit 0 and milk bit 6 of the allergens.
    fn tags(&self) -> i64 {
        if self.vegan() {
            3
        } else {
            i64::from(self.0 % 2 == 0)
        }
    }
    fn allergens(&self) -> i64 {
        i64::from(self.gluten()) | if self.0 % 5 == 0 { 1 << 6 } else { 0 }
    }
}

#[test]
fn search_finds_the_right_products_among_ten_thousand() {
    let server = Server::start_demo();
    let started = Instant::now();
    let (shop, aisles) = fill_shop(&server, 10_000);
    eprintln!("10,000 products written in {:?}", started.elapsed());
    let search = |query: &str| -> Vec<Value> {
        let started = Instant::now();
        let found = server
            .get(&format!("/api/search?{query}"), None)
            .expect(200);
        eprintln!("search {query}: {:?}", started.elapsed());
        found.as_array().unwrap().clone()
    };
    let names = |found: &[Value]| -> BTreeSet<String> {
        found
            .iter()
            .map(|i| str_of(i, "name").to_string())
            .collect()
    };
    // "no. 123" is in 123 and 1230 to 1239: eleven products, fewer than a page.
    let numbered: Vec<Product> = [123].into_iter().chain(1230..1240).map(Product).collect();
    let expect = |keep: &dyn Fn(&Product) -> bool| -> BTreeSet<String> {
        numbered
            .iter()
            .filter(|p| keep(p))
            .map(Product::name)
            .collect()
    };

    let found = search("q=NO.%20123");
    assert_eq!(names(&found), expect(&|_| true));
    assert!(found
        .iter()
        .all(|i| int_of(i, "shop_id") == shop && i["shop_name"] == "Hypermarket"));
    assert_eq!(
        names(&search("q=no.%20123&tag=vegan")),
        expect(&|p| p.vegan())
    );
    assert_eq!(
        names(&search("q=no.%20123&without=gluten")),
        expect(&|p| !p.gluten())
    );
    assert_eq!(
        names(&search("q=no.%20123&tag=vegan&without=gluten")),
        expect(&|p| p.vegan() && !p.gluten())
    );
    let aisle = aisles[3];
    assert_eq!(
        names(&search(&format!("q=no.%20123&category={aisle}"))),
        expect(&|p| p.aisle() == 3)
    );
    assert_eq!(
        names(&search(&format!("q=no.%20123&shop={shop}"))).len(),
        11
    );
    assert!(search("q=no.%20123&shop=1").is_empty());

    // Wide searches answer one page, every result matching.
    let page = search(&format!("q=saffron&shop={shop}"));
    assert_eq!(page.len(), 50);
    assert!(page
        .iter()
        .all(|i| str_of(i, "name").starts_with("Saffron")));
    let page = search(&format!(
        "shop={shop}&tag=vegan&without=gluten&category={aisle}"
    ));
    assert_eq!(page.len(), 50);
    for found in &page {
        let product = Product(int_of(found, "position"));
        assert_eq!(str_of(found, "name"), product.name());
        assert!(
            product.vegan() && !product.gluten() && product.aisle() == 3,
            "{found}"
        );
        assert!(found["tags"].as_array().unwrap().contains(&json!("vegan")));
        assert_eq!(int_of(found, "category_id"), aisle);
    }
    assert!(search("q=no%20such%20product").is_empty());
}
