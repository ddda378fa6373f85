//! Held long-polls keep no HTTP buffers: a customer's long-poll is read and
//! answered by the server's lean reader, on connections that served other
//! requests before and after it (keep-alive, pipelining), while heads it
//! cannot take still get hyper's answers.

mod common;

use common::{
    connect, read_response, send_request, str_of, Server, CONDITION_TIMEOUT, PASSWORD, SHOP1,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The server's resident memory in KB.
fn rss_kb(server: &Server) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.pid().unwrap())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn keep_alive_get(stream: &mut TcpStream, server: &Server, path: &str) {
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
}

/// Whether nothing has come on `stream` for a moment.
fn unanswered(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let quiet =
        matches!(stream.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    stream.set_read_timeout(Some(common::READ_TIMEOUT)).unwrap();
    quiet
}

/// Every response until the server closes, split by their lengths.
fn responses_until_closed(stream: &mut TcpStream) -> Vec<(u16, String)> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let mut text = String::from_utf8_lossy(&raw).into_owned();
    let mut found = Vec::new();
    while let Some(end) = text.find("\r\n\r\n") {
        let head = text[..end].to_ascii_lowercase();
        let status = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse().unwrap());
        found.push((status, text[end + 4..end + 4 + length].to_string()));
        text = text[end + 4 + length..].to_string();
    }
    found
}

#[test]
fn held_long_polls_cost_a_few_kilobytes_even_on_connections_that_served_pages() {
    const WAITERS: usize = 400;
    let server = Server::start_demo_with(&["--max-connections-per-client", "1000"], None);
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, order) = server.place_ok(1, &[(item, 1)]);
    let since = order["version"].as_i64().unwrap();
    let mut streams: Vec<TcpStream> = (0..WAITERS)
        .map(|_| connect(server.addr, common::READ_TIMEOUT).unwrap())
        .collect();
    // Each connection first serves an ordinary request (hyper's), as a
    // status page's connection does before its script long-polls.
    for stream in &mut streams {
        keep_alive_get(stream, &server, "/api/shops");
        assert_eq!(read_response(stream).unwrap().status, 200);
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kb(&server);
    let poll = format!("/api/orders/{id}?since={since}&wait=60&t={token}");
    for stream in &mut streams {
        keep_alive_get(stream, &server, &poll);
    }
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        streams.iter_mut().all(unanswered),
        "answered before a change"
    );
    let each = (rss_kb(&server).saturating_sub(before) * 1024) / WAITERS as u64;
    println!("{WAITERS} held long-polls: {each} bytes of resident memory each");
    // Hyper kept 16 KiB of buffers per connection (about 20 KB a waiter).
    assert!(each < 8 * 1024, "{each} bytes per held long-poll");

    server.move_order(&shop1, id, "accepted", "").expect(200);
    for stream in &mut streams {
        let answer = read_response(stream).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(str_of(&answer.json(), "status"), "accepted");
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert!(answer.header("date").is_some());
    }
    // The connection lives on: a page, then a long-poll answered at once.
    for stream in streams.iter_mut().take(20) {
        keep_alive_get(stream, &server, "/api/shops");
        assert_eq!(read_response(stream).unwrap().status, 200);
        keep_alive_get(
            stream,
            &server,
            &format!("/api/orders/{id}?since=0&t={token}"),
        );
        assert_eq!(read_response(stream).unwrap().status, 200);
    }
}

#[test]
fn pipelined_requests_behind_a_long_poll_are_answered_in_order() {
    let server = Server::start_demo();
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, order) = server.place_ok(1, &[(item, 1)]);
    let since = order["version"].as_i64().unwrap();
    let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
    let host = server.addr;
    // A held long-poll (ending after its second), then behind it a page
    // hyper answers, a long-poll answered at once, and a last request
    // asking to close.
    write!(
        stream,
        "GET /api/orders/{id}?since={since}&wait=1&t={token} HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /api/shops HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /api/orders/{id}?t={token} HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /api/orders/999999?t={token} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let answers = responses_until_closed(&mut stream);
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [200, 200, 200, 404], "{answers:?}");
    assert!(answers[0].1.contains("\"placed\""), "{answers:?}");
    assert!(answers[1].1.starts_with('['), "{answers:?}");
    assert!(
        answers[2].1.contains(&format!("\"id\":{id}")),
        "{answers:?}"
    );
}

#[test]
fn heads_the_lean_reader_cannot_take_get_hypers_answers() {
    let server = Server::start_demo();
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let (id, token, _) = server.place_ok(1, &[(item, 1)]);
    let host = server.addr;
    // Malformed heads: hyper's 400, and the connection closes.
    for head in [
        "GET /api/orders/1 HTTP/1.1\r\nBad Header: x\r\n\r\n".to_string(),
        "GE(T /api/orders/1 HTTP/1.1\r\n\r\n".to_string(),
        format!("GET /api/orders/{id}?t={token} HTTP/1.1\r\nHost: {host}\r\nX: \x01\r\n\r\n"),
    ] {
        let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let answers = responses_until_closed(&mut stream);
        assert_eq!(answers.len(), 1, "{head:?}: {answers:?}");
        assert_eq!(answers[0].0, 400, "{head:?}: {answers:?}");
    }
    // A long-poll with a head over the lean reader's 8 KiB, and one in
    // HTTP/1.0: hyper answers them as before.
    let padding = "a".repeat(20 * 1024);
    let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
    send_request(
        &mut stream,
        server.addr,
        "GET",
        &format!("/api/orders/{id}?t={token}"),
        &[("X-Padding", &padding)],
        b"",
    )
    .unwrap();
    let answer = read_response(&mut stream).unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
    write!(stream, "GET /api/orders/{id}?t={token} HTTP/1.0\r\n\r\n").unwrap();
    let answers = responses_until_closed(&mut stream);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].0, 200, "{answers:?}");
    // A client that sends half a head and hangs up leaves the server serving.
    let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
    stream.write_all(b"GET /api/orders/1 HTT").unwrap();
    drop(stream);
    let started = std::time::Instant::now();
    assert_eq!(server.get("/api/shops", None).status, 200);
    assert!(started.elapsed() < CONDITION_TIMEOUT);
}

/// One response's raw bytes as text, with its `date` line taken out.
fn raw_response(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    let head: String = head
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("date: "))
        .collect();
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn gets_without_a_body_get_the_bytes_hyper_sends_and_keep_their_connection() {
    let server = Server::start_demo();
    let host = server.addr.to_string();
    let mut lean = connect(server.addr, common::READ_TIMEOUT).unwrap();
    for (path, host) in [
        ("/shops/1", host.as_str()),
        ("/shops/1?lang=es", &host),
        ("/admin?lang=hi", &host),
        ("/no/such/page", &host),
        ("/api/orders/999999", &host),
        ("/some/page?x=1", "example.com"),
    ] {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
        // A chunked (empty) body: hyper takes that connection for good.
        let mut hyper_s = connect(server.addr, common::READ_TIMEOUT).unwrap();
        write!(hyper_s, "{head}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").unwrap();
        let expected = raw_response(&mut hyper_s);
        write!(lean, "{head}\r\n").unwrap();
        let answered = raw_response(&mut lean);
        assert_eq!(answered, expected, "{path} for {host}");
        assert!(!answered.contains("connection:"), "{answered}");
    }
}

#[test]
fn requests_with_a_body_keep_their_connection() {
    let server = Server::start_demo();
    let host = server.addr;
    let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
    let login = r#"{"email":"nobody@demo.local","password":"wrong"}"#;
    for _ in 0..2 {
        // A body, with a request pipelined right behind it.
        write!(
            stream,
            "POST /api/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{login}GET /api/shops HTTP/1.1\r\nHost: {host}\r\n\r\n",
            login.len()
        )
        .unwrap();
        let refused = raw_response(&mut stream);
        assert!(refused.starts_with("HTTP/1.1 401 "), "{refused}");
        assert!(!refused.contains("connection:"), "{refused}");
        let shops = raw_response(&mut stream);
        assert!(shops.starts_with("HTTP/1.1 200 OK"), "{shops}");
    }
}

/// A page longer than the lean reader joins to its head (16 KB: the two
/// go out in separate writes) is not held back until the client has
/// acknowledged the head. With Nagle's algorithm on, each such answer on a
/// kept-alive connection waited for the client's delayed ACK: at least
/// 40 ms on Linux, up to 200 ms on phones.
#[test]
fn long_pages_on_a_kept_alive_connection_do_not_wait_for_an_ack() {
    let server = Server::start_demo();
    let mut stream = connect(server.addr, common::READ_TIMEOUT).unwrap();
    let mut times = Vec::new();
    for _ in 0..40 {
        let start = std::time::Instant::now();
        keep_alive_get(&mut stream, &server, "/shops/4");
        let page = raw_response(&mut stream);
        times.push(start.elapsed());
        assert!(page.len() > 16 * 1024, "the grocery stall's page is long");
    }
    times.sort();
    // Held back, every answer after the connection's first few quick
    // acknowledgements takes 40 ms or more.
    let median = times[times.len() / 2];
    assert!(median < Duration::from_millis(40), "{times:?}");
}
