//! Connection floods: caps in total and per client, quick refusals above
//! them, a low open-file limit, and clients that never read their answers.

mod common;

use common::{connect, connect_from, menu_prices, read_response, send_request, Response, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Enough descriptors for the two floods' 4,000 sockets, held at once.
fn raise_own_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < 8192 && hard > soft {
        setrlimit(Resource::RLIMIT_NOFILE, hard.min(65536), hard).unwrap();
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        soft >= 4_200,
        "this test needs 4,200 open files, may have {soft}"
    );
}

/// One request on a fresh connection from `from`.
fn request_from(server: &Server, from: IpAddr, path: &str) -> std::io::Result<Response> {
    let mut stream = connect_from(from, server.addr)?;
    send_request(&mut stream, server.addr, "GET", path, &[], b"")?;
    read_response(&mut stream)
}

/// What the server answered on a connection that sent nothing: a refusal
/// is written at once, so this waits only `within`.
fn answer_unasked(stream: &mut TcpStream, within: Duration) -> std::io::Result<Response> {
    stream.set_read_timeout(Some(within))?;
    read_response(stream)
}

#[derive(Debug, Default)]
struct Tally {
    /// Still open and unanswered: admitted and waiting.
    held: usize,
    refused_503: usize,
    closed: usize,
    answered: usize,
}

/// Sorts connections by what the server has done with them so far, without
/// waiting on any.
fn tally(streams: &mut [TcpStream]) -> Tally {
    let mut tally = Tally::default();
    let mut buf = [0u8; 512];
    for stream in streams {
        stream.set_nonblocking(true).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => tally.closed += 1,
            Ok(n) if buf[..n].starts_with(b"HTTP/1.1 503") => tally.refused_503 += 1,
            Ok(_) => tally.answered += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => tally.held += 1,
            Err(_) => tally.closed += 1,
        }
    }
    tally
}

#[test]
fn two_thousand_connections_under_a_low_file_limit_leave_the_server_taking_orders() {
    raise_own_file_limit();
    let mut server = Server::start_demo_with(&[], Some(256));
    server.wait_for_log(
        "256 open files minus the reserve of 64 to allow 192 connections",
        |log| log.contains("at most 192 connections, 64 per client"),
    );
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, order) = server.place_ok(1, &[(item, 1)]);
    let version = order["version"].as_i64().unwrap();
    let long_poll = format!(
        "GET /api/orders/{id}?since={version}&wait=60 HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {token}\r\n\r\n",
        server.addr
    );

    // One client opens 2,000 connections, each waiting on a long-poll.
    let flooder = loopback(9);
    let mut flood = Vec::new();
    let mut failed = 0;
    let started = Instant::now();
    while flood.len() < 2_000 {
        match connect_from(flooder, server.addr) {
            Ok(mut stream) => {
                let _ = stream.write_all(long_poll.as_bytes());
                flood.push(stream);
            }
            Err(e) => {
                failed += 1;
                assert!(
                    failed < 5,
                    "the server stopped taking connections after {}: {e}",
                    flood.len()
                );
            }
        }
    }
    println!(
        "2,000 connections from one client in {:?}",
        started.elapsed()
    );
    assert!(server.is_running(), "the server died:\n{}", server.log());

    // Meanwhile another customer orders; making its token needs randomness.
    let started = Instant::now();
    server.place_ok(1, &[(item, 2)]);
    server.get("/api/shops", None).expect(200);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "an order took {:?} beside the flood",
        started.elapsed()
    );

    let seen = tally(&mut flood);
    println!("one client's flood: {seen:?}");
    assert!(seen.held + seen.answered <= 64, "{seen:?}");
    assert!(seen.refused_503 + seen.closed >= 2_000 - 64, "{seen:?}");

    // Now 2,000 from 40 addresses, 50 each: below the per-client cap, so
    // the total cap has to hold.
    let mut spread = Vec::new();
    for n in 0..2_000u32 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, (n % 40 + 1) as u8));
        let stream = connect_from(from, server.addr)
            .unwrap_or_else(|e| panic!("connection {n} of the spread flood: {e}"));
        spread.push(stream);
    }
    assert!(server.is_running(), "the server died:\n{}", server.log());
    let mut probe = connect_from(loopback(1), server.addr).unwrap();
    let refusal = answer_unasked(&mut probe, Duration::from_secs(10))
        .expect("a full server answers at once, not never");
    assert_eq!(refusal.status, 503, "{refusal:?}");
    assert_eq!(refusal.header("retry-after"), Some("5"));
    assert_eq!(refusal.header("connection"), Some("close"));
    assert!(refusal.text().contains("busy"), "{refusal:?}");
    let seen = tally(&mut spread);
    println!("40 clients' flood: {seen:?}");
    assert!(seen.held <= 192, "{seen:?}");
    assert!(seen.refused_503 >= 2_000 - 192, "{seen:?}");

    // Once the floods go, orders go through again.
    drop(spread);
    drop(flood);
    let order = serde_json::json!({
        "shop_id": 1,
        "items": [{ "item_id": item, "qty": 1 }],
        "customer_name": "After the flood",
        "client_ref": common::unique_ref(),
    })
    .to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let placed = common::try_request(
            server.addr,
            "POST",
            "/api/orders",
            &[("Content-Type", "application/json")],
            order.as_bytes(),
            Duration::from_secs(30),
        );
        match placed {
            Ok(placed) if placed.status == 201 => break,
            Ok(placed) => assert_eq!(placed.status, 503, "{placed:?}"),
            // Refused before the request was read: reset instead of 503.
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        }
        assert!(Instant::now() < deadline, "orders are still refused");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(server.is_running());
}

#[test]
fn one_client_over_its_cap_is_refused_at_once_while_others_are_served() {
    let server = Server::start_demo_with(&["--max-connections-per-client", "4"], None);
    let greedy = loopback(3);
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| connect_from(greedy, server.addr).unwrap())
        .collect();

    let started = Instant::now();
    let mut fifth = connect_from(greedy, server.addr).unwrap();
    let refusal = answer_unasked(&mut fifth, Duration::from_secs(5))
        .expect("the fifth connection is answered at once");
    assert_eq!(refusal.status, 503, "{refusal:?}");
    assert_eq!(refusal.header("retry-after"), Some("5"));
    assert_eq!(refusal.header("connection"), Some("close"));
    assert!(
        refusal
            .text()
            .contains("Too many connections from your device"),
        "{refusal:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let other = request_from(&server, loopback(4), "/api/shops").unwrap();
    assert_eq!(other.status, 200, "{other:?}");

    // A closed connection gives its place back.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match request_from(&server, greedy, "/api/shops") {
            Ok(again) if again.status == 200 => break,
            Ok(again) => assert_eq!(again.status, 503, "{again:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        }
        assert!(Instant::now() < deadline, "the place was not given back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout() {
    let server = Server::start_demo_with(&["--write-timeout", "2"], None);
    let mut stalled = connect_from(loopback(5), server.addr).unwrap();
    // 5,000 stylesheets (26 MB) asked for in one go: far more than the
    // socket buffers hold, so the server's writes stall.
    const ASKED: usize = 5_000;
    let request = format!(
        "GET /static/app.css HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    let one_answer = request_from(&server, loopback(1), "/static/app.css").unwrap();
    assert_eq!(one_answer.status, 200);
    let mut writer = stalled.try_clone().unwrap();
    let asking = std::thread::spawn(move || {
        for _ in 0..ASKED {
            if writer.write_all(request.as_bytes()).is_err() {
                break;
            }
        }
    });

    // The server's writes stall: its side holds unsent data, ours unread.
    let local = stalled.local_addr().unwrap();
    let socket = |from: SocketAddr, to: SocketAddr| common::tcp_sockets().get(&(from, to)).copied();
    common::wait_until(
        "the server's writes to stall",
        common::CONDITION_TIMEOUT,
        || {
            socket(server.addr, local).is_some_and(|s| s.send_queue > 0)
                && socket(local, server.addr).is_some_and(|s| s.receive_queue > 0)
        },
    );
    // Others are served while it stalls.
    let other = request_from(&server, loopback(6), "/api/shops").unwrap();
    assert_eq!(other.status, 200, "{other:?}");
    // The write timeout passes and the server lets the connection go.
    common::wait_until(
        "the server to drop the connection",
        common::CONDITION_TIMEOUT,
        || socket(server.addr, local).is_none_or(|s| s.state != common::TCP_ESTABLISHED),
    );

    // Long past the timeout: what is left in the buffers, then the end.
    stalled
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut taken = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        match stalled.read(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => taken += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break "reset",
            Err(e) => panic!("the connection was not dropped ({taken} bytes read): {e}"),
        }
    };
    asking.join().unwrap();
    let all = ASKED * one_answer.body.len();
    println!("the stalled connection was {end} after {taken} of {all}+ bytes");
    assert!(
        taken < all,
        "all {ASKED} answers arrived: the server waited for the reader"
    );
}

#[test]
fn slow_clients_are_cut_off_without_hurting_others() {
    let server = Server::start_demo();
    // Connected, then silence.
    let mut idle = connect(server.addr, Duration::from_secs(60)).unwrap();
    // Half a request line, then silence.
    let mut slow_head = connect(server.addr, Duration::from_secs(60)).unwrap();
    slow_head.write_all(b"GET /api/sho").unwrap();
    // Complete headers, then a body that never arrives.
    let mut slow_body = connect(server.addr, Duration::from_secs(60)).unwrap();
    slow_body
        .write_all(
            format!(
                "POST /api/orders HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Content-Length: 200\r\n\r\n{{\"shop_id\": 1",
                server.addr
            )
            .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();

    // Meanwhile everyone else is served normally, over a second or so (the
    // pause paces the orders; it waits for nothing).
    for _ in 0..5 {
        let (id, token, _) = server.place_ok(1, &[(menu_prices(&server, 1)[0].0, 1)]);
        server.order(id, &token);
        std::thread::sleep(Duration::from_millis(200));
    }

    // The half request line: the connection is closed (maybe with a 408).
    let mut rest = Vec::new();
    let result = slow_head.read_to_end(&mut rest);
    let cut = started.elapsed();
    println!(
        "half a request line: disconnected after {cut:?} ({result:?}, {:?})",
        String::from_utf8_lossy(&rest)
    );
    match result {
        Ok(_) => {}
        Err(e) => assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset,
            "not disconnected: {e}"
        ),
    }
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 408") || rest.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(cut < Duration::from_secs(25), "{cut:?}");

    // The idle connection is closed the same way.
    let mut rest = Vec::new();
    let result = idle.read_to_end(&mut rest);
    let cut = started.elapsed();
    println!("idle connection: disconnected after {cut:?} ({result:?})");
    assert!(
        result.is_ok()
            || matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "not disconnected: {result:?}"
    );
    assert!(cut < Duration::from_secs(25), "{cut:?}");

    // The stalled body: an error answer or a closed connection.
    let answer = read_response(&mut slow_body);
    let cut = started.elapsed();
    println!("stalled body: cut off after {cut:?}");
    if let Ok(response) = answer {
        assert!([400, 408].contains(&response.status), "{response:?}");
        response.expect_error(response.status);
    }
    assert!(cut < Duration::from_secs(25), "{cut:?}");
    // Still serving.
    server.get("/api/shops", None).expect(200);
}
