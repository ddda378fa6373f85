//! Kitchen stations: routing items, each station seeing only its items,
//! an order turning ready when its last station is done (its customer's
//! long-poll following), the keeper's override, undo, and who may touch
//! which shop's stations.

mod common;

use common::{unique_ref, Server, OWNER, PASSWORD, SHOP1, SHOP2};
use serde_json::{json, Value};

/// Two items of shop 1 that can be ordered without options.
fn two_items(server: &Server) -> (i64, i64) {
    let ids: Vec<i64> = server
        .menu(1)
        .iter()
        .filter(|i| {
            i["available"] == true
                && i["option_groups"]
                    .as_array()
                    .is_some_and(|g| g.iter().all(|g| g["min"] == 0))
        })
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert!(ids.len() >= 3, "three orderable items: {ids:?}");
    (ids[0], ids[1])
}

fn station(server: &Server, keeper: &str, name: &str) -> i64 {
    server
        .post("/api/shop/stations", Some(keeper), &json!({ "name": name }))
        .expect(201)["id"]
        .as_i64()
        .expect("station id")
}

fn route(server: &Server, keeper: &str, item: i64, station: Option<i64>) -> Value {
    server
        .call(
            "PUT",
            "/api/shop/stations/routes",
            Some(keeper),
            Some(&json!({ "item_id": item, "station_id": station })),
        )
        .expect(200)
}

fn mark(server: &Server, token: &str, order: i64, station: i64, what: &str) -> common::Response {
    server.post(
        &format!("/api/shop/orders/{order}/stations/{station}/{what}"),
        Some(token),
        &json!({}),
    )
}

fn station_view(server: &Server, token: &str, station: i64) -> Value {
    server
        .get(&format!("/api/shop/stations/{station}/orders"), Some(token))
        .expect(200)
}

fn ticket(view: &Value, order: i64) -> Option<&Value> {
    view["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["id"] == order)
}

fn board_stations(server: &Server, keeper: &str, order: i64) -> Value {
    let board = common::board(server, keeper);
    board["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["id"] == order)
        .expect("the order on the board")["stations"]
        .clone()
}

#[test]
fn stations_see_their_items_and_the_last_one_done_makes_the_order_ready() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let keeper = server.login(SHOP1, PASSWORD);
    let (burger, drink) = two_items(&server);
    let grill = station(&server, &keeper, "Grill");
    let drinks = station(&server, &keeper, "Drinks");
    let routes = route(&server, &keeper, burger, Some(grill));
    route(&server, &keeper, drink, Some(drinks));
    assert_eq!(
        routes["routes"],
        json!([{ "item_id": burger, "station_id": grill }])
    );
    // Names are unique in a shop.
    server
        .post(
            "/api/shop/stations",
            Some(&keeper),
            &json!({ "name": "Grill" }),
        )
        .assert_status(409);

    // Kitchen staff work the stations.
    let cook = format!("grill{}", &unique_ref()[..8].to_lowercase());
    server
        .post(
            "/api/shop/staff",
            Some(&keeper),
            &json!({ "username": cook, "name": "Cook", "password": PASSWORD }),
        )
        .expect(201);
    let cook = server.login(&cook, PASSWORD);

    let (order, customer, _) = server.place_ok(1, &[(burger, 2), (drink, 1)]);
    let grill_view = station_view(&server, &cook, grill);
    let seen = ticket(&grill_view, order).expect("the order at the grill");
    let names: Vec<i64> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["item_id"].as_i64().unwrap())
        .collect();
    assert_eq!(names, [burger], "the grill sees only its items");
    assert_eq!(seen["items"][0]["qty"], 2);
    assert_eq!(seen["done"], false);
    let drinks_view = station_view(&server, &cook, drinks);
    assert_eq!(
        ticket(&drinks_view, order).unwrap()["items"][0]["item_id"],
        drink
    );
    assert_eq!(
        board_stations(&server, &keeper, order),
        json!([{ "id": grill, "name": "Grill", "items": 2, "done": false },
               { "id": drinks, "name": "Drinks", "items": 1, "done": false }])
    );

    // The grill is done: the order waits for drinks.
    let after_grill = mark(&server, &cook, order, grill, "done").expect(200);
    assert_eq!(after_grill["status"], "placed");
    assert_eq!(
        board_stations(&server, &keeper, order)[0]["done"],
        json!(true)
    );
    mark(&server, &cook, order, grill, "done").assert_status(409);
    // Undo takes the grill's mark back, and it marks again.
    mark(&server, &cook, order, grill, "undo").expect(200);
    assert_eq!(
        ticket(&station_view(&server, &cook, grill), order).unwrap()["done"],
        false
    );
    mark(&server, &cook, order, grill, "undo").assert_status(409);
    mark(&server, &cook, order, grill, "done").expect(200);

    // The last station done: ready, and the customer's long-poll sees it.
    let version = server.order(order, &customer)["version"].as_i64().unwrap();
    let waiting = server.get_in_background(
        &format!("/api/orders/{order}?since={version}&wait=30"),
        Some(&customer),
    );
    waiting.wait_until_taken();
    let ready = mark(&server, &cook, order, drinks, "done").expect(200);
    assert_eq!(ready["status"], "ready");
    let (_, seen) = waiting.join();
    assert_eq!(seen.expect(200)["status"], "ready");

    // Undo on a ready order takes it back to preparing.
    let back = mark(&server, &cook, order, drinks, "undo").expect(200);
    assert_eq!(back["status"], "preparing");
    assert_eq!(server.order(order, &customer)["status"], "preparing");
    mark(&server, &cook, order, drinks, "done").expect(200);
    server
        .move_order(&keeper, order, "completed", "")
        .assert_status(200);
    mark(&server, &cook, order, drinks, "undo").assert_status(409);
    assert!(ticket(&station_view(&server, &cook, grill), order).is_none());

    // An item routed nowhere is the keeper's: the stations done, the
    // order stays for the keeper, who marks it ready as before.
    let (_, third) = {
        let ids: Vec<i64> = server
            .menu(1)
            .iter()
            .filter(|i| {
                i["available"] == true
                    && i["option_groups"]
                        .as_array()
                        .is_some_and(|g| g.iter().all(|g| g["min"] == 0))
            })
            .filter_map(|i| i["id"].as_i64())
            .collect();
        (ids[0], ids[2])
    };
    let (mixed, _, _) = server.place_ok(1, &[(burger, 1), (third, 1)]);
    assert_eq!(
        mark(&server, &cook, mixed, grill, "done").expect(200)["status"],
        "placed"
    );
    // A station without items in the order has nothing to mark.
    mark(&server, &cook, mixed, drinks, "done").assert_status(404);
    for stage in ["accepted", "preparing", "ready"] {
        server
            .move_order(&keeper, mixed, stage, "")
            .assert_status(200);
    }

    // The keeper overrides: ready before any station is done.
    let (early, _, _) = server.place_ok(1, &[(burger, 1)]);
    for stage in ["accepted", "preparing", "ready"] {
        server
            .move_order(&keeper, early, stage, "")
            .assert_status(200);
    }
    mark(&server, &cook, early, grill, "done").assert_status(409);

    // Routing an item to no station; a removed station sends its items
    // back and is gone from the list.
    route(&server, &keeper, drink, None);
    server
        .call(
            "DELETE",
            &format!("/api/shop/stations/{grill}"),
            Some(&keeper),
            None,
        )
        .assert_status(204);
    let list = server.get("/api/shop/stations", Some(&keeper)).expect(200);
    assert_eq!(list["stations"].as_array().unwrap().len(), 1);
    assert_eq!(list["routes"], json!([]));
    server
        .get(&format!("/api/shop/stations/{grill}/orders"), Some(&cook))
        .assert_status(404);

    // The station page for the tablet.
    let page = server.get(&format!("/shop/stations/{drinks}"), Some(&cook));
    page.assert_status(200);
    assert!(page.text().contains("Drinks"));
}

#[test]
fn a_shop_has_a_bounded_number_of_stations_and_others_cannot_touch_them() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    let other = server.login(SHOP2, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let (item, _) = two_items(&server);
    let first = station(&server, &keeper, "S0");
    for n in 1..12 {
        station(&server, &keeper, &format!("S{n}"));
    }
    server
        .post(
            "/api/shop/stations",
            Some(&keeper),
            &json!({ "name": "One too many" }),
        )
        .assert_status(409);
    route(&server, &keeper, item, Some(first));
    let (order, customer, _) = server.place_ok(1, &[(item, 1)]);

    // Shop 2's staff and keeper: shop 1's stations do not exist for them.
    let hand = format!("hand{}", &unique_ref()[..8].to_lowercase());
    server
        .post(
            "/api/shop/staff",
            Some(&other),
            &json!({ "username": hand, "name": "Hand", "password": PASSWORD }),
        )
        .expect(201);
    let hand = server.login(&hand, PASSWORD);
    for token in [&hand, &other] {
        mark(&server, token, order, first, "done").assert_status(404);
        server
            .get(&format!("/api/shop/stations/{first}/orders"), Some(token))
            .assert_status(404);
        server
            .get(&format!("/shop/stations/{first}"), Some(token))
            .assert_status(404);
    }
    server
        .patch(
            &format!("/api/shop/stations/{first}"),
            Some(&other),
            &json!({ "name": "Mine" }),
        )
        .assert_status(404);
    // Shop 2 cannot route shop 1's item to a station of its own.
    let theirs = station(&server, &other, "Theirs");
    server
        .call(
            "PUT",
            "/api/shop/stations/routes",
            Some(&other),
            Some(&json!({ "item_id": item, "station_id": theirs })),
        )
        .assert_status(404);
    // Nor can the customer; the venue owner can, in the shop they chose.
    mark(&server, &customer, order, first, "done").assert_status(401);
    let done = server.post(
        &format!("/api/shop/orders/{order}/stations/{first}/done?shop=1"),
        Some(&owner),
        &json!({}),
    );
    assert_eq!(done.expect(200)["status"], "ready");
}
