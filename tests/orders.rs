//! The life of an order over the JSON API: two customers at two shops
//! through every stage, the customer's token in its three forms, idempotent
//! placement, and contents checked against the menu (prices, sold-out and
//! deleted items).

mod common;

use common::{
    board, board_ids, customer_token, events, int_of, menu_prices, str_of, unique_ref, Response,
    Server, PASSWORD, SHOP1, SHOP2, STAGES,
};
use serde_json::{json, Value};

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
