//! What one hostile phone must not be able to do to ordering: plant its
//! token in someone else's order, take over an order by replaying its
//! `client_ref`, hold unbounded open orders, freeze every write by using up
//! a shop's pickup codes, or break the cart with absurd quantities.

mod common;

use common::{
    int_of, menu_prices, request, request_from, str_of, unique_ref, Server, PASSWORD, SHOP1,
};
use serde_json::json;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const PLANTED: &str = "planted_by_attacker_0123456789abcdef0123456789";

fn item(server: &Server, shop_id: i64) -> i64 {
    server.menu(shop_id)[0]["id"].as_i64().unwrap()
}

/// The value of the hidden form field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in {page}"))
        + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

fn post_form(server: &Server, path: &str, fields: &[(&str, &str)]) -> common::Response {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    server.request(
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.join("&").as_bytes(),
    )
}

#[test]
fn a_token_planted_in_a_link_never_becomes_the_victims_order_token() {
    let server = Server::start_demo();
    let item = item(&server, 1);
    // The victim opens the attacker's link and orders through the pages.
    let cart = server.get(&format!("/cart?shop=1&q{item}=2&t={PLANTED}"), None);
    cart.assert_status(200);
    let page = cart.text();
    let (csrf, client_ref) = (hidden(&page, "csrf"), hidden(&page, "client_ref"));
    let line = format!("{item}:2");
    // The form as the victim's browser sends it, the planted token carried along.
    let fields = [
        ("csrf", csrf.as_str()),
        ("shop_id", "1"),
        ("client_ref", &client_ref),
        ("item", &line),
        ("customer_name", "Victim"),
        ("note", "my+secret+note"),
        ("t", PLANTED),
    ];
    let placed = post_form(&server, "/orders", &fields);
    placed.assert_status(303);
    let location = placed.header("location").unwrap().to_string();
    assert!(!location.contains(PLANTED), "{location}");
    let cookie = placed.header("set-cookie").unwrap_or("").to_string();
    assert!(!cookie.contains(PLANTED), "{cookie}");
    let id: i64 = location["/o/".len()..location.find('?').unwrap()]
        .parse()
        .unwrap();
    let token = &location[location.find("?t=").unwrap() + 3..];
    assert_eq!(server.order(id, token)["customer_name"], "Victim");
    // The attacker's token opens nothing and cancels nothing.
    server
        .get(&format!("/api/orders/{id}"), Some(PLANTED))
        .expect_error(404);
    server
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(PLANTED),
            &json!({}),
        )
        .expect_error(404);
    // A double tap sends the same form again: it lands on the same order.
    let again = post_form(&server, "/orders", &fields);
    assert_eq!(again.header("location"), Some(location.as_str()));
}

#[test]
fn a_replayed_client_ref_gives_nothing_away() {
    let server = Server::start_demo();
    let item = item(&server, 1);
    // A short reference anyone could guess or see over a shoulder.
    let client_ref = "guess-me";
    let first = server.place(1, &[(item, 1)], client_ref).expect(201);
    let token = first["token"].as_str().unwrap().to_string();
    // Another shop, other items, no token: refused, and no token in the answer.
    for (shop, items) in [(1, vec![(item, 1)]), (2, vec![(self::item(&server, 2), 3)])] {
        let replay = server.place(shop, &items, client_ref);
        assert!(!replay.text().contains(&token));
        replay.expect_error(409);
    }
    // The holder gets the order back.
    let mine = server
        .place_as(Some(&token), 1, &[(item, 1)], client_ref)
        .expect(200);
    assert_eq!(mine["id"], first["id"]);
}

#[test]
fn open_orders_are_limited_per_device() {
    let server = Server::start_demo();
    let item = item(&server, 1);
    let mut first = None;
    for _ in 0..5 {
        let order = server.place(1, &[(item, 1)], &unique_ref()).expect(201);
        first.get_or_insert(order);
    }
    let refused = server.place(1, &[(item, 1)], &unique_ref());
    assert_eq!(refused.json()["code"], "order.too_many_open");
    refused.expect_error(429);
    // Another phone on the hotspot still orders.
    let body = json!({
        "shop_id": 1, "items": [{ "item_id": item, "qty": 1 }],
        "customer_name": "Other phone", "note": "", "client_ref": unique_ref(),
    })
    .to_string();
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let json_type = [("Content-Type", "application/json")];
    request_from(
        other,
        server.addr,
        "POST",
        "/api/orders",
        &json_type,
        body.as_bytes(),
    )
    .expect(201);
    // Once one of its orders is finished, the first phone may order again.
    let first = first.unwrap();
    let (id, token) = (
        first["id"].as_i64().unwrap(),
        first["token"].as_str().unwrap(),
    );
    server
        .post(&format!("/api/orders/{id}/cancel"), Some(token), &json!({}))
        .expect(200);
    server.place(1, &[(item, 1)], &unique_ref()).expect(201);
}

/// Every three-character pickup code of shop 1 in use by an open order,
/// written straight into the database beside the running server.
fn use_every_short_code(server: &Server) -> usize {
    const ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";
    let mut conn = rusqlite::Connection::open(server.data_dir.path.join("orderspot.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let tx = conn.transaction().unwrap();
    let mut count = 0;
    for a in ALPHABET {
        for b in ALPHABET {
            for c in ALPHABET {
                let code = String::from_utf8(vec![*a, *b, *c]).unwrap();
                tx.execute(
                    "INSERT INTO orders (shop_id, client_ref, customer_token_hash, customer_name,
                                         status, version, pickup_code, total_cents,
                                         created_at, updated_at)
                     VALUES (1, ?1, 'x', 'Filler', 'placed', 1, ?2, 100, 0, 0)",
                    rusqlite::params![format!("filler-{code}"), code],
                )
                .unwrap();
                count += 1;
            }
        }
    }
    tx.commit().unwrap();
    count
}

#[test]
fn a_shop_out_of_short_pickup_codes_widens_them_and_busy_shops_refuse_cleanly() {
    let mut server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item1 = item(&server, 1);
    let item2 = item(&server, 2);
    let filled = use_every_short_code(&server) as i64;
    server.set_venue(&json!({
        "max_open_orders_per_shop": filled + 2,
        "max_open_orders_per_device": 50,
    }));

    // Before: the writer spun forever here and every write in the venue froze.
    let started = Instant::now();
    let widened = server.place(1, &[(item1, 1)], &unique_ref()).expect(201);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        widened["pickup_code"].as_str().unwrap().len(),
        4,
        "{widened}"
    );
    server.place(1, &[(item1, 1)], &unique_ref()).expect(201);
    let busy = server.place(1, &[(item1, 1)], &unique_ref());
    assert_eq!(busy.json()["code"], "shop.too_busy");
    busy.expect_error(409);
    // Other shops keep taking orders, and shopkeepers keep working.
    let other = server.place_ok(2, &[(item2, 1)]);
    let shop2 = server.login(common::SHOP2, PASSWORD);
    server
        .move_order(&shop2, other.0, "accepted", "")
        .expect(200);

    // The board comes in pages, whatever the number of open orders.
    let page = server.get("/api/shop/orders", Some(&shop1)).expect(200);
    assert_eq!(page["open_count"], filled + 2);
    let orders = page["orders"].as_array().unwrap();
    assert!(orders.len() <= 80, "{} orders on one page", orders.len());
    let next = page["next_after"].as_i64().expect("a next page");
    let second = server
        .get(&format!("/api/shop/orders?after={next}"), Some(&shop1))
        .expect(200);
    let second_ids: Vec<i64> = second["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert!(!second_ids.is_empty() && second_ids.iter().all(|&id| id > next));
    let board = server.get("/shop", Some(&shop1));
    board.assert_status(200);
    assert!(
        board.text().len() < 300_000,
        "board page of {} bytes",
        board.text().len()
    );

    // And SIGTERM still stops it.
    assert!(server.stop(), "still running after SIGTERM");
}

#[test]
fn absurd_cart_quantities_are_refused_not_wrapped() {
    let server = Server::start_demo();
    let item = item(&server, 1);
    for qty in ["9223372036854775807", "-3", "51", "x"] {
        let cart = request(
            server.addr,
            "GET",
            &format!("/cart?shop=1&q{item}={qty}"),
            &[],
            b"",
        );
        cart.assert_status(200);
        let page = cart.text();
        assert!(
            page.contains("quantity must be between 1 and 50"),
            "{qty}: {page}"
        );
        assert!(
            !page.contains("class=\"total\""),
            "{qty}: a total in {page}"
        );
    }
}

#[test]
fn order_placement_is_rate_limited_per_client() {
    let server = Server::start_demo();
    let item = menu_prices(&server, 1)[0].0;
    let mut placed = 0;
    let limited = loop {
        let response = server.place(1, &[(item, 1)], &unique_ref());
        if response.status == 429 {
            break response;
        }
        let order = response.expect(201);
        // Cancelled at once, so the limit of open orders per device stays out of the way.
        server
            .post(
                &format!("/api/orders/{}/cancel", int_of(&order, "id")),
                Some(str_of(&order, "token")),
                &json!({}),
            )
            .expect(200);
        placed += 1;
        assert!(placed <= 80, "no 429 after {placed} orders");
    };
    limited.expect_error(429);
    assert!(placed >= 60, "429 after only {placed} orders");
}
