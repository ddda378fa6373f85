//! `kill -9` at random moments while customers order and a shop moves their
//! orders through the stages, at least 20 times, in both journal modes (WAL,
//! and the rollback journal a router's JFFS2 flash forces). Afterwards every
//! acknowledged order is there with its items and its latest acknowledged
//! status, the database passes `PRAGMA integrity_check` (the system sqlite3
//! CLI: the router's trimmed SQLite omits that pragma), and placements
//! retried with the same `client_ref` after a kill made no duplicates.
//!
//! Also: long-poll clients that ask again with their last version after a
//! restart miss no change.
//!
//! The rollback-journal run needs root and bindfs (see tests/flash.rs).

mod common;

use common::{
    int_of, menu_prices, str_of, try_request_from, unique_ref, NoMmapMount, Response, Server,
    TempDir, PASSWORD, SHOP1, STAGES,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const KILLS: usize = 20;
const WORKERS: u8 = 4;
/// No single request may take this long, even across a restart.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A small xorshift generator: the kill moments, reproducible from the
/// printed seed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(nanos | 1);
        println!("CRASH_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What a worker was told: an order acknowledged with its items, and the
/// last status the shop was told it moved to.
struct Acknowledged {
    id: i64,
    token: String,
    items: Vec<(i64, i64)>,
    status: String,
}

/// One customer's phone (its own loopback address, so the per-address
/// placement limit counts it alone) and the shop moving its orders.
struct Worker {
    from: IpAddr,
    addr: Arc<RwLock<SocketAddr>>,
    shop_token: String,
    stop: Arc<AtomicBool>,
    /// Counts down as workers get their device token.
    unready: Arc<AtomicUsize>,
    /// Placements and moves acknowledged so far, by every worker.
    acks: Arc<AtomicUsize>,
}

impl Worker {
    /// Sends until the server answers: a connection error means the server
    /// was killed, so the same request goes again to the restarted one.
    fn send(&self, method: &str, path: &str, token: Option<&str>, body: &Value) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let started = Instant::now();
        loop {
            let addr = *self.addr.read().unwrap();
            match try_request_from(
                self.from,
                addr,
                method,
                path,
                &headers,
                body.as_bytes(),
                REQUEST_TIMEOUT,
            ) {
                Ok(response) if response.status != 503 => return response,
                _ => {
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "{method} {path}: no answer for a minute"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Places orders and moves each through every stage until told to stop.
    fn run(&self, items: &[i64]) -> Vec<Acknowledged> {
        let mut done = Vec::new();
        // The device's token, minted by its first order, goes with every
        // later one, so a retried `client_ref` is answered to its holder. A
        // first order retried without one is refused (`409`: the reference
        // may be someone else's), so kills start once every worker has one.
        let mut token: Option<String> = None;
        let mut n = 0;
        while !self.stop.load(Ordering::SeqCst) {
            n += 1;
            let lines = vec![(items[n % items.len()], 1 + (n % 3) as i64)];
            let client_ref = unique_ref();
            let order = loop {
                let response = self.send(
                    "POST",
                    "/api/orders",
                    token.as_deref(),
                    &json!({
                        "shop_id": 1,
                        "items": lines.iter().map(|&(item_id, qty)| json!({"item_id": item_id, "qty": qty})).collect::<Vec<_>>(),
                        "customer_name": "Crash",
                        "note": "",
                        "client_ref": client_ref,
                    }),
                );
                match response.status {
                    200 | 201 => break response.json(),
                    // The per-address placement limit: wait for a token.
                    429 => std::thread::sleep(Duration::from_millis(500)),
                    _ => panic!("placement answered {response:?}"),
                }
            };
            self.acks.fetch_add(1, Ordering::SeqCst);
            let id = int_of(&order, "id");
            let order_token = str_of(&order, "token").to_string();
            if let Some(held) = &token {
                assert_eq!(*held, order_token, "a retry answered another token");
            }
            token = Some(order_token.clone());
            let mut acknowledged = Acknowledged {
                id,
                token: order_token,
                items: lines,
                status: "placed".into(),
            };
            for next in &STAGES[1..] {
                let path = format!("/api/shop/orders/{id}/status");
                let body = json!({ "status": next, "reason": "" });
                let response = self.send("POST", &path, Some(&self.shop_token), &body);
                match response.status {
                    200 => {
                        acknowledged.status = next.to_string();
                        self.acks.fetch_add(1, Ordering::SeqCst);
                    }
                    // Sent again after a kill that came after the commit.
                    409 => {
                        let now = self.send(
                            "GET",
                            &format!("/api/orders/{id}"),
                            Some(&acknowledged.token),
                            &Value::Null,
                        );
                        assert_eq!(str_of(&now.json(), "status"), *next, "{response:?}");
                        acknowledged.status = next.to_string();
                    }
                    _ => panic!("move to {next} answered {response:?}"),
                }
            }
            if done.is_empty() {
                self.unready.fetch_sub(1, Ordering::SeqCst);
            }
            done.push(acknowledged);
        }
        done
    }
}

fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 CLI (apt-get install sqlite3)");
    assert!(out.status.success(), "sqlite3 {sql}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn order_ids(db: &Path) -> BTreeSet<i64> {
    sqlite(db, "SELECT id FROM orders")
        .lines()
        .map(|line| line.parse().unwrap())
        .collect()
}

fn kill_at_random_while_ordering(data_dir: Arc<TempDir>) {
    let mut rng = Rng::seeded();
    let mut server = Server::start_in(data_dir.clone(), true);
    let db = data_dir.path.join("orderspot.db");
    server.set_venue(&json!({
        "max_open_orders_per_device": 1000,
        "max_open_orders_per_shop": 40000,
    }));
    let shop_token = server.login(SHOP1, PASSWORD);
    // Items of its own: no stock to run out, no options to choose.
    let items: Vec<i64> = ["Crash soup", "Crash bun"]
        .iter()
        .map(|name| {
            let body = json!({ "name": name, "price_cents": 250 });
            int_of(
                &server
                    .post("/api/shop/items", Some(&shop_token), &body)
                    .expect(201),
                "id",
            )
        })
        .collect();
    let before = order_ids(&db);

    let addr = Arc::new(RwLock::new(server.addr));
    let stop = Arc::new(AtomicBool::new(false));
    let unready = Arc::new(AtomicUsize::new(WORKERS.into()));
    let acks = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|n| {
            let worker = Worker {
                from: IpAddr::from([127, 0, 0, 10 + n]),
                addr: addr.clone(),
                shop_token: shop_token.clone(),
                stop: stop.clone(),
                unready: unready.clone(),
                acks: acks.clone(),
            };
            let items = items.clone();
            std::thread::spawn(move || worker.run(&items))
        })
        .collect();

    common::wait_until(
        "every worker's first order",
        Duration::from_secs(30),
        || unready.load(Ordering::SeqCst) == 0,
    );
    for _ in 0..KILLS {
        // Some work between kills however slow the machine (a flash-like
        // mount commits in about 100 ms), then a random moment.
        let before = acks.load(Ordering::SeqCst);
        common::wait_until(
            "acknowledgements since the last kill",
            Duration::from_secs(60),
            || acks.load(Ordering::SeqCst) >= before + 3,
        );
        std::thread::sleep(Duration::from_millis(rng.below(600)));
        assert!(server.is_running(), "the server died by itself");
        server.crash_and_restart();
        *addr.write().unwrap() = server.addr;
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let acknowledged: Vec<Acknowledged> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();
    println!(
        "{} orders acknowledged across {KILLS} kills",
        acknowledged.len()
    );
    assert!(acknowledged.len() >= 10, "too little load to say anything");

    for order in &acknowledged {
        let stored = server.order(order.id, &order.token);
        assert_eq!(
            str_of(&stored, "status"),
            order.status,
            "order {}",
            order.id
        );
        let lines: Vec<(i64, i64)> = stored["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| (int_of(line, "item_id"), int_of(line, "qty")))
            .collect();
        assert_eq!(lines, order.items, "order {}", order.id);
    }
    assert!(server.stop(), "no graceful stop after the crashes");

    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), "ok");
    // Every order placed is one some worker was acknowledged (each retried
    // until answered), and no retry made a second one.
    let placed: BTreeSet<i64> = order_ids(&db).difference(&before).copied().collect();
    let known: BTreeSet<i64> = acknowledged.iter().map(|order| order.id).collect();
    assert_eq!(
        known.len(),
        acknowledged.len(),
        "one order acknowledged twice"
    );
    assert_eq!(
        placed, known,
        "orders without an acknowledgement: duplicates"
    );
    let per_stage: BTreeMap<String, usize> =
        acknowledged
            .iter()
            .fold(BTreeMap::new(), |mut counts, order| {
                *counts.entry(order.status.clone()).or_default() += 1;
                counts
            });
    println!("final statuses: {per_stage:?}");
}

#[test]
fn kill_9_loses_no_acknowledged_order_with_wal() {
    let data_dir = Arc::new(TempDir::new("crash-wal"));
    kill_at_random_while_ordering(data_dir.clone());
    assert!(!data_dir.path.join("orderspot.db-journal").exists());
}

#[test]
fn kill_9_loses_no_acknowledged_order_with_a_rollback_journal() {
    let Some(mount) = NoMmapMount::or_skip() else {
        return;
    };
    let data_dir = Arc::new(TempDir {
        path: mount.point.join("data"),
    });
    kill_at_random_while_ordering(data_dir.clone());
    assert!(!data_dir.path.join("orderspot.db-wal").exists());
}

#[test]
fn long_polls_asked_again_after_a_restart_miss_no_change() {
    let mut server = Server::start_demo();
    let shop = server.login(SHOP1, PASSWORD);
    let item = menu_prices(&server, 1)[0].0;
    let (id, token, order) = server.place_ok(1, &[(item, 1)]);
    let mut version = int_of(&order, "version");
    let mut board_version = int_of(
        &server.get("/api/shop/orders", Some(&shop)).expect(200),
        "version",
    );
    let order_poll = |version: i64| format!("/api/orders/{id}?since={version}&wait=30");
    let board_poll = |version: i64| format!("/api/shop/orders?since={version}&wait=30");

    for (next, crash) in [("accepted", true), ("preparing", false)] {
        let order_wait = server.get_in_background(&order_poll(version), Some(&token));
        let board_wait = server.get_in_background(&board_poll(board_version), Some(&shop));
        order_wait.wait_until_taken();
        board_wait.wait_until_taken();
        if crash {
            server.crash_and_restart();
        } else {
            server.restart();
        }
        // A server going down answers, if at all, with nothing new.
        for (wait, since) in [(order_wait, version), (board_wait, board_version)] {
            if let Some(response) = wait.try_join().filter(|r| r.status == 200) {
                assert_eq!(int_of(&response.json(), "version"), since);
            }
        }
        // The change lands while no client is connected, and the clients,
        // asking again with their last version, hear of it at once.
        server.move_order(&shop, id, next, "").expect(200);
        let asked = Instant::now();
        let seen = server.get(&order_poll(version), Some(&token)).expect(200);
        assert_eq!(seen["status"], next);
        let seen_board = server
            .get(&board_poll(board_version), Some(&shop))
            .expect(200);
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "a client that asked again waited for a change it had missed"
        );
        assert!(int_of(&seen, "version") > version);
        assert!(int_of(&seen_board, "version") > board_version);
        version = int_of(&seen, "version");
        board_version = int_of(&seen_board, "version");
    }
    // The restarted server wakes new waiters as the first one did.
    let order_wait = server.get_in_background(&order_poll(version), Some(&token));
    order_wait.wait_until_taken();
    assert!(!order_wait.is_answered());
    server.move_order(&shop, id, "ready", "").expect(200);
    let (_, response) = order_wait.join();
    assert_eq!(response.expect(200)["status"], "ready");
}
