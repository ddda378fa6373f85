//! Durable placements under load, the load generator of scripts/bench.sh:
//! CLIENTS placement loops over keep-alive connections for SECONDS while
//! WAITERS long-polls are held, each 201 only once the order is on disk.
//! Prints placements/s, p50 and p99, bytes written to disk per placement and
//! the server's RSS. A Rust client on one core, so that the client is not the
//! limit (the asyncio one it replaces was, near 1,300/s).
//!
//! Usage: cargo run --release --features bench --example bench_placements --
//! PORT PID [CLIENTS] [WAITERS] [SECONDS]; the server must allow enough
//! connections (`--max-connections`, `--max-connections-per-client`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Under the per-address placement limit (60 a minute).
const PER_ADDRESS: u32 = 55;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(port: u16, from: Ipv4Addr) -> Result<Conn> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// One request and its whole answer: status and body.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<(u16, Vec<u8>)> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        self.stream.write_all(head.as_bytes()).await?;
        self.answer().await
    }

    async fn answer(&mut self) -> Result<(u16, Vec<u8>)> {
        let end = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..end])?;
        let status = head.split(' ').nth(1).ok_or("no status")?.parse()?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .ok_or("no content-length")?
            .parse()?;
        while self.buf.len() < end + length {
            self.fill().await?;
        }
        let body = self.buf[end..end + length].to_vec();
        self.buf.drain(..end + length);
        Ok((status, body))
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn proc_field(pid: &str, file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The server's CPU time so far (user and system), in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may hold spaces: utime and stime
    // are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum()
}

fn stamp() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Places orders from the `n`th address on, a new address (and connection)
/// every PER_ADDRESS orders, until `stop`; returns each placement's time.
async fn client(port: u16, n: u32, clients: u32, stop: Instant) -> Result<Vec<Duration>> {
    let mut times = Vec::new();
    let mut address = n;
    while Instant::now() < stop {
        let from = Ipv4Addr::new(127, 1, (address / 250) as u8, (address % 250 + 1) as u8);
        let mut conn = Conn::open(port, from).await?;
        for i in 0..PER_ADDRESS {
            if Instant::now() >= stop {
                break;
            }
            let order = json!({"shop_id": 1, "items": [{"item_id": 1, "qty": 1}], "customer_name": "Bench",
                               "client_ref": format!("load-{n}-{address}-{i}-{}", stamp())});
            let t0 = Instant::now();
            let (status, body) = conn.call("POST", "/api/orders", Some(&order), None).await?;
            if status != 201 {
                return Err(format!(
                    "placement answered {status}: {}",
                    String::from_utf8_lossy(&body)
                )
                .into());
            }
            times.push(t0.elapsed());
        }
        address += clients;
    }
    Ok(times)
}

async fn run(port: u16, pid: &str, clients: u32, waiters: u32, seconds: u64) -> Result<()> {
    let home = Ipv4Addr::new(127, 0, 0, 1);
    let mut setup = Conn::open(port, home).await?;
    let login = json!({"email": "owner@demo.local", "password": "demo-password"});
    let (_, owner) = setup
        .call("POST", "/api/auth/login", Some(&login), None)
        .await?;
    let owner: Value = serde_json::from_slice(&owner)?;
    let limits = json!({"max_open_orders_per_device": 1000, "max_open_orders_per_shop": 40000});
    setup
        .call(
            "PATCH",
            "/api/admin/venue",
            Some(&limits),
            owner["token"].as_str(),
        )
        .await?;
    let watched = json!({"shop_id": 1, "items": [{"item_id": 2, "qty": 1}], "customer_name": "Watcher",
                         "client_ref": format!("watch-{}", stamp())});
    let (status, order) = setup
        .call("POST", "/api/orders", Some(&watched), None)
        .await?;
    if status != 201 {
        return Err(format!("the watched order answered {status}").into());
    }
    let order: Value = serde_json::from_slice(&order)?;
    let wait = format!(
        "GET /api/orders/{}?since={}&wait=60&t={} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        order["id"],
        order["version"],
        order["token"].as_str().ok_or("no order token")?
    );

    let before = proc_field(pid, "status", "VmRSS:");
    let mut held = Vec::new();
    for _ in 0..waiters {
        let mut waiter = Conn::open(port, home).await?;
        waiter.stream.write_all(wait.as_bytes()).await?;
        held.push(waiter);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = proc_field(pid, "status", "VmRSS:");

    let w0 = proc_field(pid, "io", "write_bytes:");
    let (cpu0, own0) = (cpu_ticks(pid), cpu_ticks("self"));
    let t0 = Instant::now();
    let stop = t0 + Duration::from_secs(seconds);
    let loops: Vec<_> = (0..clients)
        .map(|n| tokio::task::spawn_local(client(port, n, clients, stop)))
        .collect();
    let mut times = Vec::new();
    for one in loops {
        times.extend(one.await?.map_err(|e| e.to_string())?);
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = cpu_ticks(pid).saturating_sub(cpu0);
    let own = cpu_ticks("self").saturating_sub(own0);
    let written = proc_field(pid, "io", "write_bytes:").saturating_sub(w0) as f64
        / times.len().max(1) as f64
        / 1024.0;
    // Clock ticks are 10 ms on Linux (USER_HZ 100).
    let cpu_ms = cpu as f64 * 10.0 / times.len().max(1) as f64;
    times.sort();
    let at = |q: usize| {
        times
            .get(times.len() * q / 100)
            .map_or(0.0, |t| t.as_secs_f64() * 1000.0)
    };
    println!(
        "durable placements, {clients} concurrent clients, {waiters} long-polls held: {:.0}/s, p50 {:.1} ms, \
         p99 {:.1} ms (Rust client on the other core), {written:.1} KiB written to disk per placement, \
         server CPU {cpu_ms:.3} ms per placement",
        times.len() as f64 / elapsed,
        at(50),
        at(99)
    );
    println!(
        "load generator busy {:.0}% of its core",
        own as f64 * 10.0 / 1000.0 / elapsed * 100.0
    );
    println!(
        "RSS {before} KiB before the long-polls, {during} KiB with {waiters} held ({:.0} bytes each)",
        during.saturating_sub(before) as f64 * 1024.0 / f64::from(waiters.max(1))
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> Result<u64> {
        Ok(args
            .get(i)
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let port = u16::try_from(number(0, 0)?)?;
    let pid = args
        .get(1)
        .ok_or("usage: bench_placements PORT PID [CLIENTS] [WAITERS] [SECONDS]")?;
    let (clients, waiters) = (
        u32::try_from(number(2, 64)?)?,
        u32::try_from(number(3, 1000)?)?,
    );
    let seconds = number(4, 5)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, run(port, pid, clients, waiters, seconds))
}
