//! The portal's DNS server against hostile clients, on the real binary over
//! loopback: UDP replies never amplify a query (at most one question, never
//! bigger than the query when refusing it, 512 bytes or the EDNS size
//! otherwise, with TC set when cut), and TCP slots cannot be held by one
//! address or by idle connections.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Log, TempDir, BIN};
use orderspot::portal::dns::wire::{
    Message, Name, Rcode, Record, CLASS_IN, FLAG_TC, TYPE_A, TYPE_AAAA, TYPE_ANY, TYPE_OPT,
    TYPE_SOA,
};
use orderspot::portal::dns::{query_packet, MAX_TCP_PER_CLIENT, MIN_UDP};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// `orderspot serve --dns` on loopback ports the kernel chose, killed when
/// dropped.
struct DnsServer {
    child: Child,
    /// Where DNS answers over UDP, and over TCP: with port 0 the two differ.
    dns: SocketAddr,
    dns_tcp: SocketAddr,
    _dir: TempDir,
}

impl DnsServer {
    fn start() -> DnsServer {
        DnsServer::start_with(&["--portal-ip6", "fd13::1"]).0
    }

    /// With `extra` arguments after the portal's IPv4; also the HTTP address.
    fn start_with(extra: &[&str]) -> (DnsServer, SocketAddr) {
        let dir = TempDir::new("dns");
        let arp: PathBuf = dir.path.join("arp");
        let log = Log::default();
        let mut child = log.spawn(
            Command::new(BIN)
                .arg("--data-dir")
                .arg(&dir.path)
                .args(["serve", "--listen", "127.0.0.1:0", "--dns", "127.0.0.1:0"])
                .args(["--portal-ip", "10.213.0.1"])
                .args(extra)
                .arg("--arp-path")
                .arg(&arp)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        );
        let (dns, dns_tcp) = log.wait_for_dns(&mut child, 0);
        let http = log.wait_for_http(&mut child, 0);
        let server = DnsServer {
            child,
            dns,
            dns_tcp,
            _dir: dir,
        };
        (server, http)
    }

    fn try_udp(&self, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(wait)).unwrap();
        socket.send_to(packet, self.dns).unwrap();
        // Big enough for the largest datagram, so nothing is hidden by
        // truncation on our side.
        let mut buf = vec![0u8; 65536];
        let len = socket.recv(&mut buf).ok()?;
        Some(buf[..len].to_vec())
    }

    fn udp(&self, packet: &[u8]) -> Vec<u8> {
        self.try_udp(packet, Duration::from_secs(10))
            .expect("a UDP reply")
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The longest name there is: 255 bytes on the wire.
fn longest_name() -> String {
    [&"a".repeat(63)[..]; 3].join(".") + "." + &"b".repeat(61)
}

/// The 1,765-byte query: the longest name asked 250 times, every
/// repeat a 2-byte pointer back to the first.
fn many_questions() -> Vec<u8> {
    let mut packet = query_packet(0x0bad, &longest_name(), TYPE_A).unwrap();
    packet[4..6].copy_from_slice(&250u16.to_be_bytes());
    for _ in 1..250 {
        packet.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
    }
    assert_eq!(packet.len(), 1765);
    packet
}

#[test]
fn udp_replies_are_never_bigger_than_allowed() {
    let server = DnsServer::start();
    let attack = many_questions();
    let mut broken = attack.clone();
    broken.truncate(1000);
    for query in [&attack, &broken] {
        let reply = server.udp(query);
        assert!(
            reply.len() <= query.len(),
            "{}-byte reply to a {}-byte query",
            reply.len(),
            query.len()
        );
        let reply = Message::parse(&reply).unwrap();
        assert_eq!((reply.id, reply.rcode()), (0x0bad, 1));
        assert!(reply.questions.len() <= 1);
    }

    // ANY for the longest name: question, A and AAAA each repeat the name,
    // over 512 bytes. Plain UDP gets it cut with TC...
    let long = query_packet(7, &longest_name(), TYPE_ANY).unwrap();
    let cut = server.udp(&long);
    assert!(
        cut.len() <= MIN_UDP,
        "{}-byte reply without EDNS",
        cut.len()
    );
    let cut = Message::parse(&cut).unwrap();
    assert_eq!(cut.flags & FLAG_TC, FLAG_TC);
    assert_eq!((cut.id, cut.questions.len(), cut.answers.len()), (7, 1, 0));
    // ...TCP and an EDNS client with room for it get the whole answer.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let whole = runtime.block_on(async {
        let mut tcp = connect_from("127.0.0.1", server.dns_tcp).await.unwrap();
        ask(&mut tcp, &long).await.unwrap()
    });
    assert!(whole.len() > MIN_UDP);
    assert_eq!(Message::parse(&whole).unwrap().answers.len(), 2);
    let mut edns = Message::parse(&long).unwrap();
    edns.additional.push(Record {
        name: Name::from_text("").unwrap(),
        rtype: TYPE_OPT,
        class: 1232,
        ttl: 0,
        data: Vec::new(),
    });
    let edns_reply = Message::parse(&server.udp(&edns.encode())).unwrap();
    assert_eq!(edns_reply.flags & FLAG_TC, 0);
    assert_eq!(edns_reply.answers.len(), 2);
}

async fn connect_from(local_ip: &str, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{local_ip}:0").parse().unwrap())?;
    socket.connect(server).await
}

/// One framed query over TCP and its reply, within 10 s.
async fn ask(stream: &mut TcpStream, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let exchange = async {
        stream
            .write_all(&(query.len() as u16).to_be_bytes())
            .await?;
        stream.write_all(query).await?;
        let mut reply = vec![0; usize::from(stream.read_u16().await?)];
        stream.read_exact(&mut reply).await?;
        Ok(reply)
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)?
}

/// Waits up to `within` for the server to close `stream`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Polls `done` until it holds; panics naming `what` after 30 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn one_address_cannot_hold_every_tcp_slot() {
    let server = DnsServer::start();
    let query = query_packet(3, "order.lan", TYPE_A).unwrap();
    // 40 connections from one address, each asking every second: busy,
    // never idle.
    let answered = Arc::new(AtomicUsize::new(0));
    // Holders whose first query got an answer or a closed connection.
    let settled = Arc::new(AtomicUsize::new(0));
    // Queries answered on the holders' connections, all rounds together.
    let rounds = Arc::new(AtomicUsize::new(0));
    let mut holders = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (answered, settled, rounds) = (answered.clone(), settled.clone(), rounds.clone());
        let (query, dns) = (query.clone(), server.dns_tcp);
        holders.spawn(async move {
            let Ok(mut stream) = connect_from("127.0.0.1", dns).await else {
                settled.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let mut first = true;
            while ask(&mut stream, &query).await.is_ok() {
                rounds.fetch_add(1, Ordering::SeqCst);
                if std::mem::take(&mut first) {
                    answered.fetch_add(1, Ordering::SeqCst);
                    settled.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            if first {
                settled.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    until("every holder to be served or refused", || {
        settled.load(Ordering::SeqCst) == 40
    })
    .await;
    // Another client is still answered, again after the holders' next round.
    for _ in 0..2 {
        let mut other = connect_from("127.0.0.2", server.dns_tcp).await.unwrap();
        let reply = ask(&mut other, &query)
            .await
            .expect("127.0.0.2 answered over TCP");
        assert_eq!(
            Message::parse(&reply).unwrap().answers[0].data,
            [10, 213, 0, 1]
        );
        let (before, holding) = (
            rounds.load(Ordering::SeqCst),
            answered.load(Ordering::SeqCst),
        );
        until("the holders' next round", || {
            rounds.load(Ordering::SeqCst) >= before + holding
        })
        .await;
    }
    let holding = answered.load(Ordering::SeqCst);
    assert!(
        (1..=MAX_TCP_PER_CLIENT).contains(&holding),
        "{holding} connections from one address were served"
    );
    holders.abort_all();
}

#[tokio::test]
async fn idle_and_trickling_tcp_connections_are_closed() {
    let server = DnsServer::start();
    let query = query_packet(5, "order.lan", TYPE_A).unwrap();
    // Queries a second apart are fine; then silence closes the connection
    // well before the old 10 s.
    let mut idle = connect_from("127.0.0.1", server.dns_tcp).await.unwrap();
    ask(&mut idle, &query).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    ask(&mut idle, &query).await.unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(8)).await,
        "an idle connection stayed open"
    );

    // A query sent a byte every 700 ms does not keep its slot either.
    let trickler = connect_from("127.0.0.1", server.dns_tcp).await.unwrap();
    let (mut read, mut write) = trickler.into_split();
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    let trickle = tokio::spawn(async move {
        for byte in framed {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    });
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(8), read.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "a trickling connection stayed open: {closed:?}"
    );
    trickle.abort();
}

/// What phones ask on joining a Wi-Fi: addresses, the HTTPS and SVCB
/// records iOS and Android look up before connecting, a CNAME, and odd
/// types nobody should leave unanswered.
const TYPES: &[(u16, &str)] = &[
    (TYPE_A, "A"),
    (TYPE_AAAA, "AAAA"),
    (65, "HTTPS"),
    (64, "SVCB"),
    (5, "CNAME"),
    (16, "TXT"),
    (15, "MX"),
    (TYPE_ANY, "ANY"),
    (4242, "type 4242"),
];

/// Apple's probe names (which resolve through CNAMEs on the internet) and
/// an ordinary site.
const NAMES: &[&str] = &["captive.apple.com", "www.apple.com", "example.com"];

/// A name in wire form, as record data.
fn wire_name(name: &str) -> Vec<u8> {
    Name::from_text(name).unwrap().wire().to_vec()
}

/// What the fake internet resolver answers: Apple's CNAME chain then an
/// address for an A query, NODATA with apple.com's SOA for anything else.
fn upstream_reply(query: &Message) -> Message {
    let question = &query.questions[0];
    let record = |name: Name, rtype, data| Record {
        name,
        rtype,
        class: CLASS_IN,
        ttl: 300,
        data,
    };
    let mut reply = query.reply(Rcode::NoError, Vec::new());
    if question.qtype == TYPE_A {
        let edge = Name::from_text("captive-cidr.origin-apple.com.akadns.net").unwrap();
        let last = Name::from_text("captive.g.aaplimg.com").unwrap();
        reply.answers = vec![
            record(question.name.clone(), 5, edge.wire().to_vec()),
            record(edge, 5, last.wire().to_vec()),
            record(last, TYPE_A, vec![192, 0, 2, 17]),
        ];
    } else {
        let mut soa = wire_name("ns.apple.com");
        soa.extend(wire_name("hostmaster.apple.com"));
        soa.extend_from_slice(&[0; 20]);
        reply.authority = vec![record(Name::from_text("apple.com").unwrap(), TYPE_SOA, soa)];
    }
    reply
}

/// A resolver on loopback answering with `upstream_reply`.
fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            if let Ok(query) = Message::parse(&buf[..len]) {
                let _ = socket.send_to(&upstream_reply(&query).encode(), from);
            }
        }
    });
    addr
}

/// Taps Continue on the welcome page, from 127.0.0.1 like every query here.
fn accept(http: SocketAddr) {
    let page = common::request(http, "GET", "/welcome", &[("Host", "order.lan")], b"");
    let csrf = page
        .text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_string();
    let accepted = common::request(
        http,
        "POST",
        "/welcome/accept",
        &[
            ("Host", "order.lan"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(accepted.status, 303, "{}", accepted.text());
}

/// The portal's own answer to `name`/`qtype`: the address for A (and AAAA
/// with `--portal-ip6`), both for ANY, NODATA with an SOA for the rest.
fn assert_portal_answer(reply: &Message, name: &str, qtype: u16, ip6: bool, what: &str) {
    assert_eq!(reply.rcode(), 0, "{what}");
    let types: Vec<u16> = reply.answers.iter().map(|r| r.rtype).collect();
    let expected: Vec<u16> = match qtype {
        TYPE_A => vec![TYPE_A],
        TYPE_AAAA if ip6 => vec![TYPE_AAAA],
        TYPE_ANY if ip6 => vec![TYPE_A, TYPE_AAAA],
        TYPE_ANY => vec![TYPE_A],
        _ => vec![],
    };
    assert_eq!(types, expected, "{what}");
    for answer in &reply.answers {
        // The name itself, never a CNAME chain to follow.
        assert_eq!(answer.name.to_text(), name, "{what}");
        assert_eq!(answer.ttl, 10, "{what}");
    }
    if let Some(a) = reply.answers.iter().find(|r| r.rtype == TYPE_A) {
        assert_eq!(a.data, vec![10, 213, 0, 1], "{what}");
    }
    if expected.is_empty() {
        let soa: Vec<(u16, u32)> = reply.authority.iter().map(|r| (r.rtype, r.ttl)).collect();
        assert_eq!(soa, vec![(TYPE_SOA, 10)], "{what}: NODATA carries an SOA");
    } else {
        assert!(reply.authority.is_empty(), "{what}");
    }
}

#[test]
fn every_query_type_is_answered_at_once_in_both_modes() {
    let upstream = fake_upstream().to_string();
    let mut slowest = Duration::ZERO;
    for (mode, ip6) in [("local", false), ("internet", true)] {
        let mut args = vec!["--mode", mode, "--upstream", &upstream];
        if ip6 {
            args.extend(["--portal-ip6", "fd13::1"]);
        }
        let (server, http) = DnsServer::start_with(&args);
        for accepted in [false, true] {
            if accepted {
                accept(http);
            }
            for name in NAMES {
                for &(qtype, type_name) in TYPES {
                    let what = format!("{type_name} {name} in {mode} mode, accepted: {accepted}");
                    let query = query_packet(0x5151, name, qtype).unwrap();
                    let asked = Instant::now();
                    let reply = server
                        .try_udp(&query, Duration::from_secs(3))
                        .unwrap_or_else(|| panic!("no answer to {what}"));
                    let took = asked.elapsed();
                    slowest = slowest.max(took);
                    assert!(took < Duration::from_millis(500), "{what} took {took:?}");
                    let reply = Message::parse(&reply).unwrap();
                    assert_eq!(reply.id, 0x5151, "{what}");
                    if mode == "internet" && accepted {
                        // Forwarded: the upstream's answer, CNAME chain and all.
                        let upstream = upstream_reply(&Message::parse(&query).unwrap());
                        assert_eq!(reply.answers, upstream.answers, "{what}");
                        assert_eq!(reply.authority, upstream.authority, "{what}");
                    } else {
                        assert_portal_answer(&reply, name, qtype, ip6, &what);
                    }
                }
            }
        }
    }
    eprintln!(
        "slowest of {} DNS answers: {:.2} ms",
        2 * 2 * NAMES.len() * TYPES.len(),
        slowest.as_secs_f64() * 1000.0
    );
}
