//! Accounts under attack: login limits per address and per account, shop
//! suspension taking effect at once, same-site redirects and CSRF tokens
//! bound to their client.

mod common;

use common::{Server, OWNER, PASSWORD, SHOP1, SHOP2};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

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
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    let warnings = log
        .lines()
        .filter(|l| l.contains("warn") && l.contains(SHOP1))
        .count();
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
