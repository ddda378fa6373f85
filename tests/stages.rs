//! The stage rules: every move a shop or customer may not make is refused
//! with 409 and changes nothing, every allowed one bumps the version once,
//! concurrent taps change an order once, and cancelling needs a reason.

mod common;

use common::{
    board, events, int_of, order_in_status, shop_may, Response, Server, PASSWORD, SHOP1, STATUSES,
};
use serde_json::json;

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
