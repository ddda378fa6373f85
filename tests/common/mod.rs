//! Shared by the integration tests: start the real `orderspot` binary on a
//! free loopback port with its own temporary data directory, and talk to it
//! with a tiny HTTP/1.1 client over `std::net::TcpStream`.
//!
//! ```ignore
//! mod common;
//! let server = common::Server::start_demo();
//! let token = server.login(common::SHOP1, common::PASSWORD);
//! let board = server.get("/api/shop/orders", Some(&token)).ok_json();
//! ```
//!
//! Every server listens on 127.0.0.1 only and is killed (and its data
//! directory removed) when the `Server` is dropped.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_orderspot");

pub const OWNER: &str = "owner@demo.local";
pub const SHOP1: &str = "shop1@demo.local";
pub const SHOP2: &str = "shop2@demo.local";
pub const SHOP3: &str = "shop3@demo.local";
pub const PASSWORD: &str = "demo-password";

/// How long a started server may take to answer (slow CI machines, cold disks).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Socket read timeout: above the longest long-poll the API allows (60 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(90);

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
// The server process

/// A running `orderspot serve` on 127.0.0.1 with its own data directory.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// Where `orderspot.db` lives; shared across restarts.
    pub data_dir: Arc<TempDir>,
    demo: bool,
    /// Everything the server wrote to stderr (all of its runs), for diagnosis.
    log: Arc<Mutex<String>>,
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

    /// A server on `data_dir` (which may already hold a database).
    pub fn start_in(data_dir: Arc<TempDir>, demo: bool) -> Server {
        let log = Arc::new(Mutex::new(String::new()));
        let mut server = Server {
            child: None,
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir,
            demo,
            log,
            extra_args: Vec::new(),
            file_limit: None,
        };
        server.launch();
        server
    }

    /// A demo server with more `serve` flags and, if given, an open-file
    /// limit (soft and hard, so the server cannot raise it).
    pub fn start_demo_with(args: &[&str], file_limit: Option<u32>) -> Server {
        let mut server = Server {
            child: None,
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: Arc::new(TempDir::new("server")),
            demo: true,
            log: Arc::new(Mutex::new(String::new())),
            extra_args: args.iter().map(|a| a.to_string()).collect(),
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

    /// Starts the binary on a free port and waits until it answers HTTP.
    /// Retries on another port if the one we picked was taken meanwhile.
    fn launch(&mut self) {
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
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
                .arg("serve")
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(&self.data_dir.path)
                .arg("--log-level")
                .arg("info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if self.demo {
                command.arg("--demo");
            }
            command.args(&self.extra_args);
            let mut child = command.spawn().expect("start the orderspot binary");
            // Drain stderr so the server never blocks on a full pipe.
            let stderr = child.stderr.take().unwrap();
            let log = self.log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("server exited early with {status}");
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "server did not answer within {START_TIMEOUT:?}\n{}",
                        self.log()
                    );
                }
                if let Ok(response) =
                    try_request(addr, "GET", "/api/shops", &[], b"", Duration::from_secs(10))
                {
                    if response.status == 200 {
                        self.addr = addr;
                        self.child = Some(child);
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        panic!("could not start the server: {last_error}\n{}", self.log());
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
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

/// A port on 127.0.0.1 that nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
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
// The HTTP/1.1 client

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

/// One request on a fresh connection (`Connection: close`), waiting up to
/// [`READ_TIMEOUT`] for the answer. Panics on connection errors.
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

pub fn try_request(
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
    connect_from(local, addr)
        .and_then(|mut stream| {
            send_request(&mut stream, addr, method, path, headers, body)?;
            read_response(&mut stream)
        })
        .unwrap_or_else(|e| panic!("{method} {path} on {addr} from {local}: {e}"))
}

/// A connection to `addr` with read and write timeouts.
pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    assert!(addr.ip().is_loopback(), "tests talk to loopback only");
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A connection to `addr` from the loopback address `from` (127.0.0.2 and
/// so on), so one test can act as several clients.
pub fn connect_from(from: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    assert!(
        from.is_loopback() && addr.ip().is_loopback(),
        "tests talk to loopback only"
    );
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for connect_from")
    });
    let stream = runtime.block_on(async {
        let socket = match from {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(from, 0))?;
        tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))?
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Writes one request. A server may answer (413) and close before the
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

/// Reads one response until the server closes the connection (or the body
/// is complete), decoding a chunked body.
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
