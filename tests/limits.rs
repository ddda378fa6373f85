//! Bad input: bodies over the size limit are refused with 413 (sent raw,
//! since they are cut off by the early answer), malformed JSON is 400, and
//! neither changes anything.

mod common;

use common::{
    board, board_ids, int_of, menu_prices, raw_request, unique_ref, Server, PASSWORD, SHOP1,
};
use serde_json::json;

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
    raw_request(
        server.addr,
        "POST",
        "/api/orders",
        &[json_type],
        body.as_bytes(),
    )
    .expect_error(413);
    // Just over the limit.
    let just_over = vec![b' '; 64 * 1024 + 1];
    raw_request(server.addr, "POST", "/api/orders", &[json_type], &just_over).expect_error(413);
    // Without a declared length (chunked): refused while reading.
    let mut chunked = Vec::new();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 8 * 1024).as_bytes());
        chunked.extend_from_slice(&[b' '; 8 * 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    raw_request(
        server.addr,
        "POST",
        "/api/orders",
        &[json_type, ("Transfer-Encoding", "chunked")],
        &chunked,
    )
    .expect_error(413);
    // Staff endpoints too.
    let auth = format!("Bearer {shop1}");
    raw_request(
        server.addr,
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
