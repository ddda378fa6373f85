//! One cart across shops and its checkout over HTTP: three shops in one
//! checkout living on their own, an atomic refusal naming every faulty
//! line, `client_ref` replays, a cart change reaching a second phone's
//! long-poll, cart bounds, and estimates moving with the queue.

mod common;

use common::{int_of, str_of, unique_ref, Server, LIVE_BOUND, PASSWORD, SHOP1, SHOP2};
use serde_json::{json, Value};
use std::time::Instant;

fn checkout(
    server: &Server,
    token: Option<&str>,
    lines: &[i64],
    client_ref: &str,
) -> common::Response {
    let lines: Vec<Value> = lines
        .iter()
        .map(|&id| json!({ "item_id": id, "qty": 1 }))
        .collect();
    server.post(
        "/api/checkouts",
        token,
        &json!({ "lines": lines, "customer_name": "Ann", "note": "", "client_ref": client_ref }),
    )
}

fn orders_count(server: &Server, shop_email: &str) -> usize {
    let keeper = server.login(shop_email, PASSWORD);
    common::board(server, &keeper)["orders"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn a_three_shop_checkout_goes_on_when_one_shop_cancels() {
    let server = Server::start_demo();
    let items = [1, 2, 3].map(|shop| server.plain_item(shop));
    let done = checkout(&server, None, &items, &unique_ref()).expect(201);
    let token = str_of(&done, "token").to_string();
    let orders = done["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 3);
    let codes: Vec<&str> = orders.iter().map(|o| str_of(o, "pickup_code")).collect();
    assert!(codes.iter().all(|c| c.len() >= 3), "{codes:?}");
    assert!(orders.iter().all(|o| o["eta"].is_i64()), "{orders:?}");
    let id_at = |shop: i64| {
        orders
            .iter()
            .find(|o| o["shop_id"] == shop)
            .map(|o| int_of(o, "id"))
            .unwrap()
    };
    let taco = server.login(SHOP2, PASSWORD);
    server
        .move_order(&taco, id_at(2), "cancelled", "out of tortillas")
        .expect(200);
    let noodles = server.login(SHOP1, PASSWORD);
    for stage in ["accepted", "preparing", "ready"] {
        server.move_order(&noodles, id_at(1), stage, "").expect(200);
    }
    let id = int_of(&done, "id");
    let now = server
        .get(&format!("/api/checkouts/{id}"), Some(&token))
        .expect(200);
    let status = |shop: i64| {
        now["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["shop_id"] == shop)
            .map(|o| str_of(o, "status").to_string())
            .unwrap()
    };
    assert_eq!(
        [status(1), status(2), status(3)],
        ["ready", "cancelled", "placed"]
    );
    assert_eq!((int_of(&now, "ready"), int_of(&now, "active")), (1, 2));
    // The status page names each order and works without JavaScript.
    let page = server.get(&format!("/c/{id}?t={token}"), None);
    page.assert_status(200);
    let text = page.text();
    assert!(text.contains("1 of 2 ready"), "{text}");
    for code in &codes {
        assert!(text.contains(code), "{code} missing");
    }
    // Nobody else sees it.
    server
        .get(&format!("/api/checkouts/{id}"), Some(&"f".repeat(64)))
        .expect_error(404);
}

#[test]
fn a_refused_checkout_names_every_faulty_line_and_orders_nothing() {
    let server = Server::start_demo();
    let items = [1, 2, 3].map(|shop| server.plain_item(shop));
    let noodles = server.login(SHOP1, PASSWORD);
    server
        .patch(
            &format!("/api/shop/items/{}", items[0]),
            Some(&noodles),
            &json!({ "available": false }),
        )
        .expect(200);
    let taco = server.login(SHOP2, PASSWORD);
    server
        .patch(
            &format!("/api/shop/items/{}", items[1]),
            Some(&taco),
            &json!({ "available": false }),
        )
        .expect(200);
    let refused = checkout(&server, None, &items, &unique_ref());
    refused.assert_status(409);
    let body = refused.json();
    assert_eq!(body["code"], "checkout.refused");
    let named: Vec<(i64, &str)> = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (int_of(l, "line"), str_of(l, "code")))
        .collect();
    assert_eq!(named, [(0, "item.sold_out"), (1, "item.sold_out")]);
    assert_eq!(
        orders_count(&server, common::SHOP3),
        0,
        "the good shop got an order"
    );
}

#[test]
fn a_replayed_client_ref_answers_the_first_checkout() {
    let server = Server::start_demo();
    let items = [1, 3].map(|shop| server.plain_item(shop));
    let client_ref = unique_ref();
    let first = checkout(&server, None, &items, &client_ref).expect(201);
    let token = str_of(&first, "token");
    let again = checkout(&server, Some(token), &items, &client_ref).expect(200);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["orders"], first["orders"]);
    checkout(&server, None, &items, &client_ref).expect_error(409);
    assert_eq!(orders_count(&server, SHOP1), 1);
}

#[test]
fn a_cart_change_reaches_the_other_phone_within_a_second() {
    let server = Server::start_demo();
    let made = server.post("/api/carts", None, &json!({})).expect(201);
    let (id, token) = (int_of(&made, "id"), str_of(&made, "token").to_string());
    let item = server.plain_item(1);
    let cart = server
        .get(&format!("/api/carts/{id}"), Some(&token))
        .expect(200);
    let version = int_of(&cart, "version");
    let waiting = server.get_in_background(
        &format!("/api/carts/{id}?since={version}&wait=30"),
        Some(&token),
    );
    waiting.wait_until_taken();
    let added = Instant::now();
    let after = server
        .post(
            &format!("/api/carts/{id}/lines"),
            Some(&token),
            &json!({ "item_id": item, "qty": 2, "added_by": "Bo" }),
        )
        .expect(201);
    let (answered, response) = waiting.join();
    assert!(answered.duration_since(added) < LIVE_BOUND, "too late");
    let seen = response.json();
    assert_eq!(seen["lines"][0]["added_by"], "Bo");
    assert_eq!(seen["version"], after["version"]);
    assert!(int_of(&seen, "total_cents") > 0);
    // Without its token the cart is not there; and a checkout empties it.
    server
        .get(&format!("/api/carts/{id}"), Some(&"f".repeat(64)))
        .expect_error(404);
    let done = server
        .post(
            "/api/checkouts",
            None,
            &json!({ "cart_id": id, "cart_token": token, "customer_name": "Ann", "client_ref": unique_ref() }),
        )
        .expect(201);
    assert_eq!(done["orders"][0]["items"][0]["qty"], 2);
    let emptied = server
        .get(&format!("/api/carts/{id}"), Some(&token))
        .expect(200);
    assert_eq!(emptied["lines"], json!([]));
}

#[test]
fn carts_are_bounded_per_client_and_per_cart() {
    let server = Server::start_demo();
    let mut carts = Vec::new();
    for _ in 0..8 {
        carts.push(server.post("/api/carts", None, &json!({})).expect(201));
    }
    let refused = server.post("/api/carts", None, &json!({}));
    refused.assert_status(429);
    assert_eq!(refused.json()["code"], "cart.too_many");
    let (id, token) = (int_of(&carts[0], "id"), str_of(&carts[0], "token"));
    let item = server.plain_item(1);
    for n in 0..30 {
        server
            .post(
                &format!("/api/carts/{id}/lines"),
                Some(token),
                &json!({ "item_id": item, "note": format!("n{n}") }),
            )
            .expect(201);
    }
    let full = server.post(
        &format!("/api/carts/{id}/lines"),
        Some(token),
        &json!({ "item_id": item, "note": "one more" }),
    );
    full.assert_status(409);
    assert_eq!(full.json()["code"], "cart.too_many_lines");
    let bad = server.post(
        &format!("/api/carts/{id}/lines"),
        Some(token),
        &json!({ "item_id": item, "qty": 51 }),
    );
    bad.assert_status(400);
}

#[test]
fn an_estimate_comes_forward_as_the_queue_moves() {
    let server = Server::start_demo();
    let item = server.plain_item(1);
    let noodles = server.login(SHOP1, PASSWORD);
    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&noodles),
            &json!({ "prep_minutes": 30 }),
        )
        .expect(200);
    let first = checkout(&server, None, &[item], &unique_ref()).expect(201);
    let second = checkout(&server, None, &[item], &unique_ref()).expect(201);
    let id = int_of(&second, "id");
    let token = str_of(&second, "token");
    let eta = |checkout: &Value| int_of(&checkout["orders"][0], "eta");
    let before = eta(&second);
    let version = int_of(&second, "version");
    let waiting = server.get_in_background(
        &format!("/api/checkouts/{id}?since={version}&wait=30"),
        Some(token),
    );
    waiting.wait_until_taken();
    server
        .move_order(
            &noodles,
            int_of(&first["orders"][0], "id"),
            "cancelled",
            "no noodles",
        )
        .expect(200);
    let (_, moved) = waiting.join();
    let after = eta(&moved.json());
    // The order ahead took 30 minutes of a kitchen doing two at once.
    assert!(before - after >= 14 * 60_000, "{before} -> {after}");
}
