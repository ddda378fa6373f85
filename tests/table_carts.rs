//! A table's shared cart over HTTP (two phones on one cart, a change
//! reaching the other's long-poll, a guessed link refused, a rotated
//! secret ending the old cart, the checkout left for the others), orders
//! carrying their table onto tickets and status pages, promo codes at
//! checkout (percent, fixed, minimum, window, a use limit under 50
//! concurrent checkouts, an atomic refusal), and scheduled orders kept off
//! the TV board and the all-day counts, ASAP orders within a shop's hours.

mod common;

use common::{
    int_of, request_from, str_of, unique_ref, Server, LIVE_BOUND, OWNER, PASSWORD, SHOP1, SHOP2,
};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::Instant;

/// A new table: (id, code, secret).
fn table(server: &Server, name: &str) -> (i64, String, String) {
    let owner = server.login(OWNER, PASSWORD);
    let made = server
        .post("/api/admin/tables", Some(&owner), &json!({ "name": name }))
        .expect(201);
    (
        int_of(&made, "id"),
        str_of(&made, "code").to_string(),
        str_of(&made, "secret").to_string(),
    )
}

/// The table's shared cart as a phone at `from` opens it: (id, token).
fn open_table(server: &Server, from: &str, code: &str, secret: &str) -> (i64, String) {
    let local: IpAddr = from.parse().unwrap();
    let path = format!("/api/tables/{code}?s={secret}");
    let body = request_from(local, server.addr, "GET", &path, &[], b"").expect(200);
    (int_of(&body, "cart_id"), str_of(&body, "cart_token").into())
}

fn add(server: &Server, cart: (i64, &str), item: i64, by: &str) -> Value {
    server
        .post(
            &format!("/api/carts/{}/lines", cart.0),
            Some(cart.1),
            &json!({ "item_id": item, "qty": 1, "added_by": by }),
        )
        .expect(201)
}

fn checkout(server: &Server, body: Value) -> common::Response {
    let mut body = body;
    body["customer_name"] = "Ann".into();
    body["client_ref"] = unique_ref().into();
    server.post("/api/checkouts", None, &body)
}

fn lines(items: &[i64]) -> Value {
    items
        .iter()
        .map(|&id| json!({ "item_id": id, "qty": 1 }))
        .collect()
}

fn promo(server: &Server, keeper: &str, code: Value) {
    server
        .post("/api/shop/promo-codes", Some(keeper), &code)
        .expect(201);
}

fn used(server: &Server, keeper: &str, code: &str) -> i64 {
    let codes = server
        .get("/api/shop/promo-codes", Some(keeper))
        .expect(200);
    let list = codes.as_array().or(codes["codes"].as_array()).cloned();
    let found = list
        .unwrap_or_default()
        .into_iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {codes}"));
    int_of(&found, "used")
}

fn board_count(server: &Server, keeper: &str) -> usize {
    common::board(server, keeper)["orders"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn two_phones_share_a_table_cart_live_and_a_rotated_secret_ends_it() {
    let server = Server::start_demo();
    let (id, code, secret) = table(&server, "7");
    let ann = open_table(&server, "127.0.0.2", &code, &secret);
    let bo = open_table(&server, "127.0.0.3", &code, &secret);
    assert_eq!(ann, bo, "one cart for the table");

    let cart = server
        .get(&format!("/api/carts/{}", bo.0), Some(&bo.1))
        .expect(200);
    assert_eq!(cart["table_id"], id);
    let waiting = server.get_in_background(
        &format!(
            "/api/carts/{}?since={}&wait=30",
            bo.0,
            int_of(&cart, "version")
        ),
        Some(&bo.1),
    );
    waiting.wait_until_taken();
    let added = Instant::now();
    add(&server, (ann.0, &ann.1), server.plain_item(1), "Ann");
    let (answered, seen) = waiting.join();
    assert!(answered.duration_since(added) < LIVE_BOUND, "too late");
    assert_eq!(seen.json()["lines"][0]["added_by"], "Ann");

    // A guessed code and a wrong secret are refused alike, reaching no cart.
    let guessed = server.get(&format!("/api/tables/zzzzzz?s={secret}"), None);
    let wrong = server.get(&format!("/api/tables/{code}?s={}", "0".repeat(32)), None);
    guessed.assert_status(404);
    wrong.assert_status(404);
    assert_eq!(guessed.text(), wrong.text());
    assert!(!guessed.text().contains("cart"));

    // Rotating the secret ends the old link and its cart.
    let owner = server.login(OWNER, PASSWORD);
    let rotated = server
        .post(
            &format!("/api/admin/tables/{id}/rotate"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    server
        .get(&format!("/api/carts/{}", ann.0), Some(&ann.1))
        .expect_error(404);
    server
        .get(&format!("/api/tables/{code}?s={secret}"), None)
        .expect_error(404);
    let fresh = open_table(&server, "127.0.0.2", &code, str_of(&rotated, "secret"));
    assert_ne!(fresh.0, ann.0);
    let empty = server
        .get(&format!("/api/carts/{}", fresh.0), Some(&fresh.1))
        .expect(200);
    assert_eq!(empty["lines"], json!([]));
}

#[test]
fn a_table_checkout_carries_the_table_and_the_others_follow_it() {
    let server = Server::start_demo();
    let (_, code, secret) = table(&server, "Window 4");
    let cart = open_table(&server, "127.0.0.2", &code, &secret);
    let [noodle, taco] = [1, 2].map(|shop| server.plain_item(shop));
    add(&server, (cart.0, &cart.1), noodle, "Ann");
    add(&server, (cart.0, &cart.1), taco, "Bo");

    // A wrong secret at checkout orders nothing.
    let keeper = server.login(SHOP1, PASSWORD);
    checkout(
        &server,
        json!({ "lines": lines(&[noodle]), "table": code, "table_secret": "nope" }),
    )
    .expect_error(404);
    assert_eq!(board_count(&server, &keeper), 0);

    let done = checkout(
        &server,
        json!({ "cart_id": cart.0, "cart_token": cart.1, "table": code, "table_secret": secret }),
    )
    .expect(201);
    let orders = done["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert!(
        orders.iter().all(|o| o["table_name"] == "Window 4"),
        "{done}"
    );

    // The others at the table see the checkout on the cart and can open it.
    let left = server
        .get(&format!("/api/carts/{}", cart.0), Some(&cart.1))
        .expect(200);
    assert_eq!(left["lines"], json!([]));
    let (id, token) = (
        int_of(&left["checkout"], "id"),
        str_of(&left["checkout"], "token"),
    );
    assert_eq!(id, int_of(&done, "id"));
    let status = server.get(&format!("/c/{id}?t={token}"), None);
    status.assert_status(200);
    assert!(
        status.text().contains("Table Window 4"),
        "{}",
        status.text()
    );
    // Next time the table opens a new cart.
    assert_ne!(open_table(&server, "127.0.0.3", &code, &secret).0, cart.0);

    // The keeper's tickets (board and kitchen display) name the table.
    let tickets = server.get("/shop?fragment=1", Some(&keeper));
    tickets.assert_status(200);
    assert!(
        tickets.text().contains("Table Window 4"),
        "{}",
        tickets.text()
    );
    // So do the stations' views.
    let station = server
        .post(
            "/api/shop/stations",
            Some(&keeper),
            &json!({ "name": "Wok" }),
        )
        .expect(201);
    let station = int_of(&station, "id");
    server
        .call(
            "PUT",
            "/api/shop/stations/routes",
            Some(&keeper),
            Some(&json!({ "item_id": noodle, "station_id": station })),
        )
        .expect(200);
    let view = server
        .get(
            &format!("/api/shop/stations/{station}/orders"),
            Some(&keeper),
        )
        .expect(200);
    assert_eq!(view["orders"][0]["table_name"], "Window 4", "{view}");
    let page = server.get(&format!("/shop/stations/{station}"), Some(&keeper));
    assert!(page.text().contains("Table Window 4"), "{}", page.text());

    // Direct lines with the table's link carry it too.
    let direct = checkout(
        &server,
        json!({ "lines": lines(&[noodle]), "table": code, "table_secret": secret }),
    )
    .expect(201);
    assert_eq!(direct["orders"][0]["table_name"], "Window 4");
}

#[test]
fn promo_codes_apply_per_shop_and_a_refused_one_orders_nothing() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let noodles = server.login(SHOP1, PASSWORD);
    let tacos = server.login(SHOP2, PASSWORD);
    let [noodle, taco] = [1, 2].map(|shop| server.plain_item(shop));
    for (keeper, item, price) in [(&noodles, noodle, 999), (&tacos, taco, 350)] {
        server
            .patch(
                &format!("/api/shop/items/{item}"),
                Some(keeper),
                &json!({ "price_cents": price }),
            )
            .expect(200);
    }
    promo(
        &server,
        &noodles,
        json!({ "code": "HALF", "kind": "percent", "value": 50 }),
    );
    promo(
        &server,
        &tacos,
        json!({ "code": "TWO", "kind": "fixed", "value": 200 }),
    );
    promo(
        &server,
        &noodles,
        json!({ "code": "BIG", "kind": "fixed", "value": 100, "min_subtotal_cents": 5000 }),
    );
    promo(
        &server,
        &noodles,
        json!({ "code": "LATER", "kind": "fixed", "value": 100, "from": "2099-01-01" }),
    );
    promo(
        &server,
        &noodles,
        json!({ "code": "GONE", "kind": "fixed", "value": 100, "until": "2020-01-01" }),
    );

    let done = checkout(
        &server,
        json!({ "lines": lines(&[noodle, taco]), "promo_codes": { "1": "half", "2": "TWO" } }),
    )
    .expect(201);
    let got: Vec<(i64, i64, &str)> = done["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                int_of(o, "discount_cents"),
                int_of(o, "total_cents"),
                str_of(o, "promo_code"),
            )
        })
        .collect();
    // 50 % of 9.99 rounds half down: 4.99 off, 5.00 left; no cent lost.
    assert_eq!(got, [(499, 500, "HALF"), (200, 150, "TWO")]);
    assert_eq!(int_of(&done, "total_cents"), 650);
    let token = str_of(&done, "token");
    let order = int_of(&done["orders"][0], "id");
    let page = server.get(&format!("/o/{order}?t={token}"), None).text();
    assert!(page.contains("Promo code HALF"), "{page}");
    let ticket = server.get("/shop?fragment=1", Some(&noodles)).text();
    assert!(ticket.contains("Promo code HALF"), "{ticket}");

    // Each refusal names the shop and code; nothing is ordered or claimed.
    for (code, reason) in [
        ("BIG", "promo.below_minimum"),
        ("LATER", "promo.not_yet"),
        ("GONE", "promo.expired"),
        ("NOSUCH", "promo.not_found"),
    ] {
        let refused = checkout(
            &server,
            json!({ "lines": lines(&[noodle, taco]), "promo_codes": { "2": "TWO", "1": code } }),
        );
        refused.assert_status(409);
        let body = refused.json();
        assert_eq!(
            (
                body["code"].as_str(),
                body["reason"].as_str(),
                body["shop_id"].as_i64()
            ),
            (Some("checkout.promo_refused"), Some(reason), Some(1)),
            "{body}"
        );
        assert_eq!(body["promo_code"], code);
        assert!(str_of(&body, "error").contains("Noodle"), "{body}");
    }
    assert_eq!(board_count(&server, &noodles), 1);
    assert_eq!(used(&server, &tacos, "TWO"), 1);

    // A cart's checkout takes codes the same way.
    let made = server.post("/api/carts", None, &json!({})).expect(201);
    let cart = (int_of(&made, "id"), str_of(&made, "token").to_string());
    add(&server, (cart.0, &cart.1), taco, "Ann");
    let from_cart = checkout(
        &server,
        json!({ "cart_id": cart.0, "cart_token": cart.1, "promo_codes": { "2": "two" } }),
    )
    .expect(201);
    assert_eq!(int_of(&from_cart["orders"][0], "discount_cents"), 200);
    assert_eq!(used(&server, &tacos, "TWO"), 2);
}

#[test]
fn fifty_concurrent_checkouts_for_five_uses_give_exactly_five_discounts() {
    let server = Server::start_demo();
    server
        .set_venue(&json!({ "max_open_orders_per_device": 100, "max_open_orders_per_shop": 1000 }));
    let noodles = server.login(SHOP1, PASSWORD);
    promo(
        &server,
        &noodles,
        json!({ "code": "LAST", "kind": "fixed", "value": 100, "use_limit": 5 }),
    );
    let item = server.plain_item(1);
    let body = json!({ "lines": lines(&[item]), "promo_codes": { "1": "LAST" } });
    let answers: Vec<common::Response> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..50)
            .map(|_| s.spawn(|| checkout(&server, body.clone())))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut discounted = 0;
    for answer in &answers {
        let body = answer.json();
        if answer.status == 201 {
            assert_eq!(int_of(&body["orders"][0], "discount_cents"), 100);
            discounted += 1;
        } else {
            answer.assert_status(409);
            assert_eq!(body["reason"], "promo.used_up", "{body}");
        }
    }
    assert_eq!(discounted, 5);
    assert_eq!(used(&server, &noodles, "LAST"), 5);
    assert_eq!(board_count(&server, &noodles), 5);
}

/// The venue's clock set to UTC, and minutes after midnight now.
fn utc_minute(server: &Server) -> i64 {
    server.set_venue(&json!({ "time_zone": "", "time_zone_rule": "UTC0" }));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now / 60_000 % 1440
}

#[test]
fn scheduled_orders_stay_off_the_tv_and_the_counts_until_released() {
    let server = Server::start_demo();
    let minute = utc_minute(&server);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let quarter = 15 * 60_000;
    let slot = (now / quarter + 4) * quarter;
    if minute + 75 >= 1440 {
        eprintln!("skipped: a slot an hour ahead is tomorrow in UTC");
        return;
    }
    let noodles = server.login(SHOP1, PASSWORD);
    let item = server.plain_item(1);
    let later = checkout(
        &server,
        json!({ "lines": lines(&[item]), "pickup_at": slot }),
    )
    .expect(201);
    let later_code = str_of(&later["orders"][0], "pickup_code").to_string();
    let tv = server.get("/api/board", None).expect(200);
    let codes = |tv: &Value| -> Vec<String> {
        tv["preparing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| str_of(c, "code").to_string())
            .collect()
    };
    assert!(!codes(&tv).contains(&later_code), "{tv}");
    assert_eq!(common::board(&server, &noodles)["all_day"], json!([]));
    // An order for now shows on both.
    let asap = checkout(&server, json!({ "lines": lines(&[item]) })).expect(201);
    let tv = server.get("/api/board", None).expect(200);
    assert_eq!(codes(&tv), [str_of(&asap["orders"][0], "pickup_code")]);
    let counts = common::board(&server, &noodles)["all_day"].clone();
    assert_eq!(int_of(&counts[0], "qty"), 1, "{counts}");
}

#[test]
fn an_order_for_now_is_refused_outside_the_shops_hours() {
    let server = Server::start_demo();
    let minute = utc_minute(&server);
    let clock = |m: i64| format!("{:02}:{:02}", m % 1440 / 60, m % 60);
    let noodles = server.login(SHOP1, PASSWORD);
    // Open from two hours ahead, for an hour.
    server
        .call(
            "PUT",
            "/api/shop/slots",
            Some(&noodles),
            Some(&json!({ "opens": clock(minute + 120), "closes": clock(minute + 180) })),
        )
        .expect(200);
    let item = server.plain_item(1);
    let refused = checkout(&server, json!({ "lines": lines(&[item]) }));
    refused.assert_status(409);
    assert_eq!(refused.json()["lines"][0]["code"], "shop.outside_hours");
    let placed = server.place(1, &[(item, 1)], &unique_ref());
    placed.assert_status(409);
    let body = placed.json();
    assert_eq!(body["code"], "shop.outside_hours");
    assert!(
        str_of(&body, "error").contains(&clock(minute + 120)),
        "{body}"
    );
}
