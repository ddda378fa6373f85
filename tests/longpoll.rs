//! Long-polls: a waiter the server holds hears each change at once, with
//! the new version; without a change it ends after its wait; it hears only
//! its own order or shop; hundreds of waiters all wake.
//!
//! Each test proves its waiter was held before the change: the kernel shows
//! the server took the whole request off the socket, and no answer came
//! while nothing changed. An answer read from the database afterwards could
//! not pass that check.

mod common;

use common::{
    board, board_ids, connect, events, int_of, median, menu_prices, read_response, requests_taken,
    send_request, str_of, unique_ref, wait_until, Pending, Server, CONDITION_TIMEOUT, LIVE_BOUND,
    PASSWORD, SHOP1, SHOP2, STAGES,
};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long a held waiter must stay unanswered before the change. Not a
/// wait for anything: a window in which an answer would be a failure.
const QUIET: Duration = Duration::from_millis(150);

/// Proves the server holds `waiter`: it has read the whole request, and no
/// answer comes while nothing changes.
#[track_caller]
fn assert_held(waiter: &Pending) {
    waiter.wait_until_taken();
    std::thread::sleep(QUIET);
    assert!(!waiter.is_answered(), "answered before anything changed");
}

#[test]
fn a_waiting_customer_hears_each_move_at_once() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    let mut latencies = Vec::new();
    for (n, next) in STAGES.iter().enumerate().skip(1) {
        // The order's version before this move.
        let since = n as i64;
        // Alternate the two ways a phone sends its token.
        let waiter = if n % 2 == 0 {
            server.get_in_background(
                &format!("/api/orders/{id}?since={since}&wait=30&t={token}"),
                None,
            )
        } else {
            server.get_in_background(
                &format!("/api/orders/{id}?since={since}&wait=30"),
                Some(&token),
            )
        };
        assert_held(&waiter);
        let sent = Instant::now();
        server.move_order(&shop1, id, next, "").expect(200);
        let acknowledged = sent.elapsed();
        let (answered, response) = waiter.join();
        let latency = answered.duration_since(sent);
        let order = response.expect(200);
        assert_eq!(order["status"], *next);
        assert_eq!(int_of(&order, "version"), since + 1);
        assert_eq!(events(&order).len() as i64, since + 1);
        println!(
            "customer long-poll -> {next}: answered {latency:?} after the move was sent \
             (the move's own answer took {acknowledged:?})"
        );
        assert!(latency < LIVE_BOUND, "{latency:?} to hear '{next}'");
        latencies.push(latency);
    }
    let max = *latencies.iter().max().unwrap();
    println!(
        "customer long-poll latency: median {:?}, max {max:?} over {} moves",
        median(&mut latencies),
        latencies.len()
    );
}

#[test]
fn a_waiting_shop_hears_new_orders_and_changes_at_once() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let mut latencies = Vec::new();
    let mut version = int_of(&board(&server, &shop1), "version");
    for round in 0..4 {
        let waiter = server.get_in_background(
            &format!("/api/shop/orders?since={version}&wait=30"),
            Some(&shop1),
        );
        assert_held(&waiter);
        let sent = Instant::now();
        let order = server.place(1, &[(item, 1)], &unique_ref()).expect(201);
        let (answered, response) = waiter.join();
        let latency = answered.duration_since(sent);
        let seen = response.expect(200);
        assert_eq!(int_of(&seen, "version"), version + 1, "{seen}");
        assert!(board_ids(&seen).contains(&int_of(&order, "id")));
        println!(
            "shop long-poll, new order {round}: answered {latency:?} after the order was sent"
        );
        assert!(latency < LIVE_BOUND, "{latency:?} to hear a new order");
        latencies.push(latency);
        version = int_of(&seen, "version");

        // A customer cancelling wakes the board too.
        let waiter = server.get_in_background(
            &format!("/api/shop/orders?since={version}&wait=30"),
            Some(&shop1),
        );
        assert_held(&waiter);
        let sent = Instant::now();
        let id = int_of(&order, "id");
        server
            .post(
                &format!("/api/orders/{id}/cancel"),
                Some(str_of(&order, "token")),
                &json!({}),
            )
            .expect(200);
        let (answered, response) = waiter.join();
        let seen = response.expect(200);
        let latency = answered.duration_since(sent);
        assert!(latency < LIVE_BOUND, "{latency:?} to hear a cancellation");
        assert_eq!(int_of(&seen, "version"), version + 1, "{seen}");
        let cancelled = seen["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| int_of(o, "id") == id)
            .expect("the cancelled order stays on the board");
        assert_eq!(cancelled["status"], "cancelled");
        version = int_of(&seen, "version");
    }
    let max = *latencies.iter().max().unwrap();
    println!(
        "shop long-poll latency: median {:?}, max {max:?}",
        median(&mut latencies)
    );
}

#[test]
fn long_polls_without_a_change_end_after_the_wait_with_the_same_version() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    let shop_version = int_of(&board(&server, &shop1), "version");

    let started = Instant::now();
    let order = server
        .get(&format!("/api/orders/{id}?since=1&wait=1"), Some(&token))
        .expect(200);
    let waited = started.elapsed();
    println!("customer wait=1 without a change answered after {waited:?}");
    assert_eq!(order["version"], 1);
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(15), "{waited:?}");

    let started = Instant::now();
    let seen = server
        .get(
            &format!("/api/shop/orders?since={shop_version}&wait=1"),
            Some(&shop1),
        )
        .expect(200);
    let waited = started.elapsed();
    println!("shop wait=1 without a change answered after {waited:?}");
    assert_eq!(int_of(&seen, "version"), shop_version);
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(15), "{waited:?}");

    // Behind already: answered at once even with a long wait.
    let started = Instant::now();
    server
        .get(&format!("/api/orders/{id}?since=0&wait=30"), Some(&token))
        .expect(200);
    server
        .get("/api/shop/orders?since=0&wait=30", Some(&shop1))
        .expect(200);
    assert!(started.elapsed() < Duration::from_secs(15));

    // Nonsense parameters are bad input, not a hang.
    server
        .get(&format!("/api/orders/{id}?since=abc&wait=1"), Some(&token))
        .expect_error(400);
    server
        .get("/api/shop/orders?since=0&wait=soon", Some(&shop1))
        .expect_error(400);
}

#[test]
fn waiters_hear_only_their_own_orders_and_shop() {
    let server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let shop2 = server.login(SHOP2, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let (mine, my_token, _) = server.place_ok(1, &[(item, 1)]);
    let (theirs, _, _) = server.place_ok(1, &[(item, 2)]);
    let shop2_version = int_of(&board(&server, &shop2), "version");

    let started = Instant::now();
    let me = server.get_in_background(
        &format!("/api/orders/{mine}?since=1&wait=2"),
        Some(&my_token),
    );
    let other_shop = server.get_in_background(
        &format!("/api/shop/orders?since={shop2_version}&wait=2"),
        Some(&shop2),
    );
    assert_held(&me);
    assert_held(&other_shop);
    // Another customer's order moves, and shop 1 gets a new order.
    server
        .move_order(&shop1, theirs, "accepted", "")
        .expect(200);
    server.place_ok(1, &[(item, 3)]);

    let (answered, response) = me.join();
    let order = response.expect(200);
    assert_eq!(order["version"], 1, "woken by someone else's order");
    assert!(answered.duration_since(started) >= Duration::from_millis(1_800));
    let (answered, response) = other_shop.join();
    let seen = response.expect(200);
    assert_eq!(int_of(&seen, "version"), shop2_version, "woken by shop 1");
    assert!(board_ids(&seen).is_empty(), "{seen}");
    assert!(answered.duration_since(started) >= Duration::from_millis(1_800));
}

#[test]
fn hundreds_of_waiters_all_wake() {
    const CUSTOMERS: usize = 200;
    const SHOPS: usize = 50;
    // All from one address: more than one client's connection cap.
    let server = Server::start_demo_with(&["--max-connections-per-client", "300"], None);
    let shop1 = server.login(SHOP1, PASSWORD);
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    let shop_version = int_of(&board(&server, &shop1), "version");

    // Raw sockets: every request sent before any answer is read.
    let order_path = format!("/api/orders/{id}?since=1&wait=30");
    let board_path = format!("/api/shop/orders?since={shop_version}&wait=30");
    let customer_auth = format!("Bearer {token}");
    let shop_auth = format!("Bearer {shop1}");
    let mut waiters = Vec::new();
    for n in 0..CUSTOMERS + SHOPS {
        let (path, auth) = if n < CUSTOMERS {
            (&order_path, &customer_auth)
        } else {
            (&board_path, &shop_auth)
        };
        let mut stream = connect(server.addr, common::READ_TIMEOUT).expect("connect a waiter");
        send_request(
            &mut stream,
            server.addr,
            "GET",
            path,
            &[("Authorization", auth)],
            b"",
        )
        .expect("send a waiter's request");
        waiters.push(stream);
    }
    // The server has read every request, and answers none while nothing changes.
    let locals: Vec<_> = waiters.iter().map(|s| s.local_addr().unwrap()).collect();
    wait_until(
        "the server to take every waiter's request",
        CONDITION_TIMEOUT,
        || requests_taken(server.addr, &locals),
    );
    std::thread::sleep(QUIET);
    for stream in &waiters {
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let peek = stream.peek(&mut byte);
        assert!(
            matches!(&peek, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a waiter was answered before the change: {peek:?}"
        );
        stream.set_nonblocking(false).unwrap();
    }

    let sent = Instant::now();
    server.move_order(&shop1, id, "accepted", "").expect(200);
    for (n, stream) in waiters.iter_mut().enumerate() {
        let response = read_response(stream).expect("a waiter's answer");
        let body = response.expect(200);
        if n < CUSTOMERS {
            assert_eq!(body["status"], "accepted");
            assert_eq!(body["version"], 2);
        } else {
            assert_eq!(int_of(&body, "version"), shop_version + 1);
        }
    }
    let all = sent.elapsed();
    println!(
        "{CUSTOMERS} customer and {SHOPS} shop waiters all answered {all:?} after the move was sent"
    );
    // Far below the 30 s wait: they were woken, not timed out.
    assert!(all < Duration::from_secs(15), "{all:?}");
}

// ---------------------------------------------------------------------------
// The proof itself can fail

#[test]
#[should_panic(expected = "answered before anything changed")]
fn a_waiter_answered_from_the_database_fails_the_held_check() {
    let server = Server::start_demo();
    let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
    // Behind already (version 1 > 0): answered at once, never held.
    let waiter =
        server.get_in_background(&format!("/api/orders/{id}?since=0&wait=30"), Some(&token));
    assert_held(&waiter);
}

#[test]
fn the_kernel_shows_a_request_nobody_has_read() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let mut client = connect(server, Duration::from_secs(10)).unwrap();
    let local = client.local_addr().unwrap();
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    // Queued in the kernel, not accepted: not taken.
    wait_until(
        "the request to reach the listener's queue",
        CONDITION_TIMEOUT,
        || {
            common::tcp_sockets()
                .get(&(server, local))
                .is_some_and(|s| s.receive_queue > 0)
        },
    );
    assert!(!requests_taken(server, &[local]));
    let (mut accepted, _) = listener.accept().unwrap();
    assert!(!requests_taken(server, &[local]), "accepted but unread");
    let mut request = [0u8; 18];
    accepted.read_exact(&mut request).unwrap();
    wait_until("the read to show", CONDITION_TIMEOUT, || {
        requests_taken(server, &[local])
    });
}
