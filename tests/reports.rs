//! The owner's and keeper's report: money by payment method with refunds,
//! the day's waste, and the kitchen stations' figures, in JSON, the page
//! and the CSV.

mod common;

use common::{int_of, Server, OWNER, PASSWORD, SHOP1};
use serde_json::{json, Value};

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
        .map(|i| (int_of(i, "id"), int_of(i, "price_cents")))
        .expect("an item ordered without options")
}

#[test]
fn a_report_shows_money_by_method_waste_and_stations() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let keeper = server.login(SHOP1, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let (item, price) = orderable(&server);
    let pay = |order: i64, body: Value| {
        server
            .post(
                &format!("/api/shop/orders/{order}/payment"),
                Some(&keeper),
                &body,
            )
            .expect(200)
    };
    let (cash, _, _) = server.place_ok(1, &[(item, 2)]);
    pay(cash, json!({ "method": "cash", "tip_cents": 50 }));
    let (card, _, _) = server.place_ok(1, &[(item, 1)]);
    pay(card, json!({ "method": "card", "amount_cents": 1 }));
    pay(card, json!({ "method": "card" }));
    server
        .post(
            &format!("/api/shop/orders/{card}/refunds"),
            Some(&keeper),
            &json!({ "amount_cents": 30, "reason": "cold" }),
        )
        .expect(200);
    let flour = server
        .post(
            "/api/shop/ingredients",
            Some(&keeper),
            &json!({ "name": "Report flour", "stock": 50 }),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    for qty in [2, 3] {
        server
            .post(
                &format!("/api/shop/ingredients/{flour}/waste"),
                Some(&keeper),
                &json!({ "qty": qty, "reason": "spilt" }),
            )
            .assert_status(200);
    }
    let grill = server
        .post(
            "/api/shop/stations",
            Some(&keeper),
            &json!({ "name": "Grill" }),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    server
        .call(
            "PUT",
            "/api/shop/stations/routes",
            Some(&keeper),
            Some(&json!({ "item_id": item, "station_id": grill })),
        )
        .assert_status(200);
    let (grilled, _, _) = server.place_ok(1, &[(item, 3)]);
    server
        .post(
            &format!("/api/shop/orders/{grilled}/stations/{grill}/done"),
            Some(&keeper),
            &json!({}),
        )
        .assert_status(200);

    for (token, path) in [
        (&keeper, "/api/reports?shop=1"),
        (&owner, "/api/reports?shop=1"),
    ] {
        let report = server.get(path, Some(token)).expect(200);
        assert_eq!(
            report["by_method"],
            json!([
                { "method": "cash", "amount_cents": price * 2, "tip_cents": 50, "payments": 1 },
                { "method": "card", "amount_cents": price, "tip_cents": 0, "payments": 2 },
            ]),
            "{report}"
        );
        assert_eq!(report["refunded_cents"], 30);
        assert_eq!(
            report["waste"],
            json!([{ "shop": "Noodle Bar", "ingredient": "Report flour", "qty": 5, "entries": 2 }])
        );
        let stations = report["stations"].as_array().unwrap();
        assert_eq!(stations.len(), 1, "{report}");
        assert_eq!(
            (&stations[0]["station"], &stations[0]["items"]),
            (&json!("Grill"), &json!(3))
        );
        assert!(
            stations[0]["p95_ms"].as_i64().unwrap() >= stations[0]["median_ms"].as_i64().unwrap()
        );
    }
    // The venue's report holds the shop's waste too.
    let venue = server.get("/api/reports", Some(&owner)).expect(200);
    assert_eq!(venue["waste"][0]["qty"], 5);
    let page = server.get("/reports?shop=1", Some(&owner)).text();
    assert!(
        page.contains("Report flour") && page.contains("<svg"),
        "{page}"
    );
    let csv = server.get("/reports.csv?shop=1", Some(&owner)).text();
    assert!(csv.contains("\"refunded\""), "{csv}");
    assert!(
        csv.contains("\"Report flour\",\"Noodle Bar\",\"5\",\"2\""),
        "{csv}"
    );
    assert!(csv.contains("\"Grill\""), "{csv}");
}
