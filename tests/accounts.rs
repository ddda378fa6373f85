//! Accounts under attack: login limits per address and per account, shop
//! suspension taking effect at once, same-site redirects and CSRF tokens
//! bound to their client.

mod common;

use common::{
    board, board_ids, int_of, menu_prices, str_of, unique_ref, Server, OWNER, PASSWORD, SHOP1,
    SHOP2,
};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

/// The loopback address 127.0.0.`n`: another hotspot client.
fn client(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

fn login_body(email: &str, password: &str) -> Vec<u8> {
    json!({ "email": email, "password": password })
        .to_string()
        .into_bytes()
}

fn api_login_from(server: &Server, from: IpAddr, email: &str, password: &str) -> common::Response {
    common::request_from(
        from,
        server.addr,
        "POST",
        "/api/auth/login",
        &[("Content-Type", "application/json")],
        &login_body(email, password),
    )
}

/// The message of a JSON error with `status`.
#[track_caller]
fn error_message(response: &common::Response, status: u16) -> String {
    assert_eq!(response.status, status, "{}", response.text());
    response.json()["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn post_form_from(
    server: &Server,
    from: IpAddr,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> common::Response {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    common::request_from(
        from,
        server.addr,
        "POST",
        path,
        &headers,
        form_body(fields).as_bytes(),
    )
}

fn get_page_from(server: &Server, from: IpAddr, path: &str, cookie: Option<&str>) -> String {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    let page = common::request_from(from, server.addr, "GET", path, &headers, b"");
    assert_eq!(page.status, 200, "GET {path}: {}", page.text());
    page.text()
}

/// The CSRF token a page's forms carry.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_string()
}

#[test]
fn simultaneous_wrong_logins_then_the_real_password_are_refused() {
    // Room for all 200 connections at once: the login limit must stop them.
    let server = Server::start_demo_with(&["--max-connections-per-client", "300"], None);
    // 200 guesses sent at once from one address, each at another account so
    // only the per-address limit can stop them; the real password goes last
    // while they are still being answered.
    let mut guesses: Vec<_> = (0..200)
        .map(|i| {
            let mut stream =
                common::connect(server.addr, common::READ_TIMEOUT).expect("connect for a guess");
            let body = login_body(&format!("guess{i}@demo.local"), "wrong password");
            common::send_request(
                &mut stream,
                server.addr,
                "POST",
                "/api/auth/login",
                &[("Content-Type", "application/json")],
                &body,
            )
            .expect("send a guess");
            stream
        })
        .collect();
    let real = server.post(
        "/api/auth/login",
        None,
        &json!({ "email": SHOP1, "password": PASSWORD }),
    );
    let mut tried = 0;
    for stream in &mut guesses {
        let response = common::read_response(stream).expect("an answer to a guess");
        match response.status {
            401 => tried += 1,
            429 => {}
            other => panic!("a guess got {other}: {}", response.text()),
        }
    }
    // A burst of 10, and a slow machine may earn a few more while refilling.
    assert!(
        tried <= 15,
        "{tried} of 200 simultaneous guesses were tried"
    );
    assert!(tried >= 10, "only {tried} guesses were tried");
    error_message(&real, 429);
}

#[test]
fn guesses_from_many_addresses_lock_the_account_not_others() {
    let server = Server::start_demo();
    let mut tried = 0;
    for n in 2..=101 {
        let response = api_login_from(&server, client(n), SHOP1, &format!("guess {n}"));
        match response.status {
            401 => tried += 1,
            429 => {}
            other => panic!("a guess got {other}: {}", response.text()),
        }
    }
    // Ten free attempts, then one per 30 s (a very slow run may reach it).
    assert!(
        (10..=12).contains(&tried),
        "{tried} of 100 guesses from 100 addresses were tried"
    );
    error_message(&api_login_from(&server, client(102), SHOP1, PASSWORD), 429);
    // Other accounts and addresses are not affected.
    api_login_from(&server, client(103), SHOP2, PASSWORD).expect(200);
    // The owner of the account can see what happened, once per lockout.
    let warnings_in = |log: &str| {
        log.lines()
            .filter(|l| l.contains("warn") && l.contains(SHOP1))
            .count()
    };
    // Logged before the refusals were answered; the log reader may lag.
    server.wait_for_log("a warning naming the account", |log| warnings_in(log) > 0);
    let log = server.log();
    let warnings = warnings_in(&log);
    assert_eq!(warnings, 1, "one warning naming the account:\n{log}");
}

#[test]
fn suspension_ends_a_keepers_changes_at_once_and_approval_restores_them() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (order, _, _) = server.place_ok(1, &[(item, 1)]);
    let cookie = format!("os_s={keeper}");
    let here = client(1);

    // A menu edit, a new item, an order move and a profile change by form.
    let changes = || {
        let board = get_page_from(&server, here, "/shop", Some(&cookie));
        [
            server
                .patch(
                    &format!("/api/shop/items/{item}"),
                    Some(&keeper),
                    &json!({ "price_cents": 999 }),
                )
                .status,
            server
                .post(
                    "/api/shop/items",
                    Some(&keeper),
                    &json!({ "name": "New dish", "price_cents": 100 }),
                )
                .status,
            server.move_order(&keeper, order, "accepted", "").status,
            post_form_from(
                &server,
                here,
                "/shop/profile",
                Some(&cookie),
                &[("csrf", &csrf_of(&board)), ("name", "Renamed")],
            )
            .status,
        ]
    };

    server
        .post("/api/admin/shops/1/suspend", Some(&owner), &json!({}))
        .expect(200);
    assert_eq!(
        changes(),
        [403; 4],
        "the same session right after suspension"
    );
    let message = error_message(&server.move_order(&keeper, order, "accepted", ""), 403);
    assert!(message.contains("suspended"), "{message}");
    // The keeper still sees the board and the open order, read-only.
    let board = server.get("/api/shop/orders", Some(&keeper)).expect(200);
    assert!(board.to_string().contains(&format!("\"id\":{order}")));

    server
        .post("/api/admin/shops/1/approve", Some(&owner), &json!({}))
        .expect(200);
    assert_eq!(changes(), [200, 201, 200, 303], "after approval again");
}

#[test]
fn the_profile_form_only_goes_back_to_this_site() {
    let server = Server::start_demo();
    let keeper = server.login(SHOP1, PASSWORD);
    let cookie = format!("os_s={keeper}");
    let here = client(1);
    for (back, expected) in [
        ("//evil.example", "/shop"),
        ("http://evil.example", "/shop"),
        ("/\\evil.example", "/shop"),
        ("/shop/menu", "/shop/menu"),
    ] {
        let board = get_page_from(&server, here, "/shop", Some(&cookie));
        let response = post_form_from(
            &server,
            here,
            "/shop/profile",
            Some(&cookie),
            &[("csrf", &csrf_of(&board)), ("open", "1"), ("back", back)],
        );
        assert_eq!(response.status, 303, "{}", response.text());
        assert_eq!(response.header("location"), Some(expected), "back={back}");
    }
}

#[test]
fn a_form_token_works_only_for_the_client_it_was_shown_to() {
    let server = Server::start_demo();
    let login_page = get_page_from(&server, client(1), "/login", None);
    let csrf = csrf_of(&login_page);
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", SHOP1),
        ("password", PASSWORD),
    ];
    // Another client cannot use it.
    let elsewhere = post_form_from(&server, client(2), "/login", None, &fields);
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.text());
    assert!(elsewhere.text().contains("expired"), "{}", elsewhere.text());
    // Nor can a made-up one.
    let forged = [("csrf", "0.00"), ("email", SHOP1), ("password", PASSWORD)];
    assert_eq!(
        post_form_from(&server, client(1), "/login", None, &forged).status,
        403
    );
    // The client it was shown to can.
    let here = post_form_from(&server, client(1), "/login", None, &fields);
    assert_eq!(here.status, 303, "{}", here.text());
    assert_eq!(here.header("location"), Some("/shop"));
}

// ---------------------------------------------------------------------------
// Logins and shop approval over the JSON API

#[test]
fn a_new_shop_is_hidden_until_the_owner_approves_it() {
    let server = Server::start_demo();
    let owner = server.login(OWNER, PASSWORD);
    let registered = server
        .post(
            "/api/auth/register",
            None,
            &json!({
                "email": "new-stall@example.org", "password": "a long password",
                "name": "Nia", "shop_name": "Pop-up Pies",
            }),
        )
        .expect(201);
    let keeper = str_of(&registered, "token").to_string();
    assert_eq!(registered["shop_status"], "pending");
    // The keeper can build a menu while waiting.
    let pie = server
        .post(
            "/api/shop/items",
            Some(&keeper),
            &json!({ "name": "Apple pie", "price_cents": 450 }),
        )
        .expect(201);
    let shop_id = int_of(&pie, "shop_id");
    let pie_id = int_of(&pie, "id");

    let listed = |server: &Server| -> Vec<i64> {
        let mut ids: Vec<i64> = server
            .get("/api/shops", None)
            .expect(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|s| int_of(s, "id"))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(listed(&server), vec![1, 2, 3, 4]);
    server
        .get(&format!("/api/shops/{shop_id}/menu"), None)
        .expect_error(404);
    server
        .place(shop_id, &[(pie_id, 1)], &unique_ref())
        .expect_error(404);
    // Registering the same email again is refused.
    let again = server.post(
        "/api/auth/register",
        None,
        &json!({
            "email": "NEW-STALL@example.org", "password": "another long one",
            "name": "Nia", "shop_name": "Second",
        }),
    );
    again.expect_error(409);
    // A weak password and a missing shop name are bad input.
    server
        .post(
            "/api/auth/register",
            None,
            &json!({ "email": "x@example.org", "password": "short", "name": "X", "shop_name": "Y" }),
        )
        .expect_error(400);

    // Only the owner approves.
    server
        .post(
            &format!("/api/admin/shops/{shop_id}/approve"),
            Some(&keeper),
            &json!({}),
        )
        .expect_error(403);
    let all = server.get("/api/admin/shops", Some(&owner)).expect(200);
    let mine = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| int_of(s, "id") == shop_id)
        .expect("the owner sees the pending shop");
    assert_eq!(mine["status"], "pending");
    server
        .post("/api/admin/shops/9999/approve", Some(&owner), &json!({}))
        .expect_error(404);
    let approved = server
        .post(
            &format!("/api/admin/shops/{shop_id}/approve"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    assert_eq!(approved["status"], "approved");
    assert_eq!(listed(&server), vec![1, 2, 3, 4, shop_id]);
    let order = server
        .place(shop_id, &[(pie_id, 2)], &unique_ref())
        .expect(201);
    assert_eq!(order["total_cents"], 900);
    let board = board(&server, &keeper);
    assert_eq!(board_ids(&board), vec![int_of(&order, "id")]);

    // Suspended: gone from the list and not orderable.
    server
        .post(
            &format!("/api/admin/shops/{shop_id}/suspend"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    assert_eq!(listed(&server), vec![1, 2, 3, 4]);
    server
        .place(shop_id, &[(pie_id, 1)], &unique_ref())
        .expect_error(404);
}

#[test]
fn wrong_passwords_get_401_then_429() {
    let server = Server::start_demo();
    // Ten failures per address are allowed in a burst (a slow machine may
    // earn one or two more while refilling), then 429.
    let mut failures = 0;
    loop {
        // Unknown accounts count the same as wrong passwords.
        let email = if failures % 2 == 0 {
            SHOP1
        } else {
            "nobody@demo.local"
        };
        let response = server.post(
            "/api/auth/login",
            None,
            &json!({ "email": email, "password": format!("guess {failures}") }),
        );
        if response.status == 429 {
            response.expect_error(429);
            break;
        }
        response.expect_error(401);
        failures += 1;
        assert!(failures <= 15, "no 429 after {failures} failed logins");
    }
    assert!(failures >= 10, "429 after only {failures} failed logins");
    // While locked out even the right password is refused: otherwise the
    // lock would not slow down guessing at all.
    server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": SHOP1, "password": PASSWORD }),
        )
        .expect_error(429);
    // Ordering is not affected.
    server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
}

#[test]
fn unknown_accounts_get_the_same_401_as_wrong_passwords() {
    let server = Server::start_demo();
    let wrong = server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": SHOP1, "password": "not it at all" }),
        )
        .expect_error(401);
    let unknown = server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": "ghost@demo.local", "password": "not it at all" }),
        )
        .expect_error(401);
    assert_eq!(
        wrong, unknown,
        "the message must not tell which accounts exist"
    );
    let ok = server
        .post(
            "/api/auth/login",
            None,
            &json!({ "email": "SHOP1@Demo.Local", "password": PASSWORD }),
        )
        .expect(200);
    assert_eq!(ok["role"], "shopkeeper");
}

#[test]
fn registrations_waiting_for_approval_are_capped_per_venue() {
    let server = Server::start_demo();
    let owner = server.login(OWNER, PASSWORD);
    // From many addresses, as a venue's worth of phones would (each address
    // may register 5 times a minute).
    let register = |n: u32| {
        let body = json!({
            "email": format!("stall{n}@example.org"), "password": "a long password",
            "name": "Keeper", "shop_name": format!("Stall {n}"),
        });
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 9, (n % 250) as u8 + 1));
        common::request_from(
            from,
            server.addr,
            "POST",
            "/api/auth/register",
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
    };
    for n in 0..50 {
        register(n).assert_status(201);
    }
    let refused = register(50);
    refused.expect_error(409);
    assert_eq!(refused.json()["code"], "venue.too_many_pending_shops");
    // The owner's decision frees a place.
    let all = server.get("/api/admin/shops", Some(&owner)).expect(200);
    let pending = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "pending")
        .map(|s| int_of(s, "id"))
        .unwrap();
    server
        .post(
            &format!("/api/admin/shops/{pending}/approve"),
            Some(&owner),
            &json!({}),
        )
        .expect(200);
    register(51).assert_status(201);
}
