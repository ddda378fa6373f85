#!/usr/bin/env bash
# Benchmarks (not tests): long-poll wake-up latency with many waiters, memory
# per waiting request, and order placement throughput, against a release
# build on loopback. Usage: scripts/bench.sh [WAITERS]
set -euo pipefail
cd "$(dirname "$0")/.."
waiters=${1:-2000}
cargo build --release --quiet
data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
ulimit -n 65536 2>/dev/null || true
# One loopback address stands for every phone here: lift the per-client caps.
./target/release/orderspot serve --demo --listen "127.0.0.1:$port" --data-dir "$data" \
    --max-connections 60000 --max-connections-per-client 60000 2>"$data/log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/api/shops" >/dev/null && break; sleep 0.1; done
python3 - "$port" "$pid" "$waiters" <<'PY'
import asyncio, json, sys, time, urllib.request

port, pid, waiters = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = f"http://127.0.0.1:{port}"

def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        return json.load(r)

def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

shop = call("POST", "/api/auth/login", {"email": "shop1@demo.local", "password": "demo-password"})["token"]
owner = call("POST", "/api/auth/login", {"email": "owner@demo.local", "password": "demo-password"})["token"]
call("PATCH", "/api/admin/venue", {"max_open_orders_per_device": 1000}, owner)

t0 = time.perf_counter()
n = 50  # stays under the per-client placement limit (60 a minute)
for i in range(n):
    call("POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 1, "qty": 1}],
                                 "customer_name": "Bench", "client_ref": f"bench-{i:06d}-{time.time_ns()}"})
elapsed = time.perf_counter() - t0
print(f"placement: {n} orders one after another in {elapsed:.2f} s = {n/elapsed:.0f} orders/s "
      f"({1000*elapsed/n:.1f} ms each, each an fsync'd transaction)")

order = call("POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 2, "qty": 1}],
                                     "customer_name": "Watcher", "client_ref": f"watch-{time.time_ns()}"})

async def wait(path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    await reader.read()
    done = time.perf_counter()
    writer.close()
    return done

async def main():
    before = rss_kib()
    path = f"/api/orders/{order['id']}?since={order['version']}&wait=60&t={order['token']}"
    tasks = [asyncio.create_task(wait(path)) for _ in range(waiters)]
    await asyncio.sleep(3)
    during = rss_kib()
    start = time.perf_counter()
    await asyncio.to_thread(call, "POST", f"/api/shop/orders/{order['id']}/status",
                            {"status": "accepted"}, shop)
    committed = time.perf_counter()
    done = await asyncio.gather(*tasks)
    lat = sorted((d - start) * 1000 for d in done)
    print(f"status change request (commit with fsync) took {(committed - start) * 1000:.1f} ms")
    print(f"long-poll: {waiters} waiters; RSS {before} KiB before, {during} KiB while waiting "
          f"({(during - before) * 1024 / waiters:.0f} bytes per waiter)")
    print(f"answers, from sending the status change (client on the same 2 cores): first {lat[0]:.1f} ms, median {lat[len(lat)//2]:.1f} ms, "
          f"last {lat[-1]:.1f} ms")

asyncio.run(main())
PY
