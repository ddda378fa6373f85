//! Live updates beyond orders, and stopping: a menu edit wakes the menu's
//! waiters (and only that shop's), woken waiters stay cheap, and SIGTERM
//! answers long-polls with their current state, lets a request in flight
//! finish and exits.

mod common;

use common::{connect, read_response, send_request, Response, Server, PASSWORD, SHOP1, SHOP2};
use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The bound for a menu waiter to hear an edit, counted from the
/// moment the edit's own answer arrived.
const MENU_WAKE_BOUND: Duration = Duration::from_millis(100);

/// A GET on its own thread: when it was answered, and the answer.
fn spawn_get(server: &Server, path: String) -> JoinHandle<(Instant, Response)> {
    let addr = server.addr;
    std::thread::spawn(move || {
        let response = common::request(addr, "GET", &path, &[], b"");
        (Instant::now(), response)
    })
}

fn menu(server: &Server, shop_id: i64) -> Value {
    server
        .get(&format!("/api/shops/{shop_id}/menu"), None)
        .expect(200)
}

fn version(value: &Value) -> i64 {
    value["version"].as_i64().expect("a version")
}

/// Whether nothing has arrived on `stream` yet (its request is held).
fn unanswered(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let held = matches!(stream.peek(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
    held
}

#[test]
fn menu_edits_wake_that_menus_waiters_at_once_and_no_other() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let first = menu(&server, 1);
    let item = first["items"][0]["id"].as_i64().unwrap();
    let mut seen = version(&first);
    let other_shop = version(&menu(&server, 2));

    // A waiter on shop 2's menu sleeps through all of shop 1's edits.
    let started = Instant::now();
    let other = spawn_get(
        &server,
        format!("/api/shops/2/menu?since={other_shop}&wait=3"),
    );

    type Edit<'a> = (&'a str, Box<dyn Fn() -> Response + 'a>);
    let edits: [Edit; 4] = [
        (
            "sold-out switch",
            Box::new(|| {
                server.patch(
                    &format!("/api/shop/items/{item}"),
                    Some(&shop1),
                    &json!({ "available": false }),
                )
            }),
        ),
        (
            "new item",
            Box::new(|| {
                server.post(
                    "/api/shop/items",
                    Some(&shop1),
                    &json!({ "name": "Green tea", "price_cents": 300 }),
                )
            }),
        ),
        (
            "new price",
            Box::new(|| {
                server.patch(
                    &format!("/api/shop/items/{item}"),
                    Some(&shop1),
                    &json!({ "price_cents": 990 }),
                )
            }),
        ),
        (
            "deleted item",
            Box::new(|| {
                server.request(
                    "DELETE",
                    &format!("/api/shop/items/{item}"),
                    &[("Authorization", &format!("Bearer {shop1}"))],
                    b"",
                )
            }),
        ),
    ];
    let mut answers = Vec::new();
    for (what, edit) in &edits {
        let waiter = spawn_get(&server, format!("/api/shops/1/menu?since={seen}&wait=30"));
        std::thread::sleep(Duration::from_millis(300));
        assert!(!waiter.is_finished(), "answered before the {what}");
        let response = edit();
        let edited = Instant::now();
        assert!(response.status < 300, "{what}: {}", response.text());
        let (answered, response) = waiter.join().unwrap();
        let latency = answered.saturating_duration_since(edited);
        println!("menu waiter heard the {what} {latency:?} after the edit's answer");
        assert!(latency < MENU_WAKE_BOUND, "{latency:?} to hear the {what}");
        let menu = response.expect(200);
        assert!(version(&menu) > seen, "{what}: {menu}");
        seen = version(&menu);
        answers.push(menu);
    }
    let item_in = |menu: &Value| {
        menu["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == item)
            .cloned()
    };
    assert_eq!(item_in(&answers[0]).unwrap()["available"], false);
    assert!(answers[1]["items"].to_string().contains("Green tea"));
    assert_eq!(item_in(&answers[2]).unwrap()["price_cents"], 990);
    assert!(item_in(&answers[3]).is_none());
    assert_eq!(answers[3]["shop"]["id"], 1);

    let (answered, response) = other.join().unwrap();
    let menu = response.expect(200);
    assert_eq!(version(&menu), other_shop, "woken by shop 1's edits");
    assert!(answered.duration_since(started) >= Duration::from_millis(2_800));

    // A menu that is behind answers at once; nonsense is bad input.
    let started = Instant::now();
    let menu = server
        .get("/api/shops/1/menu?since=0&wait=30", None)
        .expect(200);
    assert_eq!(version(&menu), seen);
    assert!(started.elapsed() < Duration::from_secs(15));
    server
        .get("/api/shops/1/menu?since=x&wait=1", None)
        .expect_error(400);
}

#[test]
fn many_menu_waiters_all_hear_an_edit() {
    const WAITERS: usize = 300;
    let server = Server::start_demo_with(&["--max-connections-per-client", "400"], None);
    let shop2 = server.login(SHOP2, PASSWORD);
    let before = menu(&server, 2);
    let item = before["items"][0]["id"].as_i64().unwrap();
    let request = format!(
        "GET /api/shops/2/menu?since={}&wait=30 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        version(&before),
        server.addr
    );
    let rss_before = rss_kb(&server);
    let mut waiters: Vec<TcpStream> = (0..WAITERS)
        .map(|_| {
            let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        waiters.iter_mut().all(unanswered),
        "answered before the edit"
    );
    let each = rss_kb(&server).saturating_sub(rss_before) / WAITERS as u64;
    println!("{WAITERS} menu waiters: {each} KB of resident memory each");
    // A waiter is its connection's buffers and one small future; the menu
    // it will get is built once for all of them.
    assert!(each < 48, "{each} KB per waiting request");

    server
        .patch(
            &format!("/api/shop/items/{item}"),
            Some(&shop2),
            &json!({ "available": false }),
        )
        .expect(200);
    let mut bodies = Vec::new();
    for stream in &mut waiters {
        let response = read_response(stream).unwrap();
        assert_eq!(response.status, 200);
        bodies.push(response.body);
    }
    let menu: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert!(version(&menu) > version(&before));
    assert_eq!(menu["items"][0]["available"], false);
    assert!(
        bodies.iter().all(|body| *body == bodies[0]),
        "every waiter gets the same answer"
    );
}

/// The server's resident memory in KB (0 where /proc cannot tell).
fn rss_kb(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid().unwrap()))
        .unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn sigterm_answers_long_polls_with_their_state_finishes_requests_in_flight_and_exits() {
    let mut server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, _) = server.place_ok(1, &[(item, 1)]);
    let board_version = version(&server.get("/api/shop/orders", Some(&shop1)).expect(200));
    let menu_version = version(&menu(&server, 1));

    let long_poll = |path: String, bearer: &str| {
        let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
        let auth = format!("Bearer {bearer}");
        send_request(
            &mut stream,
            server.addr,
            "GET",
            &path,
            &[("Authorization", &auth)],
            b"",
        )
        .unwrap();
        stream
    };
    let mut order_poll = long_poll(format!("/api/orders/{id}?since=1&wait=60"), &token);
    let mut board_poll = long_poll(
        format!("/api/shop/orders?since={board_version}&wait=60"),
        &shop1,
    );
    let mut menu_poll = long_poll(
        format!("/api/shops/1/menu?since={menu_version}&wait=60"),
        &token,
    );

    // A placement whose body is still on its way when the signal comes.
    let body = json!({
        "shop_id": 1, "items": [{ "item_id": item, "qty": 2 }],
        "customer_name": "Late", "note": "", "client_ref": common::unique_ref(),
    })
    .to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut in_flight = connect(server.addr, common::READ_TIMEOUT).unwrap();
    write!(
        in_flight,
        "POST /api/orders HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        server.addr,
        body.len()
    )
    .unwrap();
    // And a kept-alive connection idling between requests.
    let mut idle = connect(server.addr, common::READ_TIMEOUT).unwrap();
    write!(
        idle,
        "GET /api/shops HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    std::thread::sleep(Duration::from_millis(500));
    for stream in [
        &mut order_poll,
        &mut board_poll,
        &mut menu_poll,
        &mut in_flight,
    ] {
        assert!(unanswered(stream), "answered before the signal");
    }

    let signalled = Instant::now();
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().unwrap().to_string())
        .status()
        .unwrap();
    assert!(killed.success());

    let order = read_response(&mut order_poll).unwrap().expect(200);
    let board = read_response(&mut board_poll).unwrap().expect(200);
    let menu = read_response(&mut menu_poll).unwrap().expect(200);
    let answered = signalled.elapsed();
    println!("long-polls answered {answered:?} after SIGTERM");
    assert!(answered < Duration::from_secs(5), "{answered:?}");
    assert_eq!(
        (order["id"].as_i64(), order["version"].as_i64()),
        (Some(id), Some(1))
    );
    assert_eq!(order["status"], "placed");
    assert_eq!(version(&board), board_version);
    assert!(board["orders"]
        .to_string()
        .contains(&format!("\"id\":{id}")));
    assert_eq!(version(&menu), menu_version);

    // No new connections; the request in flight still completes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("stopping") {
        assert!(
            Instant::now() < deadline,
            "no stop in the log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    in_flight.write_all(tail.as_bytes()).unwrap();
    let placed = read_response(&mut in_flight).unwrap().expect(201);
    let late_id = placed["id"].as_i64().unwrap();
    let late_token = placed["token"].as_str().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(10);
    while server.is_running() {
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("exited {:?} after SIGTERM", signalled.elapsed());
    let log = server.log();
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !log.contains("still busy"),
        "a connection held up the stop:\n{log}"
    );

    server.restart();
    assert_eq!(server.order(late_id, &late_token)["status"], "placed");
}
