//! The counter's undo and its breather: a recalled order goes back a stage
//! and its customer's page follows; a paused shop refuses orders and
//! reopens by itself at the time it named.

mod common;

use common::{Server, PASSWORD, SHOP1};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn orderable(server: &Server) -> i64 {
    server
        .menu(1)
        .iter()
        .find(|i| {
            i["available"] == true
                && i["option_groups"]
                    .as_array()
                    .is_some_and(|g| g.iter().all(|g| g["min"] == 0))
        })
        .and_then(|i| i["id"].as_i64())
        .expect("an item ordered without options")
}

fn recall(server: &Server, token: &str, order: i64) -> common::Response {
    server.post(
        &format!("/api/shop/orders/{order}/recall"),
        Some(token),
        &json!({}),
    )
}

#[test]
fn a_recalled_order_goes_back_and_its_customer_page_follows() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    let item = orderable(&server);
    let (order, customer, _) = server.place_ok(1, &[(item, 1)]);
    for stage in ["accepted", "preparing", "ready"] {
        server
            .move_order(&keeper, order, stage, "")
            .assert_status(200);
    }
    let ready = server.order(order, &customer);
    let version = ready["version"].as_i64().unwrap();
    let waiting = server.get_in_background(
        &format!("/api/orders/{order}?since={version}&wait=30"),
        Some(&customer),
    );
    waiting.wait_until_taken();
    let back = recall(&server, &keeper, order).expect(200);
    assert_eq!(back["status"], "preparing");
    let (_, seen) = waiting.join();
    let seen = seen.expect(200);
    assert_eq!(seen["status"], "preparing");
    let event = seen["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&event["from"], &event["to"], &event["reason"]),
        (&json!("ready"), &json!("preparing"), &json!("recalled"))
    );

    // A mistaken "handed over" comes back to ready.
    for stage in ["ready", "completed"] {
        server
            .move_order(&keeper, order, stage, "")
            .assert_status(200);
    }
    assert_eq!(
        recall(&server, &keeper, order).expect(200)["status"],
        "ready"
    );

    // A cancelled order returns to the stage it had.
    let (second, _, _) = server.place_ok(1, &[(item, 1)]);
    server
        .move_order(&keeper, second, "accepted", "")
        .assert_status(200);
    server
        .move_order(&keeper, second, "cancelled", "Sold out")
        .assert_status(200);
    assert_eq!(
        recall(&server, &keeper, second).expect(200)["status"],
        "accepted"
    );

    // Nothing before placed; a customer's own cancel stays; another shop
    // cannot reach the order.
    let (third, third_token, _) = server.place_ok(1, &[(item, 1)]);
    let nothing = recall(&server, &keeper, third);
    nothing.assert_status(409);
    server
        .post(
            &format!("/api/orders/{third}/cancel"),
            Some(&third_token),
            &json!({}),
        )
        .assert_status(200);
    recall(&server, &keeper, third).assert_status(409);
    let other = server.login(common::SHOP2, PASSWORD);
    recall(&server, &other, order).assert_status(404);
}

/// The venue's clock (UTC here) `minutes` from now, as "HH:MM".
fn utc_clock_in(minutes: u64) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + minutes * 60;
    format!("{:02}:{:02}", secs / 3600 % 24, secs / 60 % 60)
}

fn place(server: &Server, item: i64) -> common::Response {
    server.place(1, &[(item, 1)], &common::unique_ref())
}

#[test]
fn a_paused_shop_refuses_orders_and_reopens_at_its_time() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "time_zone": "UTC", "max_open_orders_per_device": 100 }));
    let keeper = server.login(SHOP1, PASSWORD);
    let item = orderable(&server);

    // Minutes, then resumed at once.
    let paused = server
        .post("/api/shop/pause", Some(&keeper), &json!({ "until": 30 }))
        .expect(200);
    assert!(paused["paused_until"].as_i64().unwrap() % 60_000 == 0);
    assert_eq!(place(&server, item).json()["code"], "shop.paused");
    server
        .post("/api/shop/pause", Some(&keeper), &json!({ "until": null }))
        .expect(200);
    place(&server, item).assert_status(201);
    for bad in [json!(0), json!(721), json!("25:00"), json!("soon")] {
        server
            .post("/api/shop/pause", Some(&keeper), &json!({ "until": bad }))
            .assert_status(400);
    }

    // Until the next minute of the venue's clock (not in its last seconds,
    // so the pause is still on when the order below is tried).
    while SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60
        > 50
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    let until = utc_clock_in(1);
    server
        .post("/api/shop/pause", Some(&keeper), &json!({ "until": until }))
        .expect(200);
    let refused = place(&server, item);
    refused.assert_status(409);
    let message = refused.json()["error"].as_str().unwrap().to_string();
    assert!(message.contains(&format!("until {until}")), "{message}");
    let menu = server.get("/api/shops/1/menu", None).expect(200);
    assert!(menu["shop"]["paused_until"].is_i64(), "{}", menu["shop"]);
    let page = server.get("/shops/1", None).text();
    assert!(
        page.contains(&format!("not taking orders until {until}")),
        "{page}"
    );
    let cart = server.get(&format!("/cart?shop=1&q{item}=1"), None).text();
    assert!(
        cart.contains(&format!("not taking orders until {until}")),
        "{cart}"
    );

    // The open menu learns of the reopening by itself.
    let version = menu["version"].as_i64().unwrap();
    let reopened: Value = server
        .get(&format!("/api/shops/1/menu?since={version}&wait=60"), None)
        .expect(200);
    assert!(reopened["version"].as_i64().unwrap() > version);
    assert_eq!(reopened["shop"]["paused_until"], Value::Null);
    place(&server, item).assert_status(201);
    let page = server.get("/shops/1", None).text();
    assert!(!page.contains("not taking orders"), "{page}");
}
