//! Shop membership: accounts made before it existed keep running their
//! shop, and a shop's staff work its board while only its keeper runs it.

mod common;

use common::{Server, TempDir, PASSWORD, SHOP1};
use rusqlite::Connection;
use serde_json::json;
use std::sync::Arc;

/// Opens the server's database while the server is stopped.
fn database(dir: &TempDir) -> Connection {
    Connection::open(dir.path.join("orderspot.db")).expect("open the database")
}

#[test]
fn an_account_from_before_membership_still_logs_in_and_runs_its_shop() {
    let dir = Arc::new(TempDir::new("members-old"));
    {
        // The database as the release before membership left it.
        let db = database(&dir);
        for sql in [
            include_str!("../src/db/schema/001_core.sql"),
            include_str!("../src/db/schema/002_clients.sql"),
            include_str!("../src/db/schema/003_order_limits.sql"),
            include_str!("../src/db/schema/004_menu_version.sql"),
        ] {
            orderspot::run_migration(&db, sql).unwrap();
        }
        db.pragma_update(None, "user_version", 4).unwrap();
        let hash = orderspot::accounts::hash_password("an old password").unwrap();
        db.execute(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES
                 (1, 'boss@old.example', 'Boss', 'owner', ?1, 0),
                 (7, 'keeper@old.example', 'Keeper', 'shopkeeper', ?1, 0)",
            [&hash],
        )
        .unwrap();
        db.execute_batch(
            "INSERT INTO shops (id, owner_user_id, name, status, created_at)
                 VALUES (3, 7, 'Old Stall', 'approved', 0);
             INSERT INTO menu_items (id, shop_id, name, price_cents, created_at, updated_at)
                 VALUES (20, 3, 'Soup', 450, 0, 0);",
        )
        .unwrap();
    }
    let server = Server::start_in(dir.clone(), false);

    let keeper = server.login("keeper@old.example", "an old password");
    let board = server.get("/api/shop/orders", Some(&keeper)).expect(200);
    assert_eq!(board["orders"], json!([]));
    let (order, _, _) = server.place_ok(3, &[(20, 2)]);
    server
        .move_order(&keeper, order, "accepted", "")
        .assert_status(200);
    let item = json!({ "name": "Bread", "price_cents": 150 });
    server
        .post("/api/shop/items", Some(&keeper), &item)
        .assert_status(201);
    server
        .patch(
            "/api/shop/items/20",
            Some(&keeper),
            &json!({ "price_cents": 500 }),
        )
        .assert_status(200);
    let page = server.get("/shop", Some(&keeper)).text();
    assert!(page.contains("Old Stall"), "{page}");

    let owner = server.login("boss@old.example", "an old password");
    let shops = server.get("/api/admin/shops", Some(&owner)).expect(200);
    assert_eq!(shops[0]["owner_email"], "keeper@old.example");

    drop(server);
    let db = database(&dir);
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 5, "schema version {version}");
    let role: String = db
        .query_row(
            "SELECT role FROM shop_members WHERE shop_id = 3 AND user_id = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(role, "keeper");
}

#[test]
fn registering_makes_the_registrant_keeper_of_the_new_shop() {
    let server = Server::start_demo();
    let registration = json!({
        "email": "new@stall.example",
        "password": "a long password",
        "name": "New",
        "shop_name": "New Stall",
    });
    let token = server
        .post("/api/auth/register", None, &registration)
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let item = json!({ "name": "Tea", "price_cents": 200 });
    server
        .post("/api/shop/items", Some(&token), &item)
        .assert_status(201);
    let data_dir = server.data_dir.clone();
    drop(server);
    let role: String = database(&data_dir)
        .query_row(
            "SELECT m.role FROM shop_members m JOIN users u ON u.id = m.user_id
             JOIN shops s ON s.id = m.shop_id
             WHERE u.email = 'new@stall.example' AND s.name = 'New Stall'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(role, "keeper");
}

#[test]
fn staff_work_the_board_but_only_the_keeper_runs_the_shop() {
    let mut demo = Server::start_demo();
    let data_dir = demo.data_dir.clone();
    assert!(demo.stop());
    // A kitchen hand joins shop 1 in the database, with the demo password
    // (tests/roles.rs adds staff through the API).
    database(&data_dir)
        .execute_batch(
            "INSERT INTO users (email, name, role, password_hash, created_at)
                 SELECT 'cook@demo.local', 'Cook', 'shopkeeper', password_hash, 0
                 FROM users WHERE email = 'shop1@demo.local';
             INSERT INTO shop_members (shop_id, user_id, role, created_at)
                 SELECT 1, id, 'staff', 0 FROM users WHERE email = 'cook@demo.local';",
        )
        .unwrap();
    drop(demo);
    let server = Server::start_in(data_dir, false);
    let cook = server.login("cook@demo.local", PASSWORD);
    let keeper = server.login(SHOP1, PASSWORD);
    let item = server.menu(1)[0]["id"].as_i64().unwrap();

    // The board and the sold-out switch.
    server
        .get("/api/shop/orders", Some(&cook))
        .assert_status(200);
    server.get("/shop", Some(&cook)).assert_status(200);
    server.get("/shop/menu", Some(&cook)).assert_status(200);
    let (order, _, _) = server.place_ok(1, &[(item, 1)]);
    server
        .move_order(&cook, order, "accepted", "")
        .assert_status(200);
    let sold_out = server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&cook),
            &json!({ "available": false }),
        )
        .expect(200);
    assert_eq!(sold_out["available"], false);

    // Not the menu itself.
    let edits = [
        (
            "PATCH",
            format!("/api/shop/items/{item}"),
            json!({ "price_cents": 1 }),
        ),
        (
            "PATCH",
            format!("/api/shop/items/{item}"),
            json!({ "available": true, "name": "Renamed" }),
        ),
        (
            "POST",
            "/api/shop/items".into(),
            json!({ "name": "X", "price_cents": 1 }),
        ),
        ("DELETE", format!("/api/shop/items/{item}"), json!({})),
    ];
    for (method, path, body) in &edits {
        let answer = server.call(method, path, Some(&cook), Some(body));
        assert_eq!(
            answer.expect_error(403),
            "only the shop's keeper can do this",
            "{method} {path}"
        );
    }
    let menu_item = &server.menu(1)[0];
    assert_eq!(menu_item["name"], sold_out["name"]);
    assert_eq!(menu_item["price_cents"], sold_out["price_cents"]);

    // The keeper still does all of it.
    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&keeper),
            &json!({ "price_cents": 1, "available": true }),
        )
        .assert_status(200);
    server
        .move_order(&keeper, order, "preparing", "")
        .assert_status(200);
}
