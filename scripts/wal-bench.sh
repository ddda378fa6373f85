#!/usr/bin/env bash
# Flash wear (a measurement, not a test): places ORDERS orders (default 1000,
# 50 from each of many loopback addresses, under the per-client placement
# limit) against a release build, and prints the largest size the WAL file
# reached and the bytes the server had written to disk per order
# (/proc/PID/io write_bytes: the database, its WAL and every fsync'd page;
# the data directory must be on a disk, not tmpfs).
# Usage: scripts/wal-bench.sh [ORDERS]
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000}
. scripts/sqlite-env.sh
sqlite_host_env
cargo build --release --quiet
data=$(mktemp -d -p "$PWD/target")
port=$((20000 + RANDOM % 20000))
./target/release/orderspot --data-dir "$data" serve --demo --listen "127.0.0.1:$port" \
    --max-connections-per-client 1000 2>"$data/log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/api/shops" >/dev/null && break; sleep 0.1; done
python3 - "$port" "$pid" "$orders" "$data/orderspot.db-wal" <<'PY'
import http.client, json, os, sys, time

port, pid, orders, wal = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]

def call(method, path, body=None, token=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data)

def written():
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes:"):
            return int(line.split()[1])

owner = call("POST", "/api/auth/login", {"email": "owner@demo.local", "password": "demo-password"})["token"]
call("PATCH", "/api/admin/venue", {"max_open_orders_per_device": 1000, "max_open_orders_per_shop": 100000}, owner)
time.sleep(1)
start, largest = written(), 0
for i in range(orders):
    source = f"127.0.{1 + i // 50 // 250}.{2 + i // 50 % 250}"
    call("POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 1, "qty": 1}],
                                 "customer_name": "Bench", "client_ref": f"wal-{i:06d}-{time.time_ns()}"},
         source=source)
    largest = max(largest, os.path.getsize(wal) if os.path.exists(wal) else 0)
per_order = (written() - start) / orders
print(f"{orders} orders: WAL at most {largest} bytes; {per_order / 1024:.1f} KiB written per order")
PY
