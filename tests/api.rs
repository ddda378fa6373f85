//! The JSON API against the real binary: each test starts its own server on
//! a free loopback port with a fresh data directory (see `common`).
//!
//! Covered here: the whole life of orders by two customers at two shops,
//! idempotent placement, every invalid stage move, access across shops and
//! customers, long-poll wake-ups (with measured latency), and bad input.

mod common;

use common::{
    connect, read_response, send_request, unique_ref, Response, Server, OWNER, PASSWORD, SHOP1,
    SHOP2,
};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const STATUSES: [&str; 6] = [
    "placed",
    "accepted",
    "preparing",
    "ready",
    "completed",
    "cancelled",
];
/// The forward path a shop taps through.
const STAGES: [&str; 5] = ["placed", "accepted", "preparing", "ready", "completed"];

/// The long-poll bound we assert (the product asks for < 100 ms; this only
/// has to hold on a slow, busy CI machine).
const LIVE_BOUND: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// Helpers

/// `(item id, price)` of a shop's menu, in menu order.
fn menu_prices(server: &Server, shop_id: i64) -> Vec<(i64, i64)> {
    server
        .menu(shop_id)
        .iter()
        .map(|i| {
            (
                i["id"].as_i64().unwrap(),
                i["price_cents"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A customer-made token (what a phone would keep in local storage).
fn customer_token() -> String {
    format!("customer_{}", unique_ref()).replace('-', "_") + "_0123456789abcdef"
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("'{key}' is not a string in {value}"))
}

fn int_of(value: &Value, key: &str) -> i64 {
    value[key]
        .as_i64()
        .unwrap_or_else(|| panic!("'{key}' is not an integer in {value}"))
}

fn events(order: &Value) -> &Vec<Value> {
    order["events"].as_array().expect("events array")
}

fn board(server: &Server, shop_token: &str) -> Value {
    server.get("/api/shop/orders", Some(shop_token)).expect(200)
}

fn board_ids(board: &Value) -> Vec<i64> {
    board["orders"]
        .as_array()
        .expect("orders array")
        .iter()
        .map(|o| int_of(o, "id"))
        .collect()
}

/// Places an order at `shop_id` (first menu item) and moves it by the shop
/// to `status`; returns `(id, customer token)`.
fn order_in_status(server: &Server, shop_token: &str, shop_id: i64, status: &str) -> (i64, String) {
    let item = menu_prices(server, shop_id)[0].0;
    let (id, token, _) = server.place_ok(shop_id, &[(item, 1)]);
    if status == "cancelled" {
        server
            .move_order(shop_token, id, "cancelled", "set-up for the test")
            .expect(200);
    } else {
        let target = STAGES.iter().position(|s| *s == status).expect("a stage");
        for next in &STAGES[1..=target] {
            server.move_order(shop_token, id, next, "").expect(200);
        }
    }
    assert_eq!(server.order(id, &token)["status"], status);
    (id, token)
}

/// Whether the stage rules let a shop move an order from `from` to `to`.
fn shop_may(from: &str, to: &str) -> bool {
    let next = STAGES
        .iter()
        .position(|s| *s == from)
        .and_then(|i| STAGES.get(i + 1));
    next == Some(&to) || (to == "cancelled" && ["placed", "accepted", "preparing"].contains(&from))
}

/// A GET in a thread: returns when it is answered, with the answer time.
fn spawn_get(
    server: &Server,
    path: String,
    headers: Vec<(String, String)>,
) -> std::thread::JoinHandle<(Instant, Response)> {
    let addr = server.addr;
    std::thread::spawn(move || {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = common::request(addr, "GET", &path, &headers, b"");
        (Instant::now(), response)
    })
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("Authorization".into(), format!("Bearer {token}"))]
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

// ---------------------------------------------------------------------------
// The life of an order

#[test]
fn two_customers_at_two_shops_take_orders_through_every_stage() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let shop2 = server.login(SHOP2, PASSWORD);
    let menu1 = menu_prices(&server, 1);
    let menu2 = menu_prices(&server, 2);

    // Ann gets a token with her first order and orders at the other shop with it.
    let ann_at_1 = server
        .place(1, &[(menu1[0].0, 2), (menu1[6].0, 1)], &unique_ref())
        .expect(201);
    let ann = str_of(&ann_at_1, "token").to_string();
    let ann_at_2 = server
        .place_as(Some(&ann), 2, &[(menu2[0].0, 3)], &unique_ref())
        .expect(201);
    assert_eq!(str_of(&ann_at_2, "token"), ann);
    assert_eq!(
        int_of(&ann_at_1, "total_cents"),
        2 * menu1[0].1 + menu1[6].1
    );
    assert_eq!(int_of(&ann_at_2, "total_cents"), 3 * menu2[0].1);

    // Bob has no token yet: the server hands him one.
    let bob_at_1 = server
        .place(1, &[(menu1[1].0, 1)], &unique_ref())
        .expect(201);
    let bob = str_of(&bob_at_1, "token").to_string();
    assert_ne!(bob, ann);

    for order in [&ann_at_1, &ann_at_2, &bob_at_1] {
        assert_eq!(order["status"], "placed");
        assert_eq!(order["version"], 1);
        let code = str_of(order, "pickup_code");
        assert!(
            !code.is_empty() && code.len() <= 8 && code.chars().all(|c| c.is_ascii_alphanumeric()),
            "pickup code {code:?}"
        );
        let evs = events(order);
        assert_eq!(evs.len(), 1, "{order}");
        assert_eq!(evs[0]["from"], Value::Null);
        assert_eq!(evs[0]["to"], "placed");
        assert!(str_of(&evs[0], "actor").starts_with("customer"), "{order}");
        let items = order["items"].as_array().unwrap();
        let sum: i64 = items.iter().map(|l| int_of(l, "line_total_cents")).sum();
        assert_eq!(sum, int_of(order, "total_cents"));
    }

    // Each shop sees its own orders only.
    let (a1, a2, b1) = (
        int_of(&ann_at_1, "id"),
        int_of(&ann_at_2, "id"),
        int_of(&bob_at_1, "id"),
    );
    let ids1 = board_ids(&board(&server, &shop1));
    let ids2 = board_ids(&board(&server, &shop2));
    assert!(
        ids1.contains(&a1) && ids1.contains(&b1) && !ids1.contains(&a2),
        "{ids1:?}"
    );
    assert_eq!(ids2, vec![a2]);

    // Every stage, for all three orders, interleaved between the shops.
    let walks = [(&shop1, a1, &ann), (&shop2, a2, &ann), (&shop1, b1, &bob)];
    let mut shop_actors = Vec::new();
    for (step, next) in STAGES.iter().enumerate().skip(1) {
        for &(shop, id, customer) in &walks {
            let before = server.order(id, customer);
            let moved = server.move_order(shop, id, next, "").expect(200);
            assert_eq!(moved["status"], *next);
            assert_eq!(int_of(&moved, "version"), int_of(&before, "version") + 1);
            assert_eq!(int_of(&moved, "version"), step as i64 + 1);

            let seen = server.order(id, customer);
            assert_eq!(seen["status"], *next);
            assert_eq!(seen["version"], moved["version"]);
            let evs = events(&seen);
            assert_eq!(evs.len(), step + 1, "one event per change: {seen}");
            let last = evs.last().unwrap();
            assert_eq!(last["from"], STAGES[step - 1]);
            assert_eq!(last["to"], *next);
            let actor = str_of(last, "actor");
            assert!(actor.starts_with("shop"), "actor {actor:?}");
            if step == 1 {
                shop_actors.push(actor.to_string());
            }
            let times: Vec<i64> = evs.iter().map(|e| int_of(e, "at")).collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        }
    }
    // Events name who moved it: the two shops' keepers differ.
    assert_ne!(shop_actors[0], shop_actors[1]);
    assert_eq!(shop_actors[0], shop_actors[2]);

    // Finished orders stay on the board for recall.
    let finished = board(&server, &shop1);
    for order in finished["orders"].as_array().unwrap() {
        if [a1, b1].contains(&int_of(order, "id")) {
            assert_eq!(order["status"], "completed");
        }
    }

    // Cancellations: Bob cancels his own new order; shop 2 cancels Ann's with a reason.
    let bob_again = server
        .place_as(Some(&bob), 1, &[(menu1[2].0, 1)], &unique_ref())
        .expect(201);
    let id = int_of(&bob_again, "id");
    let cancelled = server
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&bob),
            &json!({ "reason": "changed my mind" }),
        )
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["version"], 2);
    let last = events(&cancelled).last().unwrap().clone();
    assert_eq!(
        (last["from"].clone(), last["to"].clone()),
        (json!("placed"), json!("cancelled"))
    );
    assert!(str_of(&last, "actor").starts_with("customer"));

    let ann_again = server
        .place_as(Some(&ann), 2, &[(menu2[1].0, 1)], &unique_ref())
        .expect(201);
    let id = int_of(&ann_again, "id");
    server.move_order(&shop2, id, "accepted", "").expect(200);
    server.move_order(&shop2, id, "preparing", "").expect(200);
    let cancelled = server
        .move_order(&shop2, id, "cancelled", "out of tortillas")
        .expect(200);
    assert_eq!(cancelled["version"], 4);
    let seen = server.order(id, &ann);
    let last = events(&seen).last().unwrap();
    assert_eq!(last["from"], "preparing");
    assert_eq!(last["to"], "cancelled");
    assert_eq!(last["reason"], "out of tortillas");
    assert_eq!(last["actor"], json!(shop_actors[1]));
}

#[test]
fn the_customer_token_works_as_query_bearer_and_cookie() {
    let server = Server::start_demo();
    let (id, token, _) = server.place_ok(3, &[(menu_prices(&server, 3)[0].0, 1)]);
    let path = format!("/api/orders/{id}");
    let by_query = server.get(&format!("{path}?t={token}"), None).expect(200);
    let by_bearer = server.get(&path, Some(&token)).expect(200);
    let cookie = format!("os_t={token}");
    let by_cookie = server
        .request("GET", &path, &[("Cookie", &cookie)], b"")
        .expect(200);
    for order in [&by_query, &by_bearer, &by_cookie] {
        assert_eq!(int_of(order, "id"), id);
        assert_eq!(order["status"], "placed");
    }
    // The placement set the cookie for browsers that keep one.
    let placed = server.place(3, &[(menu_prices(&server, 3)[1].0, 1)], &unique_ref());
    assert_eq!(placed.status, 201);
    let set_cookie = placed.header("set-cookie").unwrap_or("");
    assert!(set_cookie.starts_with("os_t="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
}

// ---------------------------------------------------------------------------
// Idempotent placement

#[test]
fn placing_the_same_client_ref_twice_makes_one_order() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let client_ref = unique_ref();

    let first = server.place(1, &[(item, 2)], &client_ref).expect(201);
    let token = str_of(&first, "token").to_string();
    let again = server
        .place_as(Some(&token), 1, &[(item, 2)], &client_ref)
        .expect(200);
    for key in [
        "id",
        "token",
        "pickup_code",
        "version",
        "total_cents",
        "status",
    ] {
        assert_eq!(first[key], again[key], "{key} differs on replay");
    }
    // The reference alone (no token), with other contents, or under another
    // customer's token is refused: the order and its token stay theirs.
    let stranger = customer_token();
    for (holder, qty) in [(None, 2), (Some(token.as_str()), 5), (Some(&stranger), 2)] {
        let message = server
            .place_as(holder, 1, &[(item, qty)], &client_ref)
            .expect_error(409);
        assert!(message.contains("client_ref"), "{message}");
    }

    let seen = board(&server, &shop1);
    assert_eq!(board_ids(&seen), vec![int_of(&first, "id")]);

    // A double tap from a phone holding its token: one order.
    let mine = token;
    let client_ref = unique_ref();
    let a = server
        .place_as(Some(&mine), 1, &[(item, 1)], &client_ref)
        .expect(201);
    let b = server
        .place_as(Some(&mine), 1, &[(item, 1)], &client_ref)
        .expect(200);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(board_ids(&board(&server, &shop1)).len(), 2);
}

#[test]
fn concurrent_duplicates_make_one_order() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let earlier = server.place(1, &[(item, 1)], &unique_ref()).expect(201);
    let bearer = format!("Bearer {}", str_of(&earlier, "token"));
    let client_ref = unique_ref();
    let body = json!({
        "shop_id": 1, "items": [{ "item_id": item, "qty": 1 }],
        "customer_name": "Double Tap", "note": "", "client_ref": client_ref,
    })
    .to_string();
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let (addr, body, bearer) = (server.addr, body.clone(), bearer.clone());
            std::thread::spawn(move || {
                common::request(
                    addr,
                    "POST",
                    "/api/orders",
                    &[
                        ("Content-Type", "application/json"),
                        ("Authorization", &bearer),
                    ],
                    body.as_bytes(),
                )
            })
        })
        .collect();
    let responses: Vec<Response> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let created = responses.iter().filter(|r| r.status == 201).count();
    let replayed = responses.iter().filter(|r| r.status == 200).count();
    assert_eq!((created, replayed), (1, 11), "{responses:?}");
    let ids: Vec<Value> = responses.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(board_ids(&board(&server, &shop1)).len(), 2);
}

// ---------------------------------------------------------------------------
// Stage rules

#[test]
fn every_invalid_move_is_refused_with_409_naming_the_current_status() {
    let server = Server::start_demo();
    // One loopback address stands for many customers here.
    server.set_venue(&json!({ "max_open_orders_per_device": 50 }));
    let shop1 = server.login(SHOP1, PASSWORD);
    let mut refused = 0;
    for from in STATUSES {
        let (id, token) = order_in_status(&server, &shop1, 1, from);
        for to in STATUSES {
            let before = server.order(id, &token);
            let board_before = board(&server, &shop1)["version"].clone();
            // The shop.
            if !shop_may(from, to) {
                let message = server
                    .move_order(&shop1, id, to, "a reason")
                    .expect_error(409);
                assert!(
                    message.contains(from),
                    "shop {from} -> {to}: message {message:?} does not name {from}"
                );
                refused += 1;
            }
            // The customer can only cancel, and only a placed order.
            if to == "cancelled" && from != "placed" {
                let message = server
                    .post(
                        &format!("/api/orders/{id}/cancel"),
                        Some(&token),
                        &json!({ "reason": "too slow" }),
                    )
                    .expect_error(409);
                assert!(
                    message.contains(from),
                    "customer cancel of {from}: message {message:?}"
                );
                refused += 1;
            }
            // Nothing changed.
            let after = server.order(id, &token);
            assert_eq!(after["status"], from);
            assert_eq!(after["version"], before["version"]);
            assert_eq!(events(&after).len(), events(&before).len());
            assert_eq!(board(&server, &shop1)["version"], board_before);
        }
        // A customer cannot use the shop's endpoint at all.
        server
            .move_order(&token, id, "accepted", "")
            .expect_error(401);
        // Unknown stages are bad input.
        server.move_order(&shop1, id, "eaten", "").expect_error(400);
        assert_eq!(server.order(id, &token)["status"], from);
    }
    // 36 pairs minus the 7 allowed shop moves, plus 5 customer cancels.
    assert_eq!(refused, 36 - 7 + 5);

    // Every allowed move works, each on a fresh order, bumping the version by one.
    for from in STATUSES {
        for to in STATUSES.into_iter().filter(|to| shop_may(from, to)) {
            let (id, token) = order_in_status(&server, &shop1, 1, from);
            let version = int_of(&server.order(id, &token), "version");
            let moved = server.move_order(&shop1, id, to, "because").expect(200);
            assert_eq!(moved["status"], to);
            assert_eq!(int_of(&moved, "version"), version + 1);
        }
    }
    // The customer's one allowed move.
    let (id, token) = order_in_status(&server, &shop1, 1, "placed");
    let cancelled = server
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&token),
            &json!({}),
        )
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    // ... with an empty body, too.
    let (id, token) = order_in_status(&server, &shop1, 1, "placed");
    let cancelled = server
        .call(
            "POST",
            &format!("/api/orders/{id}/cancel"),
            Some(&token),
            None,
        )
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
}

#[test]
fn concurrent_moves_of_one_order_change_it_once() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token) = order_in_status(&server, &shop1, 1, "placed");
    // Staff on several devices tap "accept" at once.
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let (addr, shop1) = (server.addr, shop1.clone());
            std::thread::spawn(move || {
                let body = json!({ "status": "accepted" }).to_string();
                let auth = format!("Bearer {shop1}");
                common::request(
                    addr,
                    "POST",
                    &format!("/api/shop/orders/{id}/status"),
                    &[
                        ("Content-Type", "application/json"),
                        ("Authorization", &auth),
                    ],
                    body.as_bytes(),
                )
            })
        })
        .collect();
    let responses: Vec<Response> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = responses.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{responses:?}");
    for refused in responses.iter().filter(|r| r.status != 200) {
        let message = refused.expect_error(409);
        assert!(message.contains("accepted"), "{message}");
    }
    let order = server.order(id, &token);
    assert_eq!(order["status"], "accepted");
    assert_eq!(order["version"], 2);
    assert_eq!(events(&order).len(), 2);
}

#[test]
fn a_shop_must_give_a_reason_to_cancel() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    for from in ["placed", "accepted", "preparing"] {
        let (id, token) = order_in_status(&server, &shop1, 1, from);
        for reason in ["", "   "] {
            let message = server
                .move_order(&shop1, id, "cancelled", reason)
                .expect_error(400);
            assert!(message.contains("reason"), "{message}");
        }
        let missing = server
            .post(
                &format!("/api/shop/orders/{id}/status"),
                Some(&shop1),
                &json!({ "status": "cancelled" }),
            )
            .expect_error(400);
        assert!(missing.contains("reason"), "{missing}");
        let order = server.order(id, &token);
        assert_eq!(order["status"], from);
        let too_long = "x".repeat(2_000);
        server
            .move_order(&shop1, id, "cancelled", &too_long)
            .expect_error(400);
        assert_eq!(server.order(id, &token)["version"], order["version"]);
    }
}

// ---------------------------------------------------------------------------
// Access

#[test]
fn shops_and_customers_reach_only_their_own_orders() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let shop2 = server.login(SHOP2, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let (a_id, a_token, _) = server.place_ok(1, &[(item, 1)]);
    let (b_id, b_token, _) = server.place_ok(1, &[(item, 2)]);
    let unchanged = |server: &Server| {
        let order = server.order(a_id, &a_token);
        assert_eq!(order["status"], "placed");
        assert_eq!(order["version"], 1);
    };

    // Shop 2 cannot see or move shop 1's order.
    assert!(!board_ids(&board(&server, &shop2)).contains(&a_id));
    for to in ["accepted", "cancelled"] {
        let response = server.move_order(&shop2, a_id, to, "not mine");
        assert!(
            [403, 404].contains(&response.status),
            "shop 2 moving shop 1's order: {} {}",
            response.status,
            response.text()
        );
        response.expect_error(response.status);
    }
    unchanged(&server);

    // Customer B's token on A's order: not found, for reading and cancelling.
    server
        .get(&format!("/api/orders/{a_id}"), Some(&b_token))
        .expect_error(404);
    server
        .get(&format!("/api/orders/{a_id}?t={b_token}"), None)
        .expect_error(404);
    server
        .post(
            &format!("/api/orders/{a_id}/cancel"),
            Some(&b_token),
            &json!({}),
        )
        .expect_error(404);
    // No token, or a made-up one.
    for token in [None, Some("0123456789abcdef0123456789abcdef0123")] {
        let response = server.get(&format!("/api/orders/{a_id}"), token);
        assert!([401, 404].contains(&response.status), "{response:?}");
        response.expect_error(response.status);
        let response = server.post(&format!("/api/orders/{a_id}/cancel"), token, &json!({}));
        assert!([401, 404].contains(&response.status), "{response:?}");
        response.expect_error(response.status);
    }
    // A long-poll with the wrong token is refused at once, not held.
    let started = Instant::now();
    server
        .get(
            &format!("/api/orders/{a_id}?since=1&wait=30"),
            Some(&b_token),
        )
        .expect_error(404);
    assert!(started.elapsed() < Duration::from_secs(15));
    // Order ids that do not exist look the same as other people's.
    server
        .get(&format!("/api/orders/{}", b_id + 1000), Some(&a_token))
        .expect_error(404);
    unchanged(&server);
    // B still reaches B's own order.
    assert_eq!(server.order(b_id, &b_token)["id"], b_id);

    // Shopkeeper endpoints without a login (or with a customer's token): 401.
    let menu_item = format!("/api/shop/items/{item}");
    let move_a = format!("/api/shop/orders/{a_id}/status");
    for token in [
        None,
        Some(a_token.as_str()),
        Some("not-a-session-token-at-all-000000"),
    ] {
        server.get("/api/shop/orders", token).expect_error(401);
        server.get("/api/shop/items", token).expect_error(401);
        server
            .post(&move_a, token, &json!({ "status": "accepted" }))
            .expect_error(401);
        server
            .patch(&menu_item, token, &json!({ "available": false }))
            .expect_error(401);
        server
            .post(
                "/api/shop/items",
                token,
                &json!({ "name": "X", "price_cents": 1 }),
            )
            .expect_error(401);
        server
            .call("DELETE", &menu_item, token, None)
            .expect_error(401);
        server.get("/api/admin/shops", token).expect_error(401);
        server
            .post("/api/admin/shops/2/suspend", token, &json!({}))
            .expect_error(401);
    }
    unchanged(&server);

    // Owner endpoints as a shopkeeper: 403.
    server
        .get("/api/admin/shops", Some(&shop1))
        .expect_error(403);
    for action in ["approve", "suspend"] {
        server
            .post(
                &format!("/api/admin/shops/2/{action}"),
                Some(&shop1),
                &json!({}),
            )
            .expect_error(403);
    }
    assert_eq!(
        server
            .get("/api/shops", None)
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The owner runs no shop: shop endpoints are 403 for them.
    server
        .get("/api/shop/orders", Some(&owner))
        .expect_error(403);
    server
        .move_order(&owner, a_id, "accepted", "")
        .expect_error(403);
    unchanged(&server);
    let shops = server.get("/api/admin/shops", Some(&owner)).expect(200);
    assert_eq!(shops.as_array().unwrap().len(), 3);

    // A shop cannot edit another shop's menu.
    let taco = menu_prices(&server, 2)[0].0;
    server
        .patch(
            &format!("/api/shop/items/{taco}"),
            Some(&shop1),
            &json!({ "available": false }),
        )
        .expect_error(404);
    server
        .call(
            "DELETE",
            &format!("/api/shop/items/{taco}"),
            Some(&shop1),
            None,
        )
        .expect_error(404);
    assert!(server.menu(2).iter().all(|i| i["available"] == true));

    // The session cookie works like the bearer token; logging out ends it.
    let cookie = format!("os_s={shop1}");
    server
        .request("GET", "/api/shop/orders", &[("Cookie", &cookie)], b"")
        .expect(200);
    server
        .call("POST", "/api/auth/logout", Some(&shop1), None)
        .expect(200);
    server
        .get("/api/shop/orders", Some(&shop1))
        .expect_error(401);
    server
        .request("GET", "/api/shop/orders", &[("Cookie", &cookie)], b"")
        .expect_error(401);
    server.get("/api/shop/orders", Some(&shop2)).expect(200);
}

// ---------------------------------------------------------------------------
// Long-poll

#[test]
fn a_waiting_customer_hears_each_move_at_once() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    let mut latencies = Vec::new();
    for (n, next) in STAGES.iter().enumerate().skip(1) {
        let since = n as i64; // the order's version before this move
                              // Alternate the two ways a phone sends its token.
        let (path, headers) = if n % 2 == 0 {
            (
                format!("/api/orders/{id}?since={since}&wait=30&t={token}"),
                vec![],
            )
        } else {
            (
                format!("/api/orders/{id}?since={since}&wait=30"),
                bearer(&token),
            )
        };
        let waiter = spawn_get(&server, path, headers);
        std::thread::sleep(Duration::from_millis(500));
        assert!(!waiter.is_finished(), "answered before anything changed");
        let sent = Instant::now();
        server.move_order(&shop1, id, next, "").expect(200);
        let acknowledged = sent.elapsed();
        let (answered, response) = waiter.join().unwrap();
        let latency = answered.duration_since(sent);
        let order = response.expect(200);
        assert_eq!(order["status"], *next);
        assert_eq!(int_of(&order, "version"), since + 1);
        assert_eq!(events(&order).len() as i64, since + 1);
        println!(
            "customer long-poll -> {next}: answered {latency:?} after the move was sent \
             (the move's own answer took {acknowledged:?})"
        );
        assert!(latency < LIVE_BOUND, "{latency:?} to hear '{next}'");
        latencies.push(latency);
    }
    let max = *latencies.iter().max().unwrap();
    println!(
        "customer long-poll latency: median {:?}, max {max:?} over {} moves",
        median(&mut latencies),
        latencies.len()
    );
}

#[test]
fn a_waiting_shop_hears_new_orders_and_changes_at_once() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let mut latencies = Vec::new();
    let mut version = int_of(&board(&server, &shop1), "version");
    for round in 0..4 {
        let waiter = spawn_get(
            &server,
            format!("/api/shop/orders?since={version}&wait=30"),
            bearer(&shop1),
        );
        std::thread::sleep(Duration::from_millis(500));
        assert!(!waiter.is_finished(), "answered before anything changed");
        let sent = Instant::now();
        let order = server.place(1, &[(item, 1)], &unique_ref()).expect(201);
        let (answered, response) = waiter.join().unwrap();
        let latency = answered.duration_since(sent);
        let seen = response.expect(200);
        assert!(int_of(&seen, "version") > version, "{seen}");
        assert!(board_ids(&seen).contains(&int_of(&order, "id")));
        println!(
            "shop long-poll, new order {round}: answered {latency:?} after the order was sent"
        );
        assert!(latency < LIVE_BOUND, "{latency:?} to hear a new order");
        latencies.push(latency);
        version = int_of(&seen, "version");

        // A customer cancelling wakes the board too.
        let waiter = spawn_get(
            &server,
            format!("/api/shop/orders?since={version}&wait=30"),
            bearer(&shop1),
        );
        std::thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        let id = int_of(&order, "id");
        server
            .post(
                &format!("/api/orders/{id}/cancel"),
                Some(str_of(&order, "token")),
                &json!({}),
            )
            .expect(200);
        let (answered, response) = waiter.join().unwrap();
        let seen = response.expect(200);
        let latency = answered.duration_since(sent);
        assert!(latency < LIVE_BOUND, "{latency:?} to hear a cancellation");
        let cancelled = seen["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| int_of(o, "id") == id)
            .expect("the cancelled order stays on the board");
        assert_eq!(cancelled["status"], "cancelled");
        version = int_of(&seen, "version");
    }
    let max = *latencies.iter().max().unwrap();
    println!(
        "shop long-poll latency: median {:?}, max {max:?}",
        median(&mut latencies)
    );
}

#[test]
fn long_polls_without_a_change_end_after_the_wait_with_the_same_version() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    let shop_version = int_of(&board(&server, &shop1), "version");

    let started = Instant::now();
    let order = server
        .get(&format!("/api/orders/{id}?since=1&wait=1"), Some(&token))
        .expect(200);
    let waited = started.elapsed();
    println!("customer wait=1 without a change answered after {waited:?}");
    assert_eq!(order["version"], 1);
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(15), "{waited:?}");

    let started = Instant::now();
    let seen = server
        .get(
            &format!("/api/shop/orders?since={shop_version}&wait=1"),
            Some(&shop1),
        )
        .expect(200);
    let waited = started.elapsed();
    println!("shop wait=1 without a change answered after {waited:?}");
    assert_eq!(int_of(&seen, "version"), shop_version);
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(15), "{waited:?}");

    // Behind already: answered at once even with a long wait.
    let started = Instant::now();
    server
        .get(&format!("/api/orders/{id}?since=0&wait=30"), Some(&token))
        .expect(200);
    server
        .get("/api/shop/orders?since=0&wait=30", Some(&shop1))
        .expect(200);
    assert!(started.elapsed() < Duration::from_secs(15));

    // Nonsense parameters are bad input, not a hang.
    server
        .get(&format!("/api/orders/{id}?since=abc&wait=1"), Some(&token))
        .expect_error(400);
    server
        .get("/api/shop/orders?since=0&wait=soon", Some(&shop1))
        .expect_error(400);
}

#[test]
fn waiters_hear_only_their_own_orders_and_shop() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let shop2 = server.login(SHOP2, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let (mine, my_token, _) = server.place_ok(1, &[(item, 1)]);
    let (theirs, _, _) = server.place_ok(1, &[(item, 2)]);
    let shop2_version = int_of(&board(&server, &shop2), "version");

    let started = Instant::now();
    let me = spawn_get(
        &server,
        format!("/api/orders/{mine}?since=1&wait=2"),
        bearer(&my_token),
    );
    let other_shop = spawn_get(
        &server,
        format!("/api/shop/orders?since={shop2_version}&wait=2"),
        bearer(&shop2),
    );
    std::thread::sleep(Duration::from_millis(300));
    // Another customer's order moves, and shop 1 gets a new order.
    server
        .move_order(&shop1, theirs, "accepted", "")
        .expect(200);
    server.place_ok(1, &[(item, 3)]);

    let (answered, response) = me.join().unwrap();
    let order = response.expect(200);
    assert_eq!(order["version"], 1, "woken by someone else's order");
    assert!(answered.duration_since(started) >= Duration::from_millis(1_800));
    let (answered, response) = other_shop.join().unwrap();
    let seen = response.expect(200);
    assert_eq!(int_of(&seen, "version"), shop2_version, "woken by shop 1");
    assert!(board_ids(&seen).is_empty(), "{seen}");
    assert!(answered.duration_since(started) >= Duration::from_millis(1_800));
}

#[test]
fn hundreds_of_waiters_all_wake() {
    const CUSTOMERS: usize = 200;
    const SHOPS: usize = 50;
    // All from one address: more than one client's connection cap.
    let server = Server::start_demo_with(&["--max-connections-per-client", "300"], None);
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    let shop_version = int_of(&board(&server, &shop1), "version");

    // Raw sockets: every request sent, none read yet.
    let order_path = format!("/api/orders/{id}?since=1&wait=30");
    let board_path = format!("/api/shop/orders?since={shop_version}&wait=30");
    let customer_auth = format!("Bearer {token}");
    let shop_auth = format!("Bearer {shop1}");
    let mut waiters = Vec::new();
    for n in 0..CUSTOMERS + SHOPS {
        let (path, auth) = if n < CUSTOMERS {
            (&order_path, &customer_auth)
        } else {
            (&board_path, &shop_auth)
        };
        let mut stream = connect(server.addr, common::READ_TIMEOUT).expect("connect a waiter");
        send_request(
            &mut stream,
            server.addr,
            "GET",
            path,
            &[("Authorization", auth)],
            b"",
        )
        .expect("send a waiter's request");
        waiters.push(stream);
    }
    // Let the server park them all, then check none has been answered.
    std::thread::sleep(Duration::from_secs(2));
    for stream in &waiters {
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let peek = stream.peek(&mut byte);
        assert!(
            matches!(&peek, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a waiter was answered before the change: {peek:?}"
        );
        stream.set_nonblocking(false).unwrap();
    }

    let sent = Instant::now();
    server.move_order(&shop1, id, "accepted", "").expect(200);
    for (n, stream) in waiters.iter_mut().enumerate() {
        let response = read_response(stream).expect("a waiter's answer");
        let body = response.expect(200);
        if n < CUSTOMERS {
            assert_eq!(body["status"], "accepted");
            assert_eq!(body["version"], 2);
        } else {
            assert!(int_of(&body, "version") > shop_version);
        }
    }
    let all = sent.elapsed();
    println!(
        "{CUSTOMERS} customer and {SHOPS} shop waiters all answered {all:?} after the move was sent"
    );
    // Far below the 30 s wait: they were woken, not timed out.
    assert!(all < Duration::from_secs(15), "{all:?}");
}

// ---------------------------------------------------------------------------
// Bad input

#[test]
fn oversized_bodies_are_refused_with_413() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let huge_note = "x".repeat(70 * 1024);
    let body = json!({
        "shop_id": 1, "items": [{ "item_id": item, "qty": 1 }],
        "customer_name": "Big", "note": huge_note, "client_ref": unique_ref(),
    })
    .to_string();
    let json_type = ("Content-Type", "application/json");
    server
        .request("POST", "/api/orders", &[json_type], body.as_bytes())
        .expect_error(413);
    // Just over the limit.
    let just_over = vec![b' '; 64 * 1024 + 1];
    server
        .request("POST", "/api/orders", &[json_type], &just_over)
        .expect_error(413);
    // Without a declared length (chunked): refused while reading.
    let mut chunked = Vec::new();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 8 * 1024).as_bytes());
        chunked.extend_from_slice(&[b' '; 8 * 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    server
        .request(
            "POST",
            "/api/orders",
            &[json_type, ("Transfer-Encoding", "chunked")],
            &chunked,
        )
        .expect_error(413);
    // Staff endpoints too.
    let auth = format!("Bearer {shop1}");
    server
        .request(
            "PATCH",
            &format!("/api/shop/items/{item}"),
            &[json_type, ("Authorization", &auth)],
            &just_over,
        )
        .expect_error(413);
    // Nothing was created.
    assert!(board_ids(&board(&server, &shop1)).is_empty());
    // Exactly at the limit is fine.
    let mut at_limit = json!({
        "shop_id": 1, "items": [{ "item_id": item, "qty": 1 }],
        "customer_name": "Max", "note": "", "client_ref": unique_ref(),
    })
    .to_string()
    .into_bytes();
    at_limit.resize(64 * 1024, b' ');
    server
        .request("POST", "/api/orders", &[json_type], &at_limit)
        .expect(201);
}

#[test]
fn malformed_json_is_400_and_changes_nothing() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (first_item, price) = menu_prices(&server, 1)[0];
    let (id, token, _) = server.place_ok(1, &[(first_item, 1)]);
    let json_type = ("Content-Type", "application/json");
    let bodies: [&[u8]; 9] = [
        b"",
        b"{",
        b"{not json}",
        b"[]",
        b"null",
        b"\"an order\"",
        b"{\"shop_id\": \"one\", \"items\": [], \"client_ref\": \"ref-00000001\"}",
        b"{\"shop_id\": 1, \"items\": {\"item_id\": 1}, \"client_ref\": \"ref-00000001\"}",
        b"\xff\xfe\x00garbage",
    ];
    for body in bodies {
        let message = server
            .request("POST", "/api/orders", &[json_type], body)
            .expect_error(400);
        assert!(!message.is_empty());
    }
    let auth = format!("Bearer {shop1}");
    for body in [&b"{"[..], b"[]", b"{\"status\": 3}"] {
        server
            .request(
                "POST",
                &format!("/api/shop/orders/{id}/status"),
                &[json_type, ("Authorization", &auth)],
                body,
            )
            .expect_error(400);
    }
    for body in [
        &b"{"[..],
        b"[]",
        b"{\"available\": \"no\"}",
        b"{\"price_cents\": \"cheap\"}",
        b"{\"price_cents\": -5}",
        b"{\"price_cents\": 1.25}",
    ] {
        server
            .request(
                "PATCH",
                &format!("/api/shop/items/{first_item}"),
                &[json_type, ("Authorization", &auth)],
                body,
            )
            .expect_error(400);
    }
    server
        .request(
            "POST",
            &format!("/api/orders/{id}/cancel?t={token}"),
            &[json_type],
            b"{oops",
        )
        .expect_error(400);
    server
        .request("POST", "/api/auth/login", &[json_type], b"{\"email\": 1}")
        .expect_error(400);
    // Nothing moved.
    assert_eq!(board_ids(&board(&server, &shop1)), vec![id]);
    let order = server.order(id, &token);
    assert_eq!(order["status"], "placed");
    assert_eq!(order["version"], 1);
    let first = &server.menu(1)[0];
    assert_eq!(first["available"], true);
    assert_eq!(int_of(first, "price_cents"), price);
}

#[test]
fn order_contents_are_checked_against_the_menu() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let menu1 = menu_prices(&server, 1);
    let taco = menu_prices(&server, 2)[0].0;
    let item = menu1[0].0;
    let bad: Vec<(&str, u16, Value)> = vec![
        (
            "unknown item",
            400,
            json!([{ "item_id": 999_999, "qty": 1 }]),
        ),
        ("qty 0", 400, json!([{ "item_id": item, "qty": 0 }])),
        ("qty -1", 400, json!([{ "item_id": item, "qty": -1 }])),
        (
            "qty 1000000",
            400,
            json!([{ "item_id": item, "qty": 1_000_000 }]),
        ),
        ("qty 1.5", 400, json!([{ "item_id": item, "qty": 1.5 }])),
        ("qty huge", 400, json!([{ "item_id": item, "qty": 1e30 }])),
        ("qty as text", 400, json!([{ "item_id": item, "qty": "2" }])),
        (
            "another shop's item",
            400,
            json!([{ "item_id": taco, "qty": 1 }]),
        ),
        (
            "mixed shops",
            400,
            json!([{ "item_id": item, "qty": 1 }, { "item_id": taco, "qty": 1 }]),
        ),
        ("no items", 400, json!([])),
        (
            "too many lines",
            400,
            Value::Array(vec![json!({ "item_id": item, "qty": 1 }); 31]),
        ),
        (
            "repeated lines over the limit",
            400,
            json!([{ "item_id": item, "qty": 40 }, { "item_id": item, "qty": 40 }]),
        ),
    ];
    for (what, status, items) in bad {
        let response = server.post(
            "/api/orders",
            None,
            &json!({
                "shop_id": 1, "items": items, "customer_name": "Eve",
                "note": "", "client_ref": unique_ref(),
            }),
        );
        assert_eq!(response.status, status, "{what}: {}", response.text());
        response.expect_error(status);
    }
    let fields: Vec<(&str, Value)> = vec![
        ("no name", json!({ "customer_name": "  " })),
        ("short client_ref", json!({ "client_ref": "abc" })),
        (
            "odd client_ref",
            json!({ "client_ref": "has spaces in it!" }),
        ),
        ("long note", json!({ "note": "n".repeat(5_000) })),
        ("long name", json!({ "customer_name": "n".repeat(500) })),
    ];
    for (what, patch) in fields {
        let mut body = json!({
            "shop_id": 1, "items": [{ "item_id": item, "qty": 1 }],
            "customer_name": "Eve", "note": "", "client_ref": unique_ref(),
        });
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = server.post("/api/orders", None, &body);
        assert_eq!(response.status, 400, "{what}: {}", response.text());
        response.expect_error(400);
    }
    // An unknown shop is not found.
    let message = server
        .place(999, &[(item, 1)], &unique_ref())
        .expect_error(404);
    assert!(message.contains("shop"), "{message}");
    server.get("/api/shops/999/menu", None).expect_error(404);
    // Nothing was created.
    assert!(board_ids(&board(&server, &shop1)).is_empty());
    assert_eq!(board(&server, &shop1)["version"], 0);
}

#[test]
fn prices_and_totals_from_the_client_are_ignored() {
    let server = Server::start_demo();
    let menu = menu_prices(&server, 1);
    let ((a, price_a), (b, price_b)) = (menu[0], menu[3]);
    let order = server
        .post(
            "/api/orders",
            None,
            &json!({
                "shop_id": 1,
                "items": [
                    { "item_id": a, "qty": 2, "price_cents": 1, "unit_price_cents": 1, "line_total_cents": 2 },
                    { "item_id": b, "qty": 1, "price_cents": 0 },
                ],
                "customer_name": "Mallory", "note": "cheap please",
                "client_ref": unique_ref(),
                "total_cents": 1, "price_cents": 1, "discount_cents": 100_000,
                "status": "completed", "version": 99,
            }),
        )
        .expect(201);
    assert_eq!(int_of(&order, "total_cents"), 2 * price_a + price_b);
    assert_eq!(order["status"], "placed");
    assert_eq!(order["version"], 1);
    let lines = order["items"].as_array().unwrap();
    let line_a = lines.iter().find(|l| int_of(l, "item_id") == a).unwrap();
    assert_eq!(int_of(line_a, "unit_price_cents"), price_a);
    assert_eq!(int_of(line_a, "line_total_cents"), 2 * price_a);
    // The stored order agrees.
    let stored = server.order(int_of(&order, "id"), str_of(&order, "token"));
    assert_eq!(stored["total_cents"], order["total_cents"]);

    // Lines are snapshots: renaming and repricing the item later changes
    // new orders only.
    let shop1 = server.login(SHOP1, PASSWORD);
    let old_name = str_of(line_a, "name").to_string();
    server
        .patch(
            &format!("/api/shop/items/{a}"),
            Some(&shop1),
            &json!({ "name": "Renamed soup", "price_cents": price_a + 100 }),
        )
        .expect(200);
    let stored = server.order(int_of(&order, "id"), str_of(&order, "token"));
    assert_eq!(stored["total_cents"], order["total_cents"]);
    let line = stored["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| int_of(l, "item_id") == a)
        .unwrap();
    assert_eq!(line["name"], json!(old_name));
    assert_eq!(int_of(line, "unit_price_cents"), price_a);
    let newer = server.place(1, &[(a, 1)], &unique_ref()).expect(201);
    assert_eq!(int_of(&newer, "total_cents"), price_a + 100);
    assert_eq!(newer["items"][0]["name"], "Renamed soup");
}

#[test]
fn sold_out_items_are_refused_until_available_again() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (item, _) = menu_prices(&server, 1)[2];
    let other = menu_prices(&server, 1)[3].0;
    let updated = server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop1),
            &json!({ "available": false }),
        )
        .expect(200);
    assert_eq!(updated["available"], false);
    let listed = server.menu(1);
    let entry = listed.iter().find(|i| int_of(i, "id") == item).unwrap();
    assert_eq!(entry["available"], false);

    let message = server
        .place(1, &[(item, 1)], &unique_ref())
        .expect_error(409);
    assert!(!message.is_empty());
    // One sold-out line refuses the whole order.
    server
        .place(1, &[(other, 1), (item, 1)], &unique_ref())
        .expect_error(409);
    assert!(board_ids(&board(&server, &shop1)).is_empty());

    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop1),
            &json!({ "available": true }),
        )
        .expect(200);
    server.place_ok(1, &[(item, 1)]);

    // A deleted item cannot be ordered either.
    server
        .call(
            "DELETE",
            &format!("/api/shop/items/{other}"),
            Some(&shop1),
            None,
        )
        .expect(204);
    let response = server.place(1, &[(other, 1)], &unique_ref());
    assert!([400, 404, 409].contains(&response.status), "{response:?}");
    response.expect_error(response.status);
}

#[test]
fn a_new_shop_is_hidden_until_the_owner_approves_it() {
    let server = Server::start_demo();
    let owner = server.login(OWNER, PASSWORD);
    let registered = server
        .post(
            "/api/auth/register",
            None,
            &json!({
                "email": "new-stall@example.org", "password": "a long password",
                "name": "Nia", "shop_name": "Pop-up Pies",
            }),
        )
        .expect(201);
    let keeper = str_of(&registered, "token").to_string();
    assert_eq!(registered["shop_status"], "pending");
    // The keeper can build a menu while waiting.
    let pie = server
        .post(
            "/api/shop/items",
            Some(&keeper),
            &json!({ "name": "Apple pie", "price_cents": 450 }),
        )
        .expect(201);
    let shop_id = int_of(&pie, "shop_id");
    let pie_id = int_of(&pie, "id");

    let listed = |server: &Server| -> Vec<i64> {
        let mut ids: Vec<i64> = server
            .get("/api/shops", None)
            .expect(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|s| int_of(s, "id"))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(listed(&server), vec![1, 2, 3]);
    server
        .get(&format!("/api/shops/{shop_id}/menu"), None)
        .expect_error(404);
    server
        .place(shop_id, &[(pie_id, 1)], &unique_ref())
        .expect_error(404);
    // Registering the same email again is refused.
    let again = server.post(
        "/api/auth/register",
        None,
        &json!({
            "email": "NEW-STALL@example.org", "password": "another long one",
            "name": "Nia", "shop_name": "Second",
        }),
    );
    again.expect_error(409);
    // A weak password and a missing shop name are bad input.
    server
        .post(
            "/api/auth/register",
            None,
            &json!({ "email": "x@example.org", "password": "short", "name": "X", "shop_name": "Y" }),
        )
        .expect_error(400);

    // Only the owner approves.
    server
        .post(
            &format!("/api/admin/shops/{shop_id}/approve"),
            Some(&keeper),
            &json!({}),
        )
        .expect_error(403);
    let all = server.get("/api/admin/shops", Some(&owner)).expect(200);
    let mine = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| int_of(s, "id") == shop_id)
        .expect("the owner sees the pending shop");
    assert_eq!(mine["status"], "pending");
    server
        .post("/api/admin/shops/9999/approve", Some(&owner), &json!({}))
        .expect_error(404);
    let approved = server
        .post(
            &format!("/api/admin/shops/{shop_id}/approve"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    assert_eq!(approved["status"], "approved");
    assert_eq!(listed(&server), vec![1, 2, 3, shop_id]);
    let order = server
        .place(shop_id, &[(pie_id, 2)], &unique_ref())
        .expect(201);
    assert_eq!(order["total_cents"], 900);
    let board = board(&server, &keeper);
    assert_eq!(board_ids(&board), vec![int_of(&order, "id")]);

    // Suspended: gone from the list and not orderable.
    server
        .post(
            &format!("/api/admin/shops/{shop_id}/suspend"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    assert_eq!(listed(&server), vec![1, 2, 3]);
    server
        .place(shop_id, &[(pie_id, 1)], &unique_ref())
        .expect_error(404);
}

#[test]
fn wrong_passwords_get_401_then_429() {
    let server = Server::start_demo();
    // Ten failures per address are allowed in a burst (a slow machine may
    // earn one or two more while refilling), then 429.
    let mut failures = 0;
    loop {
        // Unknown accounts count the same as wrong passwords.
        let email = if failures % 2 == 0 {
            SHOP1
        } else {
            "nobody@demo.local"
        };
        let response = server.post(
            "/api/auth/login",
            None,
            &json!({ "email": email, "password": format!("guess {failures}") }),
        );
        if response.status == 429 {
            response.expect_error(429);
            break;
        }
        response.expect_error(401);
        failures += 1;
        assert!(failures <= 15, "no 429 after {failures} failed logins");
    }
    assert!(failures >= 10, "429 after only {failures} failed logins");
    // While locked out even the right password is refused: otherwise the
    // lock would not slow down guessing at all.
    server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": SHOP1, "password": PASSWORD }),
        )
        .expect_error(429);
    // Ordering is not affected.
    server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
}

#[test]
fn unknown_accounts_get_the_same_401_as_wrong_passwords() {
    let server = Server::start_demo();
    let wrong = server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": SHOP1, "password": "not it at all" }),
        )
        .expect_error(401);
    let unknown = server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": "ghost@demo.local", "password": "not it at all" }),
        )
        .expect_error(401);
    assert_eq!(
        wrong, unknown,
        "the message must not tell which accounts exist"
    );
    let ok = server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": "SHOP1@Demo.Local", "password": PASSWORD }),
        )
        .expect(200);
    assert_eq!(ok["role"], "shopkeeper");
}

#[test]
fn order_placement_is_rate_limited_per_client() {
    let server = Server::start_demo();
    let item = menu_prices(&server, 1)[0].0;
    let mut placed = 0;
    let limited = loop {
        let response = server.place(1, &[(item, 1)], &unique_ref());
        if response.status == 429 {
            break response;
        }
        let order = response.expect(201);
        // Cancelled at once, so the limit of open orders per device stays out of the way.
        server
            .post(
                &format!("/api/orders/{}/cancel", int_of(&order, "id")),
                Some(str_of(&order, "token")),
                &json!({}),
            )
            .expect(200);
        placed += 1;
        assert!(placed <= 80, "no 429 after {placed} orders");
    };
    limited.expect_error(429);
    assert!(placed >= 60, "429 after only {placed} orders");
}

#[test]
fn cross_site_posts_are_refused() {
    let server = Server::start_demo();
    let item = menu_prices(&server, 1)[0].0;
    let body = json!({
        "shop_id": 1, "items": [{ "item_id": item, "qty": 1 }],
        "customer_name": "Csrf", "note": "", "client_ref": unique_ref(),
    })
    .to_string();
    let json_type = ("Content-Type", "application/json");
    for origin in [
        "http://evil.example",
        "null",
        "https://127.0.0.1.evil.example",
    ] {
        server
            .request(
                "POST",
                "/api/orders",
                &[json_type, ("Origin", origin)],
                body.as_bytes(),
            )
            .expect_error(403);
    }
    let login = json!({ "email": SHOP1, "password": PASSWORD }).to_string();
    server
        .request(
            "POST",
            "/api/auth/login",
            &[json_type, ("Origin", "http://evil.example")],
            login.as_bytes(),
        )
        .expect_error(403);
    // Our own pages' origin is fine.
    let own = server.base_url();
    server
        .request(
            "POST",
            "/api/orders",
            &[json_type, ("Origin", &own)],
            body.as_bytes(),
        )
        .expect(201);
}

#[test]
fn unknown_routes_and_ids_answer_json_errors() {
    let server = Server::start_demo();
    for (method, path, status) in [
        ("GET", "/api/nothing-here", 404),
        ("GET", "/api/orders/abc", 404),
        ("GET", "/api/orders/0", 404),
        ("GET", "/api/orders/-5", 404),
        ("GET", "/api/orders/99999999999999999999999", 404),
        ("GET", "/api/shops/abc/menu", 404),
        ("PUT", "/api/orders", 404),
        ("DELETE", "/api/shops", 404),
    ] {
        let response = server.request(method, path, &[], b"");
        assert!(
            [status, 405].contains(&response.status),
            "{method} {path}: {response:?}"
        );
        response.expect_error(response.status);
    }
}

#[test]
fn slow_clients_are_cut_off_without_hurting_others() {
    let server = Server::start_demo();
    // Connected, then silence.
    let mut idle = connect(server.addr, Duration::from_secs(60)).unwrap();
    // Half a request line, then silence.
    let mut slow_head = connect(server.addr, Duration::from_secs(60)).unwrap();
    slow_head.write_all(b"GET /api/sho").unwrap();
    // Complete headers, then a body that never arrives.
    let mut slow_body = connect(server.addr, Duration::from_secs(60)).unwrap();
    slow_body
        .write_all(
            format!(
                "POST /api/orders HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Content-Length: 200\r\n\r\n{{\"shop_id\": 1",
                server.addr
            )
            .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();

    // Meanwhile everyone else is served normally.
    for _ in 0..5 {
        let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
        server.order(id, &token);
        std::thread::sleep(Duration::from_millis(200));
    }

    // The half request line: the connection is closed (maybe with a 408).
    let mut rest = Vec::new();
    let result = slow_head.read_to_end(&mut rest);
    let cut = started.elapsed();
    println!(
        "half a request line: disconnected after {cut:?} ({result:?}, {:?})",
        String::from_utf8_lossy(&rest)
    );
    match result {
        Ok(_) => {}
        Err(e) => assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset,
            "not disconnected: {e}"
        ),
    }
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 408") || rest.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(cut < Duration::from_secs(25), "{cut:?}");

    // The idle connection is closed the same way.
    let mut rest = Vec::new();
    let result = idle.read_to_end(&mut rest);
    let cut = started.elapsed();
    println!("idle connection: disconnected after {cut:?} ({result:?})");
    assert!(
        result.is_ok()
            || matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "not disconnected: {result:?}"
    );
    assert!(cut < Duration::from_secs(25), "{cut:?}");

    // The stalled body: an error answer or a closed connection.
    let answer = read_response(&mut slow_body);
    let cut = started.elapsed();
    println!("stalled body: cut off after {cut:?}");
    if let Ok(response) = answer {
        assert!([400, 408].contains(&response.status), "{response:?}");
        response.expect_error(response.status);
    }
    assert!(cut < Duration::from_secs(25), "{cut:?}");
    // Still serving.
    server.get("/api/shops", None).expect(200);
}
