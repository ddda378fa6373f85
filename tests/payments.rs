//! Payments at pickup: split across methods, tips on top, refunds never
//! above what was paid, all in whole cents, each one seen by the board and
//! by the customer's page.

mod common;

use common::{Server, PASSWORD, SHOP1};
use serde_json::{json, Value};

/// An item of shop 1 that can be ordered now without choosing options.
fn orderable(server: &Server) -> (i64, i64) {
    server
        .menu(1)
        .iter()
        .find(|i| {
            i["available"] == true
                && i["option_groups"]
                    .as_array()
                    .is_some_and(|g| g.iter().all(|g| g["min"] == 0))
        })
        .map(|i| {
            (
                i["id"].as_i64().unwrap(),
                i["price_cents"].as_i64().unwrap(),
            )
        })
        .expect("an item ordered without options")
}

fn pay(server: &Server, token: &str, order: i64, body: Value) -> common::Response {
    server.post(
        &format!("/api/shop/orders/{order}/payment"),
        Some(token),
        &body,
    )
}

fn refund(server: &Server, token: &str, order: i64, cents: i64) -> common::Response {
    server.post(
        &format!("/api/shop/orders/{order}/refunds"),
        Some(token),
        &json!({ "amount_cents": cents, "reason": "cold soup" }),
    )
}

fn code(response: &common::Response) -> String {
    response.json()["code"].as_str().unwrap_or("").to_string()
}

#[test]
fn split_payments_tips_and_refunds_add_up_and_the_customer_sees_them() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    server
        .post(
            "/api/shop/staff",
            Some(&keeper),
            &json!({ "username": "till", "name": "Till", "password": PASSWORD }),
        )
        .expect(201);
    let counter = server.login("till", PASSWORD);
    let (item, price) = orderable(&server);
    let (order, customer, placed) = server.place_ok(1, &[(item, 2)]);
    let total = 2 * price;
    assert_eq!(placed["payments"]["paid"], false);
    assert_eq!(placed["payments"]["due_cents"], total);

    // The customer's page waits for a change; a payment is one.
    let version = placed["version"].as_i64().unwrap();
    let waiting = server.get_in_background(
        &format!("/api/orders/{order}?since={version}&wait=30"),
        Some(&customer),
    );
    waiting.wait_until_taken();

    // Part in cash by the counter staff, the rest by card with a tip.
    let first = pay(
        &server,
        &counter,
        order,
        json!({ "method": "cash", "amount_cents": total - 300 }),
    )
    .expect(200);
    assert_eq!(first["payments"]["due_cents"], 300);
    assert_eq!(first["payments"]["paid"], false);
    let (_, seen) = waiting.join();
    let seen = seen.expect(200);
    assert!(seen["version"].as_i64().unwrap() > version);
    assert_eq!(seen["payments"]["paid_cents"], total - 300);

    // Above what is due, fractions and negatives are refused.
    let over = pay(
        &server,
        &counter,
        order,
        json!({ "method": "card", "amount_cents": 301 }),
    );
    over.assert_status(409);
    assert_eq!(code(&over), "payment.above_due");
    for bad in [json!(-1), json!(1.5), json!("300")] {
        let r = pay(
            &server,
            &counter,
            order,
            json!({ "method": "card", "amount_cents": bad }),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    // No amount: what is still due (the board's one tap).
    let settled = pay(
        &server,
        &counter,
        order,
        json!({ "method": "card", "tip_cents": 150 }),
    )
    .expect(200);
    let money = &settled["payments"];
    assert_eq!(money["paid"], true);
    assert_eq!(money["paid_cents"], total);
    assert_eq!(money["tip_cents"], 150);
    assert_eq!(money["due_cents"], 0);
    let methods: Vec<&str> = money["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["cash", "card"]);
    // Fully paid: a tip alone is still welcome, more money is not.
    let more = pay(
        &server,
        &counter,
        order,
        json!({ "method": "cash", "amount_cents": 1 }),
    );
    assert_eq!(code(&more), "payment.above_due");

    // Refunds are the keeper's, and never above what was taken.
    let by_staff = refund(&server, &counter, order, 100);
    by_staff.assert_status(403);
    refund(&server, &keeper, order, 400).expect(200);
    let refundable = total + 150 - 400;
    let too_much = refund(&server, &keeper, order, refundable + 1);
    too_much.assert_status(409);
    assert_eq!(code(&too_much), "refund.above_paid");
    let last = refund(&server, &keeper, order, refundable).expect(200);
    assert_eq!(last["payments"]["refunded_cents"], total + 150);
    refund(&server, &keeper, order, 1).assert_status(409);
    let no_reason = server.post(
        &format!("/api/shop/orders/{order}/refunds"),
        Some(&keeper),
        &json!({ "amount_cents": 1 }),
    );
    no_reason.assert_status(400);

    // The customer's receipt lists them; the board's ticket says paid.
    let seen = server.order(order, &customer);
    assert_eq!(seen["payments"]["entries"].as_array().unwrap().len(), 4);
    assert_eq!(seen["payments"]["paid_cents"], total);
    let page = server.get(&format!("/o/{order}?t={customer}"), None).text();
    for line in ["<td>cash</td>", "<td>card (tip ", "Refund · cold soup"] {
        assert!(page.contains(line), "{line}: {page}");
    }
    let board = server.get("/shop", Some(&keeper)).text();
    assert!(board.contains("Paid"), "{board}");

    // Another order: the one-tap buttons, and only the shop's methods.
    let (second, _, _) = server.place_ok(1, &[(item, 1)]);
    let board = server.get("/shop", Some(&counter)).text();
    assert!(
        board.contains(&format!("/shop/orders/{second}/payment")),
        "{board}"
    );
    assert!(board.contains("Paid by cash"), "{board}");
    server
        .call(
            "PUT",
            "/api/shop/payment-methods",
            Some(&keeper),
            Some(&json!({ "methods": ["cash"] })),
        )
        .expect(200);
    let card = pay(&server, &counter, second, json!({ "method": "card" }));
    card.assert_status(400);
    assert_eq!(code(&card), "payment.method_not_taken");
    let board = server.get("/shop", Some(&counter)).text();
    assert!(!board.contains("Paid by card"), "{board}");

    // A cancelled order takes no money.
    server
        .move_order(&keeper, second, "cancelled", "out of noodles")
        .assert_status(200);
    let cancelled = pay(&server, &counter, second, json!({ "method": "cash" }));
    assert_eq!(code(&cancelled), "payment.order_cancelled");
}
