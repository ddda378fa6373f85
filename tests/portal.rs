//! The captive portal at the HTTP and DNS level, against the real binary on
//! loopback: requests carry the Host headers phones send for their
//! connectivity probes, and DNS queries go to `--dns` on a loopback port.
//! The "upstream resolver" of internet mode is a socket in this test.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Log, TempDir, BIN};

use orderspot::portal::dns::query_packet;
use orderspot::portal::dns::wire::{Message, Rcode, Record, CLASS_IN, TYPE_A, TYPE_AAAA};

/// (Host, path, status, body) of every probe once the client is online.
const PROBES: &[(&str, &str, u16, &str)] = &[
    ("connectivitycheck.gstatic.com", "/generate_204", 204, ""),
    ("clients3.google.com", "/generate_204", 204, ""),
    ("www.google.com", "/gen_204", 204, ""),
    (
        "captive.apple.com",
        "/hotspot-detect.html",
        200,
        "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
    ),
    (
        "www.msftconnecttest.com",
        "/connecttest.txt",
        200,
        "Microsoft Connect Test",
    ),
    ("www.msftncsi.com", "/ncsi.txt", 200, "Microsoft NCSI"),
    (
        "detectportal.firefox.com",
        "/canonical.html",
        200,
        "<meta http-equiv=\"refresh\" content=\"0;url=https://support.mozilla.org/kb/captive-portal\"/>",
    ),
    ("detectportal.firefox.com", "/success.txt", 200, "success\n"),
];

struct Portal {
    child: Child,
    http: SocketAddr,
    /// Where DNS answers over UDP, and over TCP: with port 0 the two differ.
    dns: SocketAddr,
    dns_tcp: SocketAddr,
    log: Log,
    args: Vec<String>,
    dir: TempDir,
}

impl Portal {
    fn start(mode: &str, extra: &[&str]) -> Portal {
        let dir = TempDir::new("portal");
        let mut args: Vec<String> = [
            "--mode",
            mode,
            "--portal-ip",
            "10.213.0.1",
            "--venue-name",
            "Loopback Food Court",
            "--demo",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        args.extend([
            "--arp-path".into(),
            dir.path.join("arp").display().to_string(),
        ]);
        let log = Log::default();
        let (child, http, (dns, dns_tcp)) = Portal::spawn(&dir, &args, &log);
        Portal {
            child,
            http,
            dns,
            dns_tcp,
            log,
            args,
            dir,
        }
    }

    /// Starts the binary on port 0 for HTTP and DNS and reads the addresses
    /// it bound from its log.
    fn spawn(
        dir: &TempDir,
        args: &[String],
        log: &Log,
    ) -> (Child, SocketAddr, (SocketAddr, SocketAddr)) {
        let from = log.len();
        let mut child = log.spawn(
            Command::new(BIN)
                .arg("--data-dir")
                .arg(&dir.path)
                .args(["serve", "--listen", "127.0.0.1:0", "--dns", "127.0.0.1:0"])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        );
        let dns = log.wait_for_dns(&mut child, from);
        let http = log.wait_for_http(&mut child, from);
        (child, http, dns)
    }

    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, http, (dns, dns_tcp)) = Portal::spawn(&self.dir, &self.args, &self.log);
        (self.child, self.http, self.dns, self.dns_tcp) = (child, http, dns, dns_tcp);
    }

    /// One request with this Host header; (status, headers, body).
    fn send(&self, method: &str, host: &str, path: &str, body: &str, ctype: &str) -> Reply {
        let response = common::request(
            self.http,
            method,
            path,
            &[("Host", host), ("Content-Type", ctype)],
            body.as_bytes(),
        );
        let head: Vec<String> = response
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}").to_ascii_lowercase())
            .collect();
        Reply {
            status: response.status,
            head: head.join("\r\n"),
            body: response.text(),
        }
    }

    fn get(&self, host: &str, path: &str) -> Reply {
        self.send("GET", host, path, "", "text/plain")
    }

    fn dns(&self, name: &str, qtype: u16) -> Message {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
            .send_to(&query_packet(0x4242, name, qtype).unwrap(), self.dns)
            .unwrap();
        let mut buf = [0u8; 4096];
        let len = socket.recv(&mut buf).unwrap();
        let reply = Message::parse(&buf[..len]).unwrap();
        assert_eq!(reply.id, 0x4242);
        reply
    }

    /// Clicks "Continue" on the landing page.
    fn accept(&self) {
        let landing = self.get("order.lan", "/welcome");
        assert_eq!(landing.status, 200);
        let csrf = landing
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("csrf field");
        let accepted = self.send(
            "POST",
            "order.lan",
            "/welcome/accept",
            &format!("csrf={csrf}"),
            "application/x-www-form-urlencoded",
        );
        assert_eq!(accepted.status, 303, "{}", accepted.body);
        assert_eq!(accepted.location(), "/");
    }

    fn cli(&self, args: &[&str]) -> String {
        let output = Command::new(BIN)
            .arg("--data-dir")
            .arg(&self.dir.path)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Places one order from the demo's first shop over the JSON API.
    fn place_order(&self, client_ref: &str) -> u16 {
        self.order(client_ref).status
    }

    /// Places one order; the reply carries its id and token.
    fn order(&self, client_ref: &str) -> Reply {
        let shops = self.get("order.lan", "/api/shops");
        let shops: serde_json::Value = serde_json::from_str(&shops.body).unwrap();
        let shop = shops[0]["id"].as_i64().unwrap();
        let menu = self.get("order.lan", &format!("/api/shops/{shop}/menu"));
        let menu: serde_json::Value = serde_json::from_str(&menu.body).unwrap();
        let item = menu["items"][0]["id"].as_i64().unwrap();
        let order = serde_json::json!({
            "shop_id": shop, "items": [{"item_id": item, "qty": 2}],
            "customer_name": "Ada", "note": "", "client_ref": client_ref,
        });
        self.send(
            "POST",
            "order.lan",
            "/api/orders",
            &order.to_string(),
            "application/json",
        )
    }

    /// What the kernel's ARP table says of 127.0.0.1 (the test's phone).
    fn set_mac(&self, mac: &str) {
        std::fs::write(
            self.dir.path.join("arp"),
            format!(
                "IP address HW type Flags HW address Mask Device\n127.0.0.1 0x1 0x2 {mac} * lo\n"
            ),
        )
        .unwrap();
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- orderspot log ----\n{}", self.log.text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn location(&self) -> &str {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap_or("")
    }
}

fn assert_redirected(portal: &Portal, host: &str, path: &str) {
    let reply = portal.get(host, path);
    assert_eq!(reply.status, 302, "{host}{path}");
    let original = format!("http://{host}{path}");
    let expected = format!(
        "http://order.lan/?url={}",
        orderspot::support::text::percent_encode(&original)
    )
    .to_ascii_lowercase();
    assert_eq!(reply.location(), expected, "{host}{path}");
    assert!(
        reply.body.contains("href=\"http://order.lan/?url="),
        "{}",
        reply.body
    );
}

fn assert_online(portal: &Portal, host: &str, path: &str, status: u16, body: &str) {
    let reply = portal.get(host, path);
    assert_eq!(reply.status, status, "{host}{path}");
    assert_eq!(reply.body, body, "{host}{path}");
}

fn captive(portal: &Portal) -> serde_json::Value {
    let reply = portal.get("order.lan", "/captive-portal/api");
    assert_eq!(reply.status, 200);
    assert!(reply
        .head
        .contains("content-type: application/captive+json"));
    let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    // In both modes, before and after acceptance: where to sign in, and the
    // ordering page Android offers as "Open site" (RFC 8908 venue-info-url).
    assert_eq!(doc["user-portal-url"], "http://order.lan/welcome");
    assert_eq!(doc["venue-info-url"], "http://order.lan/");
    assert_eq!(doc["captive"] == false, doc["seconds-remaining"].is_i64());
    doc
}

#[test]
fn local_mode_probes_before_and_after_acceptance_and_across_a_restart() {
    let mut portal = Portal::start("local", &[]);

    // Before: every probe and any other site go to the portal.
    for (host, path, _, _) in PROBES {
        assert_redirected(&portal, host, path);
    }
    assert_redirected(&portal, "example.com", "/some/page?x=1");
    assert_eq!(captive(&portal)["captive"], true);
    // DNS: any name is the portal; its own name too.
    for name in [
        "connectivitycheck.gstatic.com",
        "anything.example",
        "order.lan",
    ] {
        let reply = portal.dns(name, TYPE_A);
        assert_eq!(reply.answers[0].data, vec![10, 213, 0, 1], "{name}");
    }
    // No --portal-ip6: AAAA is an empty NOERROR.
    let aaaa = portal.dns("example.com", TYPE_AAAA);
    assert_eq!((aaaa.rcode(), aaaa.answers.len()), (0, 0));

    // The redirect target shows the landing page; the plain shop list
    // stays the shop list.
    let landing = portal.get("order.lan", "/?url=http%3A%2F%2Fexample.com%2F");
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("Loopback Food Court"));
    assert!(landing.body.contains(">Continue<"));
    assert!(!portal.get("127.0.0.1", "/").body.contains(">Continue<"));
    assert_eq!(portal.place_order("portal-test-before-local"), 201);

    portal.accept();

    // Android's probes stay captive (its sign-in window must stay open);
    // every other system hears "online".
    for (host, path, status, body) in PROBES {
        if *status == 204 {
            assert_redirected(&portal, host, path);
        } else {
            assert_online(&portal, host, path, *status, body);
        }
    }
    assert_redirected(&portal, "example.com", "/");
    let doc = captive(&portal);
    assert_eq!(doc["captive"], false);
    assert!(doc["seconds-remaining"].as_i64().unwrap() > 23 * 3600);
    // Local mode: DNS stays on the portal after acceptance too.
    assert_eq!(
        portal.dns("example.com", TYPE_A).answers[0].data,
        vec![10, 213, 0, 1]
    );
    assert_eq!(portal.place_order("portal-test-after-local"), 201);
    // The redirect target now goes to the shop list.
    assert!(!portal
        .get("order.lan", "/?url=x")
        .body
        .contains(">Continue<"));

    portal.restart();
    assert_online(
        &portal,
        "captive.apple.com",
        "/hotspot-detect.html",
        200,
        PROBES[3].3,
    );
    assert!(portal.cli(&["clients", "list"]).contains("accepted"));

    // Denied from the command line: back to the portal within a sync.
    portal.cli(&["clients", "deny", "127.0.0.1"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while portal
        .get("captive.apple.com", "/hotspot-detect.html")
        .status
        != 302
    {
        assert!(Instant::now() < deadline, "deny was not applied");
        std::thread::sleep(Duration::from_millis(200));
    }
    portal.cli(&["clients", "allow", "127.0.0.1", "--minutes", "5"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while portal
        .get("captive.apple.com", "/hotspot-detect.html")
        .status
        != 200
    {
        assert!(Instant::now() < deadline, "allow was not applied");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue 16: in local mode Android's sign-in window is the only thing bound
/// to the Wi-Fi and closes itself when its probe answers 204, so the probe
/// stays captive from Continue until the client's orders are finished, and
/// the window's landing reopens the open order's status page, for the same
/// device only.
#[test]
fn androids_window_stays_captive_until_the_order_is_finished() {
    let android = ("connectivitycheck.gstatic.com", "/generate_204");
    let portal = Portal::start("local", &[]);
    portal.set_mac("aa:bb:cc:dd:ee:01");
    portal.accept();
    assert_redirected(&portal, android.0, android.1);
    // No order yet: the window lands on the shop list.
    let shops = portal.get("order.lan", "/?url=x");
    assert_eq!(shops.status, 200);
    assert!(shops.body.contains("href=\"/shops/"), "{}", shops.body);

    let placed = portal.order("android-window-1");
    assert_eq!(placed.status, 201, "{}", placed.body);
    let placed: serde_json::Value = serde_json::from_str(&placed.body).unwrap();
    let (id, token) = (
        placed["id"].as_i64().unwrap(),
        placed["token"].as_str().unwrap(),
    );
    assert_redirected(&portal, android.0, android.1);
    // The window opened again lands on the order's status page.
    let status_url = format!(
        "/o/{id}?t={}",
        orderspot::support::text::percent_encode(token)
    );
    let back = portal.get("order.lan", "/?url=x");
    assert_eq!(
        (back.status, back.location()),
        (303, status_url.to_ascii_lowercase().as_str())
    );
    assert_eq!(portal.get("order.lan", &status_url).status, 200);
    // Another device on the reused address never sees that order.
    portal.set_mac("aa:bb:cc:dd:ee:02");
    let other = portal.get("order.lan", "/?url=x");
    assert_eq!(other.status, 200);
    assert!(!other.body.contains(&format!("/o/{id}")));
    portal.set_mac("aa:bb:cc:dd:ee:01");
    assert_eq!(portal.get("order.lan", "/?url=x").status, 303);

    // Finished (here cancelled by the customer): within a sync the probe
    // says online, and the window may close.
    let cancel = portal.send(
        "POST",
        "order.lan",
        &format!(
            "/api/orders/{id}/cancel?t={}",
            orderspot::support::text::percent_encode(token)
        ),
        "",
        "application/json",
    );
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let deadline = Instant::now() + Duration::from_secs(15);
    while portal.get(android.0, android.1).status != 204 {
        assert!(
            Instant::now() < deadline,
            "the finished order was not noticed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(portal.get("order.lan", "/?url=x").status, 200);
}

/// A resolver on loopback that answers every A query with 192.0.2.7.
fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            let Ok(query) = Message::parse(&buf[..len]) else {
                continue;
            };
            let record = Record {
                name: query.questions[0].name.clone(),
                rtype: TYPE_A,
                class: CLASS_IN,
                ttl: 60,
                data: vec![192, 0, 2, 7],
            };
            let _ = socket.send_to(&query.reply(Rcode::NoError, vec![record]).encode(), from);
        }
    });
    addr
}

#[test]
fn internet_mode_forwards_accepted_clients_dns_and_answers_probes() {
    let upstream = fake_upstream().to_string();
    let portal = Portal::start(
        "internet",
        &["--upstream", &upstream, "--portal-ip6", "fd13::1"],
    );
    for (host, path, _, _) in PROBES {
        assert_redirected(&portal, host, path);
    }
    assert_eq!(
        portal.dns("example.com", TYPE_A).answers[0].data,
        vec![10, 213, 0, 1]
    );
    let aaaa = portal.dns("example.com", TYPE_AAAA);
    let v6: std::net::Ipv6Addr = "fd13::1".parse().unwrap();
    assert_eq!(aaaa.answers[0].data, v6.octets().to_vec());
    assert_eq!(captive(&portal)["captive"], true);
    assert_eq!(portal.place_order("portal-test-before-internet"), 201);

    portal.accept();

    // Forwarded now; the portal's own name never leaves the router.
    assert_eq!(
        portal.dns("example.com", TYPE_A).answers[0].data,
        vec![192, 0, 2, 7]
    );
    assert_eq!(
        portal.dns("order.lan", TYPE_A).answers[0].data,
        vec![10, 213, 0, 1]
    );
    // A probe that still reaches us (a cached DNS answer) hears "online".
    for (host, path, status, body) in PROBES {
        assert_online(&portal, host, path, *status, body);
    }
    let doc = captive(&portal);
    assert_eq!(doc["captive"], false);
    assert!(doc["seconds-remaining"].as_i64().unwrap() > 23 * 3600);
    assert_eq!(portal.place_order("portal-test-after-internet"), 201);
}

#[test]
fn a_dead_upstream_gets_servfail_and_junk_does_not_hurt() {
    let dead = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let portal = Portal::start("internet", &["--upstream", &dead.to_string()]);
    portal.accept();
    let started = Instant::now();
    assert_eq!(portal.dns("example.com", TYPE_A).rcode(), 2);
    assert!(started.elapsed() < Duration::from_secs(3));

    // Garbage, a truncated header, and a broken question.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for junk in [
        &b"\xff\xff\xff"[..],
        b"",
        b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3fab",
    ] {
        socket.send_to(junk, portal.dns).unwrap();
    }
    let mut buf = [0u8; 512];
    let len = socket.recv(&mut buf).unwrap();
    let formerr = Message::parse(&buf[..len]).unwrap();
    assert_eq!((formerr.id, formerr.rcode()), (7, 1));
    // Still serving, over TCP as well.
    let mut tcp = TcpStream::connect(portal.dns_tcp).unwrap();
    let query = query_packet(9, "order.lan", TYPE_A).unwrap();
    tcp.write_all(&(query.len() as u16).to_be_bytes()).unwrap();
    tcp.write_all(&query).unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).unwrap();
    let mut reply = vec![0; u16::from_be_bytes(len) as usize];
    tcp.read_exact(&mut reply).unwrap();
    assert_eq!(
        Message::parse(&reply).unwrap().answers[0].data,
        vec![10, 213, 0, 1]
    );
}
