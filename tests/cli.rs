//! The binary as an operator meets it: `kill -9` right after an order is
//! acknowledged, restarts on the same data, and the `admin` commands run
//! over SSH while the server is up.

mod common;

use common::{run_cli, unique_ref, Server, TempDir, PASSWORD, SHOP1};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn item(server: &Server, shop_id: i64) -> i64 {
    server.menu(shop_id)[0]["id"].as_i64().unwrap()
}

#[test]
fn an_acknowledged_order_survives_kill_9() {
    let mut server = Server::start_demo();
    let shop1 = server.login(SHOP1, PASSWORD);
    let item = item(&server, 1);

    let (moved, moved_token, _) = server.place_ok(1, &[(item, 1)]);
    server.move_order(&shop1, moved, "accepted", "").expect(200);
    let client_ref = unique_ref();
    let last = server.place(1, &[(item, 3)], &client_ref).expect(201);
    // No pause: SIGKILL right after the 201.
    server.crash_and_restart();

    let id = last["id"].as_i64().unwrap();
    let token = last["token"].as_str().unwrap();
    let order = server.order(id, token);
    assert_eq!(order["status"], "placed");
    assert_eq!(order["total_cents"], last["total_cents"]);
    assert_eq!(order["items"], last["items"]);
    assert_eq!(order["pickup_code"], last["pickup_code"]);
    let accepted = server.order(moved, &moved_token);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["version"], 2);
    // Sessions survive too: the shop is still logged in, and replaying the
    // placement with its token finds the same order.
    let board = server.get("/api/shop/orders", Some(&shop1)).expect(200);
    assert_eq!(board["orders"].as_array().unwrap().len(), 2);
    let replay = server
        .place_as(Some(token), 1, &[(item, 3)], &client_ref)
        .expect(200);
    assert_eq!(replay["id"], last["id"]);
    assert_eq!(replay["token"], last["token"]);
}

#[test]
fn no_acknowledged_order_is_lost_when_killed_mid_stream() {
    let mut server = Server::start_demo();
    // One loopback address stands for a stream of customers.
    server.set_venue(&json!({ "max_open_orders_per_device": 100 }));
    let item = item(&server, 2);
    let addr = server.addr;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    // A customer stream placing orders back to back, recording each 201
    // (fewer than the 60 a client may place in a burst).
    let placer = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for _ in 0..55 {
            let body = json!({
                "shop_id": 2, "items": [{ "item_id": item, "qty": 1 }],
                "customer_name": "Stream", "note": "", "client_ref": unique_ref(),
            })
            .to_string();
            match common::try_request(
                addr,
                "POST",
                "/api/orders",
                &[("Content-Type", "application/json")],
                body.as_bytes(),
                Duration::from_secs(30),
            ) {
                Ok(response) if response.status == 201 => {
                    let order = response.json();
                    acknowledged.push((
                        order["id"].as_i64().unwrap(),
                        order["token"].as_str().unwrap().to_string(),
                    ));
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                // The kill landed during this request: no promise was made.
                _ => break,
            }
        }
        acknowledged
    });
    // Kill while the stream is in full flow.
    while count.load(Ordering::SeqCst) < 20 && !placer.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill();
    let acknowledged = placer.join().unwrap();
    println!("{} orders acknowledged before kill -9", acknowledged.len());
    assert!(
        acknowledged.len() < 55,
        "the kill came after the stream ended"
    );
    server.crash_and_restart();
    for (id, token) in &acknowledged {
        let order = server.order(*id, token);
        assert_eq!(order["status"], "placed");
    }
    let shop2 = server.login(common::SHOP2, PASSWORD);
    let board = server.get("/api/shop/orders", Some(&shop2)).expect(200);
    let on_board = board["orders"].as_array().unwrap().len();
    assert!(
        on_board >= acknowledged.len(),
        "{on_board} on the board, {} acknowledged",
        acknowledged.len()
    );
}

#[test]
fn sigterm_stops_promptly_despite_long_polls_and_keeps_the_data() {
    let mut server = Server::start_demo();
    let (id, token, _) = server.place_ok(1, &[(item(&server, 1), 1)]);
    // Customers holding 60-second long-polls must not delay a restart.
    // Raw sockets: all twenty sent before any answer is read.
    let mut waiters = Vec::new();
    for _ in 0..20 {
        let mut stream = common::connect(server.addr, Duration::from_secs(90)).unwrap();
        let path = format!("/api/orders/{id}?since=1&wait=60&t={token}");
        common::send_request(&mut stream, server.addr, "GET", &path, &[], b"").unwrap();
        waiters.push(stream);
    }
    let locals: Vec<_> = waiters.iter().map(|s| s.local_addr().unwrap()).collect();
    common::wait_until(
        "the server to take every long-poll",
        common::CONDITION_TIMEOUT,
        || common::requests_taken(server.addr, &locals),
    );
    let started = std::time::Instant::now();
    let graceful = server.stop();
    let took = started.elapsed();
    println!("SIGTERM with 20 long-polls waiting: stopped after {took:?}");
    assert!(graceful, "still running 15 s after SIGTERM");
    assert!(server.log().contains("stopped"), "{}", server.log());
    server.restart();
    assert_eq!(server.order(id, &token)["status"], "placed");
}

#[test]
fn admin_commands_create_the_owner_and_reset_passwords() {
    let dir = Arc::new(TempDir::new("admin"));
    let data_dir = dir.path.to_str().unwrap().to_string();
    let admin = |args: &[&str], stdin: &str| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data_dir]);
        run_cli(&all, stdin)
    };
    let ok = |output: &std::process::Output| {
        assert!(
            output.status.success(),
            "failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let failed = |output: &std::process::Output| {
        assert!(!output.status.success(), "should have failed");
        assert!(!output.stderr.is_empty(), "a failure says why on stderr");
    };

    let email = "Boss@Venue.example";
    let created = admin(
        &["create-owner", "--email", email, "--password-stdin"],
        "first secret 1\n",
    );
    ok(&created);
    let said = String::from_utf8_lossy(&created.stdout).to_lowercase();
    assert!(said.contains("boss@venue.example"), "{said}");
    assert!(common::has_database(&dir.path));
    // Twice, or with a weak password, or without --password-stdin: refused.
    failed(&admin(
        &["create-owner", "--email", email, "--password-stdin"],
        "first secret 1\n",
    ));
    failed(&admin(
        &[
            "create-owner",
            "--email",
            "b@venue.example",
            "--password-stdin",
        ],
        "short\n",
    ));
    failed(&admin(&["create-owner", "--email", "c@venue.example"], ""));

    // The server on that database (no demo): the owner logs in.
    let server = Server::start_in(dir.clone(), false);
    assert_eq!(server.get("/api/shops", None).expect(200), json!([]));
    let login = |password: &str| {
        server.post(
            "/api/auth/login",
            None,
            &json!({ "email": "boss@venue.example", "password": password }),
        )
    };
    let first = login("first secret 1").expect(200);
    assert_eq!(first["role"], "owner");
    let session = first["token"].as_str().unwrap().to_string();
    server.get("/api/admin/shops", Some(&session)).expect(200);

    // Reset while the server runs, as over SSH on the router.
    ok(&admin(
        &["reset-password", "--email", email, "--password-stdin"],
        "second secret 2\n",
    ));
    login("first secret 1").expect_error(401);
    let second = login("second secret 2").expect(200);
    assert_eq!(second["role"], "owner");
    // The old session was ended with the old password.
    server
        .get("/api/admin/shops", Some(&session))
        .expect_error(401);
    let session = second["token"].as_str().unwrap();
    server.get("/api/admin/shops", Some(session)).expect(200);

    // Unknown accounts and weak passwords are refused and change nothing.
    failed(&admin(
        &[
            "reset-password",
            "--email",
            "nobody@venue.example",
            "--password-stdin",
        ],
        "third secret 3\n",
    ));
    failed(&admin(
        &["reset-password", "--email", email, "--password-stdin"],
        "tiny\n",
    ));
    login("second secret 2").expect(200);
}

#[test]
fn version_and_help_read_well() {
    let version = run_cli(&["--version"], "");
    assert!(version.status.success());
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(
        text.starts_with("orderspot ") && text.contains(env!("CARGO_PKG_VERSION")),
        "{text}"
    );
    let help = run_cli(&["--help"], "");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for word in ["serve", "admin", "--data-dir"] {
        assert!(
            text.contains(word),
            "--help does not mention {word}: {text}"
        );
    }
}

/// A mistake on the command line is said on stderr, with exit code 2 and
/// nothing on stdout, as scripts calling the binary expect.
#[test]
fn a_mistaken_command_line_exits_2_saying_why_on_stderr() {
    for (args, said) in [
        (
            &["serve", "--bogus"][..],
            "error: unexpected argument '--bogus' found\n",
        ),
        (
            &["clients", "allow"][..],
            "error: the following required arguments were not provided:\n  <TARGET>\n",
        ),
        (&[][..], "OrderSpot serves the ordering web app"),
    ] {
        let output = run_cli(args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with(said), "{args:?}: {stderr}");
    }
}
