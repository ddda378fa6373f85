//! Who reaches what: shops and customers only their own orders, shop and
//! owner endpoints only with the right session, no cross-site posts, and
//! JSON errors for unknown routes.

mod common;

use common::{board, board_ids, menu_prices, unique_ref, Server, OWNER, PASSWORD, SHOP1, SHOP2};
use serde_json::json;
use std::time::{Duration, Instant};

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
        4
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
    assert_eq!(shops.as_array().unwrap().len(), 4);

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
    // Not `available`: the demo's breakfast item is outside its window most of the day.
    assert!(server.menu(2).iter().all(|i| i["sold_out"] == false));

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
