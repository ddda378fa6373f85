//! Slow and greedy clients all at once (slowloris headers, bodies sent a
//! byte at a time, connection floods up to the per-client cap, hundreds of
//! held long-polls) while customers order: each placement is still
//! answered within a second.

mod common;

use common::{connect_from, int_of, request_from, unique_ref, Server};
use serde_json::json;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server's default connections per client address.
const PER_CLIENT: usize = 64;

/// Holds `PER_CLIENT` connections from `from`, each opened with `start`
/// and fed one byte of `drip` every half second (reopened when the server
/// drops it), until `stop`.
fn attacker(
    from: IpAddr,
    addr: SocketAddr,
    start: &'static [u8],
    drip: u8,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let open = || -> Option<TcpStream> {
            let mut stream = connect_from(from, addr).ok()?;
            stream.write_all(start).ok()?;
            Some(stream)
        };
        let mut streams: Vec<Option<TcpStream>> = (0..PER_CLIENT).map(|_| open()).collect();
        while !stop.load(Ordering::SeqCst) {
            for stream in streams.iter_mut() {
                let alive = stream
                    .as_mut()
                    .is_some_and(|s| s.write_all(&[drip]).is_ok());
                if !alive {
                    *stream = open();
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })
}

#[test]
fn customers_order_within_a_second_among_slow_and_greedy_clients() {
    let server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 1000 }));
    let addr = server.addr;
    let item = server.menu(1)[0]["id"].as_i64().unwrap();
    let menu_version = int_of(
        &server.get("/api/shops/1/menu", None).expect(200),
        "version",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let ip = |n: u8| IpAddr::from([127, 0, 1, n]);

    let mut attackers = Vec::new();
    for n in 0..2 {
        // Headers that never end.
        attackers.push(attacker(
            ip(n),
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nX-a: ",
            b'a',
            stop.clone(),
        ));
        // A body that never arrives.
        attackers.push(attacker(
            ip(10 + n),
            addr,
            b"POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{",
            b' ',
            stop.clone(),
        ));
        // Idle connections up to the cap.
        attackers.push(attacker(ip(20 + n), addr, b"", b'\r', stop.clone()));
    }
    // Long-polls that stay held, from several addresses.
    let poll =
        format!("GET /api/shops/1/menu?since={menu_version}&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut polls = Vec::new();
    for n in 0..4 {
        for _ in 0..PER_CLIENT - 4 {
            let mut stream = connect_from(ip(30 + n), addr).expect("a long-poll connection");
            stream.write_all(poll.as_bytes()).unwrap();
            polls.push(stream);
        }
    }
    // The flood reaches the cap: one more from a flooding address is refused
    // (within a generous time: a loaded machine opens the flood slowly).
    let flooded = Instant::now();
    let mut refused = request_from(ip(20), addr, "GET", "/api/shops", &[], b"");
    while refused.status != 503 && flooded.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
        refused = request_from(ip(20), addr, "GET", "/api/shops", &[], b"");
    }
    assert_eq!(refused.status, 503, "{refused:?}");

    let mut slowest = Duration::ZERO;
    for n in 0..30u8 {
        let started = Instant::now();
        let body = json!({
            "shop_id": 1, "customer_name": "Hungry", "note": "", "client_ref": unique_ref(),
            "items": [{ "item_id": item, "qty": 1 }],
        })
        .to_string();
        let placed = request_from(
            ip(100 + n % 8),
            addr,
            "POST",
            "/api/orders",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        slowest = slowest.max(started.elapsed());
        assert_eq!(placed.status, 201, "{placed:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "slowest placement among {} held long-polls: {slowest:?}",
        polls.len()
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a placement took {slowest:?}"
    );
    stop.store(true, Ordering::SeqCst);
    for attacker in attackers {
        attacker.join().unwrap();
    }
}
