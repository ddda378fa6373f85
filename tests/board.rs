//! The now-serving board (`GET /api/board`, `/board`) and what the kitchen
//! display adds to a shop's orders: long-polls wake on stage changes, the
//! shop filter, ready codes leaving, no customer names, all-day counts.

mod common;

use common::{
    int_of, menu_prices, order_in_status, str_of, Pending, Server, LIVE_BOUND, PASSWORD, SHOP1,
    SHOP2,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn now_serving(server: &Server, query: &str) -> Value {
    server.get(&format!("/api/board{query}"), None).expect(200)
}

fn codes(board: &Value, column: &str) -> Vec<String> {
    board[column]
        .as_array()
        .unwrap_or_else(|| panic!("no {column} in {board}"))
        .iter()
        .map(|c| str_of(c, "code").to_string())
        .collect()
}

fn code_of(server: &Server, id: i64, token: &str) -> String {
    str_of(&server.order(id, token), "pickup_code").to_string()
}

/// Proves the server holds `waiter` (see tests/longpoll.rs).
fn assert_held(waiter: &Pending) {
    waiter.wait_until_taken();
    std::thread::sleep(Duration::from_millis(150));
    assert!(!waiter.is_answered(), "answered before anything changed");
}

#[test]
fn a_held_board_wakes_when_an_order_moves_and_names_no_customer() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 50 }));
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token) = order_in_status(&server, &shop1, 1, "preparing");
    let code = code_of(&server, id, &token);
    let board = now_serving(&server, "");
    assert!(codes(&board, "preparing").contains(&code), "{board}");
    assert!(!board.to_string().contains("Test Customer"), "{board}");
    let version = int_of(&board, "version");
    let waiter = server.get_in_background(&format!("/api/board?since={version}&wait=30"), None);
    assert_held(&waiter);
    let sent = Instant::now();
    server.move_order(&shop1, id, "ready", "").expect(200);
    let (answered, response) = waiter.join();
    assert!(answered.duration_since(sent) < LIVE_BOUND);
    let seen = response.expect(200);
    assert!(int_of(&seen, "version") > version);
    assert_eq!(codes(&seen, "ready"), std::slice::from_ref(&code));
    assert!(!codes(&seen, "preparing").contains(&code));
    // The TV page shows the code and no name either.
    let page = server.get("/board", None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&code));
    assert!(!page.text().contains("Test Customer"));
    // Collected: it leaves at once.
    server.move_order(&shop1, id, "completed", "").expect(200);
    assert!(codes(&now_serving(&server, ""), "ready").is_empty());
}

#[test]
fn a_shops_board_shows_and_wakes_for_that_shop_only() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 50 }));
    let (shop1, shop2) = (server.login(SHOP1, PASSWORD), server.login(SHOP2, PASSWORD));
    let (id1, token1) = order_in_status(&server, &shop1, 1, "placed");
    let (id2, token2) = order_in_status(&server, &shop2, 2, "placed");
    let (code1, code2) = (
        code_of(&server, id1, &token1),
        code_of(&server, id2, &token2),
    );
    let board2 = now_serving(&server, "?shop=2");
    assert_eq!(codes(&board2, "preparing"), std::slice::from_ref(&code2));
    let all = now_serving(&server, "");
    for code in [&code1, &code2] {
        assert!(codes(&all, "preparing").contains(code), "{all}");
    }
    let version = int_of(&board2, "version");
    let waiter =
        server.get_in_background(&format!("/api/board?shop=2&since={version}&wait=30"), None);
    assert_held(&waiter);
    server.move_order(&shop1, id1, "accepted", "").expect(200);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_answered(), "woken by another shop's order");
    server.move_order(&shop2, id2, "accepted", "").expect(200);
    let seen = waiter.join().1.expect(200);
    assert_eq!(codes(&seen, "preparing"), [code2]);
    server.get("/api/board?shop=999", None).expect_error(404);
    server.get("/api/board?shop=x", None).expect_error(400);
}

#[test]
fn ready_codes_leave_after_the_venues_time_and_a_held_board_hears_it() {
    let server = Server::start_demo();
    let settings = server.set_venue(&json!({ "board_ready_seconds": 1 }));
    assert_eq!(settings["board_ready_seconds"], 5, "clamped to the minimum");
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token) = order_in_status(&server, &shop1, 1, "ready");
    let code = code_of(&server, id, &token);
    let board = now_serving(&server, "?shop=1");
    assert_eq!(codes(&board, "ready"), [code]);
    assert_eq!(board["ready_seconds"], 5);
    let version = int_of(&board, "version");
    let started = Instant::now();
    let waiter =
        server.get_in_background(&format!("/api/board?shop=1&since={version}&wait=60"), None);
    let (answered, response) = waiter.join();
    let seen = response.expect(200);
    assert!(codes(&seen, "ready").is_empty(), "{seen}");
    let waited = answered.duration_since(started);
    assert!(
        waited < Duration::from_secs(20),
        "held {waited:?} past the code's time"
    );
    // The order itself is still ready for its customer.
    assert_eq!(server.order(id, &token)["status"], "ready");
}

#[test]
fn the_kitchen_gets_estimates_and_all_day_counts() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 50 }));
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    server.place_ok(1, &[(item, 2)]);
    server.place_ok(1, &[(item, 3)]);
    let (id, _) = order_in_status(&server, &shop1, 1, "ready");
    let board = server.get("/api/shop/orders", Some(&shop1)).expect(200);
    let all_day = board["all_day"].as_array().expect("all_day");
    assert_eq!(all_day.len(), 1, "{board}");
    assert_eq!(int_of(&all_day[0], "item_id"), item);
    assert_eq!(
        int_of(&all_day[0], "qty"),
        5,
        "the ready order is not waiting"
    );
    for order in board["orders"].as_array().unwrap() {
        assert!(int_of(order, "estimate_minutes") >= 1, "{order}");
    }
    assert!(board["orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| int_of(o, "id") == id));
}
