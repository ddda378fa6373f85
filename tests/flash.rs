//! The database on a router's flash. JFFS2, the overlay of most NOR-flash
//! routers, refuses the shared writable mmap SQLite's WAL needs for its
//! `-shm` file; a FUSE mount with `direct_io` (bindfs) refuses it the same
//! way. On such a directory the server must use a rollback journal and still
//! take orders from many phones at once, wake long-polls, let the CLI in
//! beside it, and keep everything across a restart.
//!
//! Needs root and bindfs (scripts/setup-test.sh installs it). Without them
//! it prints SKIPPED, unless ORDERSPOT_REQUIRE_FUSE=1 (CI), which fails.

mod common;

use common::{run_cli, NoMmapMount, Server, TempDir, PASSWORD, SHOP1};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn without_shared_mmap_the_server_uses_a_rollback_journal_and_loses_nothing() {
    let Some(mount) = NoMmapMount::or_skip() else {
        return;
    };
    let data_dir = Arc::new(TempDir {
        path: mount.point.join("data"),
    });
    let mut server = Server::start_in(data_dir.clone(), true);
    assert!(
        server.log().contains("using a rollback journal"),
        "no fallback in the log:\n{}",
        server.log()
    );
    assert!(data_dir.path.join("orderspot.db-journal").exists());
    assert!(!data_dir.path.join("orderspot.db-wal").exists());

    let shop = server.login(SHOP1, PASSWORD);
    // One loopback address stands for many phones.
    server.set_venue(&serde_json::json!({ "max_open_orders_per_device": 100 }));
    let dir = data_dir.path.to_str().unwrap();
    let item = server.menu(1)[0]["id"].as_i64().unwrap();

    // A customer waits on an order while phones place orders, others read
    // menus and the CLI writes beside the server.
    let (id, token, _) = server.place_ok(1, &[(item, 1)]);
    let addr = server.addr;
    let path = format!("/api/orders/{id}?since=1&wait=30&t={token}");
    let waiter = std::thread::spawn(move || common::request(addr, "GET", &path, &[], b""));
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10 {
                    server.place_ok(1, &[(item, 2)]);
                }
            });
            s.spawn(|| {
                for _ in 0..20 {
                    assert!(!server.menu(1).is_empty());
                    server.get("/api/shop/orders", Some(&shop)).expect(200);
                }
            });
        }
        s.spawn(|| {
            let out = run_cli(
                &["--data-dir", dir, "clients", "allow", "02:00:00:00:00:01"],
                "",
            );
            assert!(out.status.success(), "{out:?}");
        });
    });
    let moved = Instant::now();
    server.move_order(&shop, id, "accepted", "").expect(200);
    let answer = waiter.join().unwrap().expect(200);
    assert_eq!(answer["status"], "accepted");
    assert!(moved.elapsed() < Duration::from_secs(5));

    let count = |server: &Server| {
        server.get("/api/shop/orders", Some(&shop)).expect(200)["orders"]
            .as_array()
            .expect("orders")
            .len()
    };
    assert_eq!(count(&server), 41);
    server.restart();
    assert_eq!(count(&server), 41, "orders lost across a restart");
    let list = run_cli(&["--data-dir", dir, "clients", "list"], "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("02:00:00:00:00:01"));
}
