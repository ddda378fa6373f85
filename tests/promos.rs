//! Promo codes and promotions over HTTP: a keeper manages only their own
//! shop's codes and promotions, values and windows are checked, at most
//! five promotions run at once, and running ones show on the shop's menu,
//! the venue's offers page and `GET /api/promotions`. The discount rules
//! (rounding, minimum, window, use limit with 50 concurrent claims through
//! the real writer) are unit tests in `src/ordering/promos.rs`.

mod common;

use common::{Server, OWNER, PASSWORD, SHOP1, SHOP2};
use serde_json::json;

#[test]
fn a_keeper_manages_only_their_own_shops_codes() {
    let server = Server::start_demo();
    let mine = server.login(SHOP1, PASSWORD);
    let theirs = server.login(SHOP2, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);

    server.get("/api/shop/promo-codes", None).expect_error(401);
    server
        .get("/api/shop/promo-codes", Some(&owner))
        .expect_error(403);
    let code = server
        .post(
            "/api/shop/promo-codes",
            Some(&mine),
            &json!({ "code": "lunch10", "kind": "percent", "value": 10,
                     "min_subtotal_cents": 1000, "use_limit": 5,
                     "from": "2024-01-01", "until": "2099-12-31" }),
        )
        .expect(201);
    assert_eq!(code["code"], "LUNCH10");
    assert_eq!(
        (code["used"].as_i64(), code["use_limit"].as_i64()),
        (Some(0), Some(5))
    );
    let id = code["id"].as_i64().unwrap();

    for bad in [
        json!({ "code": "X", "kind": "fixed", "value": 100 }),
        json!({ "code": "BIG", "kind": "percent", "value": 150 }),
        json!({ "code": "NEG", "kind": "fixed", "value": -1 }),
        json!({ "code": "BACK", "kind": "fixed", "value": 1, "from": "2024-02-02", "until": "2024-02-01" }),
        json!({ "code": "DAY", "kind": "fixed", "value": 1, "from": "2024-02-30" }),
    ] {
        server
            .post("/api/shop/promo-codes", Some(&mine), &bad)
            .expect_error(400);
    }
    server
        .post(
            "/api/shop/promo-codes",
            Some(&mine),
            &json!({ "code": "Lunch10", "value": 5 }),
        )
        .expect_error(409);

    // Another keeper sees none of it and can change none of it; the same
    // word is theirs to use too.
    let listed = server
        .get("/api/shop/promo-codes", Some(&theirs))
        .expect(200);
    assert_eq!(listed, json!([]));
    let path = format!("/api/shop/promo-codes/{id}");
    server
        .patch(&path, Some(&theirs), &json!({ "value": 90 }))
        .expect_error(404);
    server
        .call("DELETE", &path, Some(&theirs), None)
        .expect_error(404);
    server
        .post(
            "/api/shop/promo-codes",
            Some(&theirs),
            &json!({ "code": "LUNCH10", "kind": "fixed", "value": 200 }),
        )
        .expect(201);

    let changed = server
        .patch(
            &path,
            Some(&mine),
            &json!({ "value": 15, "use_limit": null }),
        )
        .expect(200);
    assert_eq!(
        (changed["value"].as_i64(), changed["use_limit"].is_null()),
        (Some(15), true)
    );
    assert_eq!(changed["min_subtotal_cents"], 1000);
    let listed = server.get("/api/shop/promo-codes", Some(&mine)).expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Every change is in the audit log, with the code.
    let audit = server
        .get("/api/admin/audit?action=promo.update", Some(&owner))
        .expect(200);
    assert_eq!(audit[0]["detail"], "LUNCH10");
    assert_eq!(audit[0]["shop_id"], 1);

    server
        .call("DELETE", &path, Some(&mine), None)
        .assert_status(204);
    server
        .call("DELETE", &path, Some(&mine), None)
        .expect_error(404);
    let page = server.get("/shop/promos", Some(&mine));
    page.assert_status(200);
}

#[test]
fn promotions_show_on_the_menu_and_the_offers_page() {
    let server = Server::start_demo();
    let mine = server.login(SHOP1, PASSWORD);
    let theirs = server.login(SHOP2, PASSWORD);
    let item = server.menu(1)[0].clone();
    let other_shops_item = server.menu(2)[0]["id"].as_i64().unwrap();

    let made = server
        .post(
            "/api/shop/promotions",
            Some(&mine),
            &json!({ "text": "Two bowls for one, 3–5 pm", "items": [item["id"], other_shops_item] }),
        )
        .expect(201);
    // Only the shop's own items are linked.
    assert_eq!(
        made["items"],
        json!([{ "id": item["id"], "name": item["name"] }])
    );
    server
        .post(
            "/api/shop/promotions",
            Some(&mine),
            &json!({ "text": "Old news", "ends_at": 1000 }),
        )
        .expect(201);
    server
        .post(
            "/api/shop/promotions",
            Some(&mine),
            &json!({ "text": "   " }),
        )
        .expect_error(400);

    let running = server.get("/api/promotions", None).expect(200);
    let texts: Vec<&str> = running
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Two bowls for one, 3–5 pm"]);
    assert_eq!(running[0]["shop_name"], "Noodle Bar");
    assert_eq!(
        server.get("/api/promotions?shop=2", None).expect(200),
        json!([])
    );

    let menu = server.get("/shops/1", None).text();
    assert!(menu.contains("Two bowls for one"));
    assert!(!menu.contains("Old news"));
    assert!(!server.get("/shops/2", None).text().contains("Two bowls"));
    let offers = server.get("/offers", None);
    offers.assert_status(200);
    assert!(offers.text().contains("Two bowls for one"));
    assert!(offers.text().contains("Noodle Bar"));

    // At most five not yet ended.
    for i in 1..5 {
        server
            .post(
                "/api/shop/promotions",
                Some(&mine),
                &json!({ "text": format!("Deal {i}") }),
            )
            .expect(201);
    }
    server
        .post(
            "/api/shop/promotions",
            Some(&mine),
            &json!({ "text": "Deal 6" }),
        )
        .expect_error(409);

    let id = made["id"].as_i64().unwrap();
    let path = format!("/api/shop/promotions/{id}");
    server
        .patch(&path, Some(&theirs), &json!({ "text": "hijacked" }))
        .expect_error(404);
    server
        .call("DELETE", &path, Some(&theirs), None)
        .expect_error(404);
    let edited = server
        .patch(
            &path,
            Some(&mine),
            &json!({ "text": "Three bowls for two", "items": [] }),
        )
        .expect(200);
    assert_eq!(edited["items"], json!([]));
    server
        .call("DELETE", &path, Some(&mine), None)
        .assert_status(204);
    assert!(!server.get("/offers", None).text().contains("Three bowls"));
}
