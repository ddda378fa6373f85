//! Shared by the integration tests: start the real `orderspot` binary on
//! port 0 with its own temporary data directory, read the address it bound
//! from its log, and talk to it with hyper's HTTP/1.1 client.
//!
//! ```ignore
//! mod common;
//! let server = common::Server::start_demo();
//! let token = server.login(common::SHOP1, common::PASSWORD);
//! let board = server.get("/api/shop/orders", Some(&token)).expect(200);
//! ```
//!
//! Every server listens on 127.0.0.1 only and is killed (and its data
//! directory removed) when the `Server` is dropped. Raw-socket helpers
//! ([`connect`], [`send_request`], [`read_response`], [`raw_request`]) are
//! for tests that must misbehave on the wire; everything else goes through
//! hyper.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_orderspot");

pub const OWNER: &str = "owner@demo.local";
pub const SHOP1: &str = "shop1@demo.local";
pub const SHOP2: &str = "shop2@demo.local";
pub const SHOP3: &str = "shop3@demo.local";
pub const PASSWORD: &str = "demo-password";

/// How long a started server may take to report its address (slow CI
/// machines, cold disks).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Socket read timeout: above the longest long-poll the API allows (60 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a test waits for a condition it expects to hold soon.
pub const CONDITION_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Temporary directories

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "orderspot-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("ORDERSPOT_KEEP_TEST_DATA").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

// ---------------------------------------------------------------------------
// Waiting on conditions

/// Polls `done` until it holds; panics naming `what` after `within`.
#[track_caller]
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------
// A child's log

/// Everything a child process wrote to stderr, line by line, with a way to
/// wait for a line to appear.
#[derive(Clone, Default)]
pub struct Log(Arc<(Mutex<String>, Condvar)>);

impl Log {
    pub fn text(&self) -> String {
        self.lock().clone()
    }

    /// How much has been logged so far: where a new run's lines begin.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Spawns `command` with its stderr drained into this log, so the child
    /// never blocks on a full pipe.
    pub fn spawn(&self, command: &mut Command) -> Child {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the orderspot binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (text, changed) = &*log.0;
                let mut text = text.lock().unwrap_or_else(|p| p.into_inner());
                text.push_str(&line);
                text.push('\n');
                changed.notify_all();
            }
        });
        child
    }

    /// Waits until a line logged after byte `from` yields `Some` from
    /// `find`; panics if `child` exits first or after [`START_TIMEOUT`].
    pub fn wait_for<T>(
        &self,
        child: &mut Child,
        from: usize,
        mut find: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + START_TIMEOUT;
        let (text, changed) = &*self.0;
        let mut text = text.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(found) = text.get(from..).unwrap_or("").lines().find_map(&mut find) {
                return found;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("orderspot exited with {status} before it was ready:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "orderspot was not ready within {START_TIMEOUT:?}:\n{text}"
            );
            // Woken by each new line; the timeout notices an exit.
            text = changed
                .wait_timeout(text, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The HTTP address from the `serving … on http://ADDR …` line.
    pub fn wait_for_http(&self, child: &mut Child, from: usize) -> SocketAddr {
        self.wait_for(child, from, serving_address)
    }

    /// The DNS addresses `(udp, tcp)` from the `DNS on … (UDP), … (TCP)` line.
    pub fn wait_for_dns(&self, child: &mut Child, from: usize) -> (SocketAddr, SocketAddr) {
        self.wait_for(child, from, |line| {
            let rest = line.strip_prefix("orderspot info: DNS on ")?;
            let (udp, rest) = rest.split_once(" (UDP), ")?;
            let (tcp, _) = rest.split_once(" (TCP)")?;
            Some((udp.parse().ok()?, tcp.parse().ok()?))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, String> {
        self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The HTTP address in a `serving <venue> on http://ADDR (data in …)` log line.
pub fn serving_address(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("orderspot info: serving ")?;
    let (_, rest) = rest.rsplit_once(" on http://")?;
    rest.split_whitespace().next()?.parse().ok()
}

// ---------------------------------------------------------------------------
// The server process

/// A running `orderspot serve` on 127.0.0.1 with its own data directory.
pub struct Server {
    child: Option<Child>,
    /// Where it listens: the port the kernel chose, read from its log.
    pub addr: SocketAddr,
    /// Where `orderspot.db` lives; shared across restarts.
    pub data_dir: Arc<TempDir>,
    demo: bool,
    /// Everything the server wrote to stderr (all of its runs), for diagnosis.
    log: Log,
    /// More `serve` flags.
    extra_args: Vec<String>,
    /// An open-file limit (soft and hard) to run under.
    file_limit: Option<u32>,
}

impl Server {
    /// The usual test server: the demo venue on a fresh database.
    pub fn start() -> Server {
        Server::start_demo()
    }

    /// A server with the demo venue (owner, shops 1–3 with menus).
    pub fn start_demo() -> Server {
        Server::start_in(Arc::new(TempDir::new("server")), true)
    }

    /// A server on an empty database (no accounts at all).
    pub fn start_empty() -> Server {
        Server::start_in(Arc::new(TempDir::new("server")), false)
    }

    /// A server on an empty database with more `serve` flags.
    pub fn start_empty_with(args: &[&str]) -> Server {
        Server::launched(
            Arc::new(TempDir::new("server")),
            false,
            args.iter().map(|a| a.to_string()).collect(),
            None,
        )
    }

    /// A server on `data_dir` (which may already hold a database).
    pub fn start_in(data_dir: Arc<TempDir>, demo: bool) -> Server {
        Server::launched(data_dir, demo, Vec::new(), None)
    }

    /// A demo server with more `serve` flags and, if given, an open-file
    /// limit (soft and hard, so the server cannot raise it).
    pub fn start_demo_with(args: &[&str], file_limit: Option<u32>) -> Server {
        Server::launched(
            Arc::new(TempDir::new("server")),
            true,
            args.iter().map(|a| a.to_string()).collect(),
            file_limit,
        )
    }

    fn launched(
        data_dir: Arc<TempDir>,
        demo: bool,
        extra_args: Vec<String>,
        file_limit: Option<u32>,
    ) -> Server {
        let mut server = Server {
            child: None,
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir,
            demo,
            log: Log::default(),
            extra_args,
            file_limit,
        };
        server.launch();
        server
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Starts the binary on port 0, reads the address it bound from its log
    /// and waits for its first answer.
    fn launch(&mut self) {
        let mut command = match self.file_limit {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(BIN);
                shell
            }
            None => Command::new(BIN),
        };
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.data_dir.path)
            .args(["--log-level", "info"])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if self.demo {
            command.arg("--demo");
        }
        command.args(&self.extra_args);
        let from = self.log.len();
        let mut child = self.log.spawn(&mut command);
        self.addr = self.log.wait_for_http(&mut child, from);
        self.child = Some(child);
        // Answering is the end of start-up: everything it logs is logged.
        self.get("/api/shops", None).assert_status(200);
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Waits until the server's log satisfies `done`.
    #[track_caller]
    pub fn wait_for_log(&self, what: &str, mut done: impl FnMut(&str) -> bool) {
        wait_until(what, CONDITION_TIMEOUT, || done(&self.log()));
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9`: no chance to flush or clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }

    /// Graceful stop (SIGTERM), falling back to SIGKILL after 15 s.
    /// Returns whether the server exited by itself.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Starts the binary again on the same data directory (new port).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Kills the server with SIGKILL and starts it again on the same data.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.launch();
    }

    // ---- HTTP ------------------------------------------------------------

    /// One request on a fresh connection; see [`request`].
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request(self.addr, method, path, headers, body)
    }

    /// A JSON request, with `Authorization: Bearer <token>` when given.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        self.request(method, path, &headers, body.as_bytes())
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.call("GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.call("POST", path, token, Some(body))
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.call("PATCH", path, token, Some(body))
    }

    /// A GET sent from its own thread, answered whenever the server likes:
    /// for long-polls. `token` goes as a bearer token.
    pub fn get_in_background(&self, path: &str, token: Option<&str>) -> Pending {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", &a[..])).collect();
        send_in_background(self.addr, "GET", path, &headers)
    }

    // ---- Domain helpers ------------------------------------------------------

    /// Logs in and returns the session token.
    pub fn login(&self, email: &str, password: &str) -> String {
        let response = self.post(
            "/api/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        );
        let body = response.expect(200);
        body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login answered no token: {body}"))
            .to_string()
    }

    /// Places an order (no customer token: one is made from `client_ref`).
    pub fn place(&self, shop_id: i64, items: &[(i64, i64)], client_ref: &str) -> Response {
        self.place_as(None, shop_id, items, client_ref)
    }

    /// Places an order under the customer's own token, if given.
    pub fn place_as(
        &self,
        token: Option<&str>,
        shop_id: i64,
        items: &[(i64, i64)],
        client_ref: &str,
    ) -> Response {
        let items: Vec<Value> = items
            .iter()
            .map(|&(item_id, qty)| json!({ "item_id": item_id, "qty": qty }))
            .collect();
        self.post(
            "/api/orders",
            token,
            &json!({
                "shop_id": shop_id,
                "items": items,
                "customer_name": "Test Customer",
                "note": "",
                "client_ref": client_ref,
            }),
        )
    }

    /// Changes venue settings as the demo owner (must succeed).
    pub fn set_venue(&self, changes: &Value) -> Value {
        let owner = self.login(OWNER, PASSWORD);
        self.patch("/api/admin/venue", Some(&owner), changes)
            .expect(200)
    }

    /// Places an order that must succeed: `(order id, customer token, order)`.
    pub fn place_ok(&self, shop_id: i64, items: &[(i64, i64)]) -> (i64, String, Value) {
        let order = self.place(shop_id, items, &unique_ref()).expect(201);
        let id = order["id"].as_i64().expect("order id");
        let token = order["token"].as_str().expect("order token").to_string();
        (id, token, order)
    }

    /// The order as its customer sees it (must succeed).
    pub fn order(&self, id: i64, customer_token: &str) -> Value {
        self.get(&format!("/api/orders/{id}"), Some(customer_token))
            .expect(200)
    }

    /// A shop moves an order: the raw response.
    pub fn move_order(&self, shop_token: &str, id: i64, status: &str, reason: &str) -> Response {
        self.post(
            &format!("/api/shop/orders/{id}/status"),
            Some(shop_token),
            &json!({ "status": status, "reason": reason }),
        )
    }

    /// An item of `shop` that needs no options and is not counted.
    pub fn plain_item(&self, shop: i64) -> i64 {
        self.menu(shop)
            .iter()
            .find(|i| {
                i["available"] == true
                    && i["stock"].is_null()
                    && i["window"].is_null()
                    && i["option_groups"]
                        .as_array()
                        .is_none_or(|g| g.iter().all(|g| g["min"] == 0))
            })
            .map(|i| int_of(i, "id"))
            .expect("a plain item")
    }

    /// The menu items of an approved shop.
    pub fn menu(&self, shop_id: i64) -> Vec<Value> {
        self.get(&format!("/api/shops/{shop_id}/menu"), None)
            .expect(200)["items"]
            .as_array()
            .expect("items array")
            .clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- orderspot log ({}) ----\n{}", self.addr, self.log());
        }
        self.kill();
    }
}

/// A fresh, valid `client_ref`.
pub fn unique_ref() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "ref-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Whether the tests run as root (mounts for the flash and storage tests).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// Runs `orderspot <args>` to completion with `stdin` as its input.
pub fn run_cli(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the orderspot binary");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait for orderspot")
}

/// Whether `dir` holds a database.
pub fn has_database(dir: &Path) -> bool {
    dir.join("orderspot.db").exists()
}

// ---------------------------------------------------------------------------
// Orders and boards as the API shows them

/// Every status an order can have.
pub const STATUSES: [&str; 6] = [
    "placed",
    "accepted",
    "preparing",
    "ready",
    "completed",
    "cancelled",
];
/// The forward path a shop taps through.
pub const STAGES: [&str; 5] = ["placed", "accepted", "preparing", "ready", "completed"];

/// The long-poll bound we assert (the product asks for < 100 ms; this only
/// has to hold on a slow, busy CI machine).
pub const LIVE_BOUND: Duration = Duration::from_secs(2);

/// `(item id, price)` of a shop's menu, in menu order.
pub fn menu_prices(server: &Server, shop_id: i64) -> Vec<(i64, i64)> {
    server
        .menu(shop_id)
        .iter()
        .map(|i| (int_of(i, "id"), int_of(i, "price_cents")))
        .collect()
}

/// A customer-made token (what a phone would keep in local storage).
pub fn customer_token() -> String {
    format!("customer_{}", unique_ref()).replace('-', "_") + "_0123456789abcdef"
}

pub fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("'{key}' is not a string in {value}"))
}

pub fn int_of(value: &Value, key: &str) -> i64 {
    value[key]
        .as_i64()
        .unwrap_or_else(|| panic!("'{key}' is not an integer in {value}"))
}

pub fn events(order: &Value) -> &Vec<Value> {
    order["events"].as_array().expect("events array")
}

/// The shop's board as its keeper sees it (must succeed).
pub fn board(server: &Server, shop_token: &str) -> Value {
    server.get("/api/shop/orders", Some(shop_token)).expect(200)
}

pub fn board_ids(board: &Value) -> Vec<i64> {
    board["orders"]
        .as_array()
        .expect("orders array")
        .iter()
        .map(|o| int_of(o, "id"))
        .collect()
}

/// Places an order at `shop_id` (first menu item) and moves it by the shop
/// to `status`; returns `(id, customer token)`.
pub fn order_in_status(
    server: &Server,
    shop_token: &str,
    shop_id: i64,
    status: &str,
) -> (i64, String) {
    let item = menu_prices(server, shop_id)[0].0;
    let (id, token, _) = server.place_ok(shop_id, &[(item, 1)]);
    if status == "cancelled" {
        server
            .move_order(shop_token, id, "cancelled", "set-up for the test")
            .expect(200);
    } else {
        let target = STAGES.iter().position(|s| *s == status).expect("a stage");
        for next in &STAGES[1..=target] {
            server.move_order(shop_token, id, next, "").expect(200);
        }
    }
    assert_eq!(server.order(id, &token)["status"], status);
    (id, token)
}

/// Whether the stage rules let a shop move an order from `from` to `to`.
pub fn shop_may(from: &str, to: &str) -> bool {
    let next = STAGES
        .iter()
        .position(|s| *s == from)
        .and_then(|i| STAGES.get(i + 1));
    next == Some(&to) || (to == "cancelled" && ["placed", "accepted", "preparing"].contains(&from))
}

pub fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

// ---------------------------------------------------------------------------
// Responses

/// A response: status, headers (names lower-cased, in order) and body.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(2_000).collect();
        write!(f, "{} {shown}", self.status)
    }
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status,
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.text()
        );
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        self.assert_status(status);
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts the status and that the body is exactly
    /// `{"error": "<message>", "code": "<code>"}` served as JSON; returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16) -> String {
        self.assert_status(status);
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "error {status} served as '{content_type}': {}",
            self.text()
        );
        let body = self.json();
        let object = body
            .as_object()
            .unwrap_or_else(|| panic!("error body is not an object: {body}"));
        assert_eq!(object.len(), 2, "error body has other fields: {body}");
        assert!(
            object
                .get("code")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty()),
            "error body has no 'code' string: {body}"
        );
        let message = object
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("error body has no 'error' string: {body}"));
        assert!(!message.trim().is_empty(), "empty error message");
        message.to_string()
    }
}

// ---------------------------------------------------------------------------
// Ordinary requests, through hyper's client

/// One request on a fresh connection (`Connection: close` unless given),
/// waiting up to [`READ_TIMEOUT`] for the answer. Panics on connection
/// errors. A request hyper will not send (a `Content-Length` or
/// `Transfer-Encoding` of the caller's, a path that is no URI) goes out
/// raw instead.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(addr, method, path, headers, body, READ_TIMEOUT)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// [`request`] that reports connection errors and gives up after `timeout`.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Response> {
    exchange(None, addr, method, path, headers, body, timeout)
}

/// One request from the loopback address `local` on a fresh connection:
/// 127.0.0.2 and up stand for other hotspot clients.
pub fn request_from(
    local: IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    exchange(Some(local), addr, method, path, headers, body, READ_TIMEOUT)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr} from {local}: {e}"))
}

/// [`request_from`] that reports connection errors and gives up after
/// `timeout`: for clients of a server that may be killed under them.
pub fn try_request_from(
    local: IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Response> {
    exchange(Some(local), addr, method, path, headers, body, timeout)
}

/// A request hyper can send, or why not.
fn build(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<hyper::Request<Full<Bytes>>, String> {
    // Framing the caller chose would fight hyper's own.
    if let Some((name, _)) = headers.iter().find(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    }) {
        return Err(format!("'{name}' is framing hyper does itself"));
    }
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut builder = hyper::Request::builder().method(method).uri(path);
    if !has("host") {
        builder = builder.header("host", addr.to_string());
    }
    if !has("connection") {
        builder = builder.header("connection", "close");
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|e| e.to_string())
}

fn exchange(
    from: Option<IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Response> {
    assert!(addr.ip().is_loopback(), "tests talk to loopback only");
    let Ok(request) = build(addr, method, path, headers, body) else {
        // What no ordinary client sends (framing headers, a path that is
        // no URI) goes out byte for byte, as before.
        let mut stream = match from {
            Some(from) => connect_from(from, addr)?,
            None => connect(addr, timeout)?,
        };
        stream.set_read_timeout(Some(timeout))?;
        send_request(&mut stream, addr, method, path, headers, body)?;
        return read_response(&mut stream);
    };
    block_on(async {
        tokio::time::timeout(timeout, async {
            let stream = connect_async(from, addr).await?;
            send(stream, request, Arc::default()).await
        })
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))?
    })
}

/// Runs `future` on this thread's own runtime: threads of one test each
/// drive their own requests.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for test requests");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

async fn connect_async(
    from: Option<IpAddr>,
    addr: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    if let Some(from) = from {
        assert!(from.is_loopback(), "tests talk from loopback only");
        socket.bind(SocketAddr::new(from, 0))?;
    }
    let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends `request` over `stream` with hyper and reads the whole answer;
/// `written` counts the bytes that went out.
async fn send(
    stream: tokio::net::TcpStream,
    request: hyper::Request<Full<Bytes>>,
    written: Arc<AtomicUsize>,
) -> std::io::Result<Response> {
    let io = hyper_util::rt::TokioIo::new(Counted { stream, written });
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(hyper_error)?;
    let connection = tokio::spawn(connection);
    let answer = async {
        let response = sender.send_request(request).await.map_err(hyper_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(hyper_error)?
            .to_bytes()
            .to_vec();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
    .await;
    connection.abort();
    answer
}

/// The I/O error under a hyper error, so callers can tell a reset from a
/// timeout; an answer cut short reads as an unexpected end.
fn hyper_error(error: hyper::Error) -> std::io::Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return std::io::Error::new(io.kind(), error.to_string());
        }
        source = cause.source();
    }
    let kind = if error.is_incomplete_message() {
        std::io::ErrorKind::UnexpectedEof
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, error.to_string())
}

/// A stream that counts what is written to it, so a test knows its
/// request has left.
struct Counted {
    stream: tokio::net::TcpStream,
    written: Arc<AtomicUsize>,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.written.fetch_add(n, Ordering::SeqCst);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            self.written.fetch_add(n, Ordering::SeqCst);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------
// Requests held by the server (long-polls)

/// A request sent from its own thread; the server answers when it likes.
pub struct Pending {
    server: SocketAddr,
    local: SocketAddr,
    written: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<(Instant, Response)>,
}

/// Sends a request from a new thread on a fresh connection.
pub fn send_in_background(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Pending {
    let request =
        build(addr, method, path, headers, b"").unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let stream = connect(addr, READ_TIMEOUT).expect("connect");
    let local = stream.local_addr().expect("the connection's own address");
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let what = format!("{method} {path}");
    let thread = std::thread::spawn(move || {
        let response = block_on(async move {
            stream.set_nonblocking(true)?;
            send(tokio::net::TcpStream::from_std(stream)?, request, counter).await
        })
        .unwrap_or_else(|e| panic!("{what} on {addr}: {e}"));
        (Instant::now(), response)
    });
    Pending {
        server: addr,
        local,
        written,
        thread,
    }
}

impl Pending {
    /// Whether the answer has come.
    pub fn is_answered(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits until the request has been sent and the server has taken every
    /// byte of it off its socket (the kernel's queues say so): from then on
    /// the server holds the request, it is not on its way.
    #[track_caller]
    pub fn wait_until_taken(&self) {
        wait_until("the server to take the request", CONDITION_TIMEOUT, || {
            // Once answered the connection may be gone from the kernel's
            // tables: taken all the same.
            self.is_answered()
                || (self.written.load(Ordering::SeqCst) > 0
                    && requests_taken(self.server, &[self.local]))
        });
    }

    /// The answer, or `None` when the connection failed (a killed server).
    pub fn try_join(self) -> Option<Response> {
        self.thread.join().ok().map(|(_, response)| response)
    }

    /// The answer and when it arrived.
    pub fn join(self) -> (Instant, Response) {
        self.thread.join().expect("the request's thread")
    }
}

// ---------------------------------------------------------------------------
// What the kernel knows about loopback connections

/// One TCP socket from `/proc/net/tcp{,6}`.
#[derive(Clone, Copy, Debug)]
pub struct SocketState {
    /// The kernel's state number: 1 is ESTABLISHED.
    pub state: u8,
    /// Bytes sent but not yet acknowledged by the peer.
    pub send_queue: u64,
    /// Bytes received but not yet read by the process owning the socket.
    pub receive_queue: u64,
}

pub const TCP_ESTABLISHED: u8 = 1;

/// Every TCP socket on this machine, by `(local, remote)` address.
pub fn tcp_sockets() -> HashMap<(SocketAddr, SocketAddr), SocketState> {
    let mut sockets = HashMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state), Some(queues)) = (
                fields.get(1).and_then(|a| proc_address(a)),
                fields.get(2).and_then(|a| proc_address(a)),
                fields.get(3).and_then(|s| u8::from_str_radix(s, 16).ok()),
                fields.get(4).and_then(|q| q.split_once(':')),
            ) else {
                continue;
            };
            let (Ok(send_queue), Ok(receive_queue)) = (
                u64::from_str_radix(queues.0, 16),
                u64::from_str_radix(queues.1, 16),
            ) else {
                continue;
            };
            sockets.insert(
                (local, remote),
                SocketState {
                    state,
                    send_queue,
                    receive_queue,
                },
            );
        }
    }
    sockets
}

/// `0100007F:1F90` (the address as words in host byte order, the port in
/// hex) as an address.
fn proc_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let ip: IpAddr = match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok()?.into(),
        16 => <[u8; 16]>::try_from(bytes).ok()?.into(),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Whether the server at `server` has read everything each client at
/// `clients` sent it: nothing left unacknowledged on the client's side and
/// nothing unread on the server's.
pub fn requests_taken(server: SocketAddr, clients: &[SocketAddr]) -> bool {
    let sockets = tcp_sockets();
    clients.iter().all(|&client| {
        let sent = sockets
            .get(&(client, server))
            .is_some_and(|s| s.send_queue == 0);
        let read = sockets
            .get(&(server, client))
            .is_some_and(|s| s.receive_queue == 0);
        sent && read
    })
}

// ---------------------------------------------------------------------------
// Raw sockets: only for tests that must misbehave on the wire (slow or
// silent clients, clients that never read, oversized or hand-framed bodies,
// many requests sent before any answer is read, connection floods).

/// A raw request on a fresh connection, for what hyper would refuse to send
/// or frame differently (a chunked body framed by hand, a body cut off by
/// an early answer).
pub fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    raw_try_request(addr, method, path, headers, body, READ_TIMEOUT)
        .unwrap_or_else(|e| panic!("raw {method} {path} on {addr}: {e}"))
}

/// [`raw_request`] that reports connection errors: for floods, where the
/// server may refuse before it reads a byte.
pub fn raw_try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Response> {
    let mut stream = connect(addr, timeout)?;
    send_request(&mut stream, addr, method, path, headers, body)?;
    read_response(&mut stream)
}

/// A raw connection to `addr` with read and write timeouts.
pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    assert!(addr.ip().is_loopback(), "tests talk to loopback only");
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A raw connection to `addr` from the loopback address `from` (127.0.0.2
/// and so on), so one test can act as several clients.
pub fn connect_from(from: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    assert!(addr.ip().is_loopback(), "tests talk to loopback only");
    let stream = block_on(connect_async(Some(from), addr))?.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(stream)
}

/// Writes one raw request. A server may answer (413) and close before the
/// whole body is written: write errors are left for the read to report.
pub fn send_request(
    stream: &mut TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has("content-length")
        && !has("transfer-encoding")
        && (!body.is_empty() || !matches!(method, "GET" | "HEAD"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !body.is_empty() {
        if let Err(e) = stream.write_all(body) {
            if !matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) {
                return Err(e);
            }
        }
    }
    stream.flush()
}

/// Reads one raw response until the server closes the connection (or the
/// body is complete), decoding a chunked body.
pub fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let (head_end, head) = loop {
        if let Some(end) = find(&raw, b"\r\n\r\n") {
            break (end + 4, String::from_utf8_lossy(&raw[..end]).into_owned());
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed before a full response head ({} bytes)",
                    raw.len()
                ),
            ));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad status line '{status_line}'"),
            )
        })?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut rest = raw[head_end..].to_vec();
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length: Option<usize> = header("content-length").and_then(|v| v.parse().ok());
    let body = if chunked {
        loop {
            if let Some(body) = decode_chunked(&rest)? {
                break body;
            }
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
            rest.extend_from_slice(&buf[..n]);
        }
    } else if let Some(length) = length {
        while rest.len() < length {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("body cut short at {} of {length} bytes", rest.len()),
                ));
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest.truncate(length);
        rest
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // No length: the body runs until the server closes.
        stream.read_to_end(&mut rest)?;
        rest
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The decoded body once `data` holds all of it, else `None`.
fn decode_chunked(data: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find(&data[at..], b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&data[at..at + line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad chunk size '{size_text}'"),
            )
        })?;
        at += line_end + 2;
        if size == 0 {
            return Ok(Some(body));
        }
        if data.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[at..at + size]);
        at += size + 2;
    }
}

/// A bindfs mount with `direct_io` over a scratch directory: like a router's
/// JFFS2 it refuses the shared writable mmap WAL needs, so the server falls
/// back to a rollback journal there. Unmounted on drop.
pub struct NoMmapMount {
    pub point: PathBuf,
    _backing: TempDir,
    _point_dir: TempDir,
}

impl NoMmapMount {
    fn new() -> Result<NoMmapMount, String> {
        if !is_root() {
            return Err("needs root to mount FUSE".into());
        }
        let backing = TempDir::new("flash-backing");
        let point_dir = TempDir::new("flash-mount");
        let status = Command::new("bindfs")
            .args(["-o", "direct_io"])
            .arg(&backing.path)
            .arg(&point_dir.path)
            .status()
            .map_err(|e| format!("bindfs: {e} (run scripts/setup-test.sh)"))?;
        if !status.success() {
            return Err(format!("bindfs -o direct_io failed: {status}"));
        }
        Ok(NoMmapMount {
            point: point_dir.path.clone(),
            _backing: backing,
            _point_dir: point_dir,
        })
    }

    /// The mount, or `None` after printing SKIPPED; with
    /// ORDERSPOT_REQUIRE_FUSE=1 (CI) a missing mount fails instead.
    pub fn or_skip() -> Option<NoMmapMount> {
        match NoMmapMount::new() {
            Ok(mount) => Some(mount),
            Err(why) if std::env::var("ORDERSPOT_REQUIRE_FUSE").as_deref() == Ok("1") => {
                panic!("ORDERSPOT_REQUIRE_FUSE=1 but: {why}")
            }
            Err(why) => {
                println!("SKIPPED: {why}");
                None
            }
        }
    }
}

impl Drop for NoMmapMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}
