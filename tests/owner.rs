//! The venue owner's day: first-run set-up (once, only from the LAN),
//! report figures, the audit log, backup during writes and restore.

mod common;

use common::*;
use serde_json::json;
use std::net::IpAddr;

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

fn setup_post(server: &Server, from: IpAddr, csrf: &str, email: &str) -> Response {
    let body = format!(
        "csrf={csrf}&venue_name=Food+Court&email={email}&password=a+long+password&time_zone=UTC&ssid=Court+WiFi"
    );
    request_from(
        from,
        server.addr,
        "POST",
        "/setup",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

#[test]
fn first_run_is_offered_once_and_only_from_the_lan() {
    let mut server = Server::start_empty_with(&["--portal-ip", "127.0.5.1"]);
    let lan: IpAddr = "127.0.0.2".parse().unwrap();
    let hotspot: IpAddr = "127.0.5.9".parse().unwrap();
    let accepted: IpAddr = "127.0.0.3".parse().unwrap();
    let out = run_cli(
        &[
            "--data-dir",
            server.data_dir.path.to_str().unwrap(),
            "clients",
            "allow",
            "127.0.0.3",
        ],
        "",
    );
    assert!(out.status.success());
    wait_until(
        "the acceptance reaches the server",
        CONDITION_TIMEOUT,
        || request_from(accepted, server.addr, "GET", "/", &[], b"").status == 200,
    );

    let home = request_from(lan, server.addr, "GET", "/", &[], b"");
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/setup"));
    assert_eq!(
        request_from(hotspot, server.addr, "GET", "/", &[], b"").status,
        200
    );
    assert_eq!(
        request_from(hotspot, server.addr, "GET", "/setup", &[], b"").status,
        404
    );
    assert_eq!(
        request_from(accepted, server.addr, "GET", "/setup", &[], b"").status,
        404
    );

    let page = request_from(lan, server.addr, "GET", "/setup", &[], b"");
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.text());
    let hotspot_csrf =
        csrf_of(&request_from(hotspot, server.addr, "GET", "/login", &[], b"").text());
    assert_eq!(
        setup_post(&server, hotspot, &hotspot_csrf, "x%40example.org").status,
        404
    );

    let done = setup_post(&server, lan, &csrf, "me%40example.org");
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.header("location"), Some("/admin"));
    let owner = server.login("me@example.org", "a long password");
    let venue = server.get("/api/admin/venue", Some(&owner)).expect(200);
    assert_eq!(venue["name"], "Food Court");
    assert_eq!(venue["ssid"], "Court WiFi");

    // Gone for good: no second owner, even from the LAN.
    assert_eq!(
        request_from(lan, server.addr, "GET", "/", &[], b"").status,
        200
    );
    assert_eq!(
        request_from(lan, server.addr, "GET", "/setup", &[], b"").status,
        404
    );
    assert_eq!(
        setup_post(&server, lan, &csrf, "two%40example.org").status,
        404
    );
    server.restart();
    assert_eq!(
        request_from(lan, server.addr, "GET", "/setup", &[], b"").status,
        404
    );
    let audit = server
        .get("/api/admin/audit?action=venue.setup", Some(&owner))
        .expect(200);
    assert_eq!(audit.as_array().unwrap().len(), 1);
    assert_eq!(audit[0]["address"], "127.0.0.2");
}

/// `--listen` on one of the router's own addresses (here 127.0.0.1) says
/// nothing about the hotspot: a LAN client beside it is offered set-up.
#[test]
fn a_specific_listen_address_leaves_its_network_the_lan() {
    let server = Server::start_empty();
    let lan: IpAddr = "127.0.0.2".parse().unwrap();
    let home = request_from(lan, server.addr, "GET", "/", &[], b"");
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/setup"));
    assert_eq!(
        request_from(lan, server.addr, "GET", "/setup", &[], b"").status,
        200
    );
}

#[test]
fn a_days_report_counts_what_happened() {
    let server = Server::start_demo();
    let shop = server.login(SHOP1, PASSWORD);
    let owner = server.login(OWNER, PASSWORD);
    let items = menu_prices(&server, 1);
    let (first, _, placed) = server.place_ok(1, &[(items[0].0, 2)]);
    let (second, _, _) = server.place_ok(1, &[(items[0].0, 1)]);
    let (third, _, _) = server.place_ok(1, &[(items[1].0, 1)]);
    for status in ["accepted", "preparing", "ready", "completed"] {
        server
            .move_order(&shop, first, status, "")
            .assert_status(200);
    }
    server
        .move_order(&shop, third, "cancelled", "out of stock")
        .assert_status(200);
    let _ = second;
    let report = server.get("/api/reports?shop=1", Some(&owner)).expect(200);
    assert_eq!(report["orders"], 3);
    assert_eq!(report["completed"], 1);
    assert_eq!(report["cancelled"], 1);
    assert_eq!(report["revenue_cents"], int_of(&placed, "total_cents"));
    assert_eq!(report["revenue_cents"], items[0].1 * 2);
    assert_eq!(report["top_items"][0]["qty"], 3);
    assert_eq!(
        report["per_hour"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .sum::<i64>(),
        3
    );
    assert!(report["prep_p95_ms"].as_i64().unwrap() >= 0);
    // The keeper sees their own shop only, whatever they ask for.
    let own = server.get("/api/reports?shop=2", Some(&shop)).expect(200);
    assert_eq!(own["shop_id"], 1);
    let csv = server.get("/reports.csv", Some(&owner));
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("\u{feff}\"report\"".as_bytes()));
    let page = server.get("/reports?shop=1", Some(&owner));
    assert!(page.text().contains("<svg class=\"chart\""));
    server
        .get("/api/reports?from=2024-02-30", Some(&owner))
        .expect_error(400);
}

#[test]
fn approvals_suspensions_and_settings_are_audited() {
    let server = Server::start_demo();
    let owner = server.login(OWNER, PASSWORD);
    server
        .post("/api/admin/shops/2/suspend", Some(&owner), &json!({}))
        .expect(200);
    server
        .post("/api/admin/shops/2/approve", Some(&owner), &json!({}))
        .expect(200);
    server.set_venue(&json!({ "name": "Night Market" }));
    let all = server.get("/api/admin/audit", Some(&owner)).expect(200);
    let actions: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["venue.settings", "shop.approve", "shop.suspend"]);
    assert_eq!(all[0]["detail"], "name");
    assert_eq!(all[1]["shop_id"], 2);
    let shop2 = server
        .get("/api/admin/audit?shop=2&action=shop.suspend", Some(&owner))
        .expect(200);
    assert_eq!(shop2.as_array().unwrap().len(), 1);
    let keeper = server.login(SHOP1, PASSWORD);
    server
        .get("/api/admin/audit", Some(&keeper))
        .expect_error(403);
}

#[test]
fn a_backup_taken_during_orders_restores_every_acknowledged_one() {
    let mut server = Server::start_demo();
    server.set_venue(&json!({ "max_open_orders_per_device": 1000 }));
    let items = menu_prices(&server, 2);
    let backup_file = server.data_dir.path.join("copy.db");
    let dir = server.data_dir.path.to_str().unwrap().to_string();
    // Acknowledged before the backup starts: each must be in it.
    for _ in 0..10 {
        server.place_ok(2, &[(items[0].0, 1)]);
    }
    let placing = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            (0..30)
                .map(|_| server.place_ok(2, &[(items[0].0, 1)]).0)
                .collect::<Vec<_>>()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        let out = run_cli(
            &["--data-dir", &dir, "backup", backup_file.to_str().unwrap()],
            "",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        writer.join().unwrap()
    });
    // Refused while the server runs.
    let out = run_cli(
        &["--data-dir", &dir, "restore", backup_file.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"));
    // After the backup, every order acknowledged by then is in it.
    let owner = server.login(OWNER, PASSWORD);
    let before = server.get("/api/reports?shop=2", Some(&owner)).expect(200)["orders"]
        .as_i64()
        .unwrap();
    assert_eq!(before, 40);
    server.stop();
    let garbage = server.data_dir.path.join("garbage.db");
    std::fs::write(&garbage, b"not a database, not at all").unwrap();
    let out = run_cli(
        &["--data-dir", &dir, "restore", garbage.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    let newer = server.data_dir.path.join("newer.db");
    std::fs::copy(&backup_file, &newer).unwrap();
    let conn = rusqlite_free_user_version(&newer, 999);
    assert!(conn);
    let out = run_cli(
        &["--data-dir", &dir, "restore", newer.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer"));
    let out = run_cli(
        &["--data-dir", &dir, "restore", backup_file.to_str().unwrap()],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.restart();
    let owner = server.login(OWNER, PASSWORD);
    let restored = server.get("/api/reports?shop=2", Some(&owner)).expect(200)["orders"]
        .as_i64()
        .unwrap();
    assert!((10..=40).contains(&restored), "{restored}");
    let audit = server
        .get("/api/admin/audit?action=backup.restore", Some(&owner))
        .expect(200);
    assert_eq!(audit[0]["address"], "cli");
    let _ = placing;
}

/// Sets a database file's `user_version` by writing its header (bytes
/// 60–63, big-endian), as a newer OrderSpot would have left it.
fn rusqlite_free_user_version(path: &std::path::Path, version: u32) -> bool {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[60..64].copy_from_slice(&version.to_be_bytes());
    std::fs::write(path, bytes).is_ok()
}
