#!/usr/bin/env bash
# Benchmarks (not tests): long-poll wake-up latency with many waiters, memory
# per waiting request, order placement throughput (plain and with options),
# and search over a shop of 10,000 products, against a release build on
# loopback. Usage: scripts/bench.sh ["WAITERS ..."] (held long-polls, default
# "1000 5000 10000"); BENCH=reports runs only the
# reports benchmark (REPORT_ORDERS orders, default 1,000,000).
set -euo pipefail
cd "$(dirname "$0")/.."
waiters=${1:-1000 5000 10000}
# The router's trimmed SQLite, as scripts/test.sh and CI build it.
. scripts/sqlite-env.sh
sqlite_host_env
# Rows bench-peers.py does not measure, each rewriting only its own goal row:
# BENCH_PARTS=burst (RSS after a load burst on the static musl x86_64 build,
# the routers' libc, built by scripts/build.sh into target/musl-x86_64), qemu
# (the smoke workload, mipsel under qemu-user beside that x86_64 build;
# MIPSEL_BIN, default dist/mipsel_24kc/orderspot).
musl() {
    local bin=target/musl-x86_64/dist/x86_64/orderspot
    [ -x "$bin" ] || CARGO_TARGET_DIR=$PWD/target/musl-x86_64 DIST=$PWD/target/musl-x86_64/dist \
        scripts/build.sh x86_64 >&2
    echo "$bin"
}
export PATH=$PATH:/usr/sbin
case ${BENCH_PARTS:-all} in
    burst) exec scripts/bench-rows.py burst "$(musl)" BENCHMARKS.md ;;
    qemu)
        mipsel=${MIPSEL_BIN:-dist/mipsel_24kc/orderspot}
        [ -x "$mipsel" ] || scripts/build.sh mipsel_24kc
        exec scripts/bench-rows.py qemu "$(musl)" "$mipsel" "$(scripts/build.sh --qemu mipsel_24kc)" BENCHMARKS.md
        ;;
esac
cargo build --release --quiet
# The placement load generator (examples/bench_placements.rs, behind its feature).
cargo build --release --quiet --features bench --example bench_placements
# BENCH_PARTS=peers runs only the side-by-side pairs, BENCH_PARTS=history
# only placement against history and bytes per order life (each writes its
# part of BENCHMARKS.md); the default runs everything.
parts=${BENCH_PARTS:-all}
peers=(nginx wrk dnsmasq dnsperf)
for tool in "${peers[@]}"; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null || {
        sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get install -y -q nginx-light wrk dnsmasq-base dnsperf >/dev/null
        break
    }
done
export PATH=$PATH:/usr/sbin
[ "$parts" = history ] || scripts/bench-peers.py ./target/release/orderspot BENCHMARKS.md
[ "$parts" = peers ] && exit 0
# Placement against history (HISTORY past orders, default "0 100000
# 1000000") and bytes written per order life, one at a time and in a rush.
scripts/bench-rows.py history ./target/release/orderspot "${HISTORY:-0 100000 1000000}" BENCHMARKS.md
[ "$parts" = history ] && exit 0
data=$(mktemp -d)
pid=
if [ "${BENCH:-}" != reports ]; then
port=$((20000 + RANDOM % 20000))
ulimit -n 65536 2>/dev/null || true
# One loopback address stands for every phone here: lift the per-client caps.
./target/release/orderspot serve --demo --listen "127.0.0.1:$port" --data-dir "$data" \
    --max-connections 60000 --max-connections-per-client 60000 2>"$data/log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/api/shops" >/dev/null && break; sleep 0.1; done
python3 - "$port" <<'PY'
import json, sys, time, urllib.request

port = int(sys.argv[1])
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

PY

# Search: a shop of 10,000 generated products written straight into the
# database beside the running server, then searches of every kind.
python3 - "$port" "$data/orderspot.db" <<'PY'
import http.client, json, sqlite3, sys, time, urllib.request

port, db = int(sys.argv[1]), sys.argv[2]
base = f"http://127.0.0.1:{port}"
conn = sqlite3.connect(db, timeout=30)
with conn:
    user = conn.execute("INSERT INTO users (email, name, role, password_hash, created_at) "
                        "VALUES ('big@bench.local', 'Big', 'shopkeeper', 'x', 0)").lastrowid
    shop = conn.execute("INSERT INTO shops (owner_user_id, name, status, created_at) "
                        "VALUES (?, 'Hypermarket', 'approved', 0)", (user,)).lastrowid
    aisles = [conn.execute("INSERT INTO categories (shop_id, name, position) VALUES (?, ?, ?)",
                           (shop, f"Aisle {n}", n)).lastrowid for n in range(10)]
    colours = ["Red", "Green", "Saffron", "Blue", "Golden", "Black", "White"]
    foods = ["rice", "beans", "lentils", "tea", "soup", "bread", "pasta", "jam", "oats", "nuts", "tofu"]
    rows = []
    for n in range(10_000):
        name = f"{colours[n % 7]} {foods[n % 11]} no. {n}"
        tags = 3 if n % 3 == 0 else int(n % 2 == 0)        # vegetarian, vegan
        allergens = int(n % 4 == 0) | (64 if n % 5 == 0 else 0)  # gluten, milk
        rows.append((shop, name, 100 + n, n, aisles[n % 10], tags, allergens, f"{name} generated".lower()))
    conn.executemany("INSERT INTO menu_items (shop_id, name, description, price_cents, position, category_id, "
                     "tags, allergens, stock, search_text, created_at, updated_at) "
                     "VALUES (?, ?, 'Generated', ?, ?, ?, ?, ?, 10, ?, 0, 0)",
                     rows)
conn.close()

queries = {
    "text, one shop": f"q=saffron%20rice&shop={shop}",
    "text, whole venue": "q=no.%20123",
    "text, no match (scans all)": "q=no%20such%20product",
    "tag + without allergen": f"shop={shop}&tag=vegan&without=gluten",
    "category + tag": f"shop={shop}&category={aisles[3]}&tag=vegetarian",
    "everything": f"q=tofu&shop={shop}&category={aisles[5]}&tag=vegan&without=gluten",
}
# Each kind from its own loopback address, within one address's burst of
# searches (30, src/support/ratelimit.rs): a 429 would time the refusal.
searches = 25
for n, (label, query) in enumerate(queries.items()):
    conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(f"127.0.0.{20 + n}", 0))
    times = []
    for _ in range(searches):
        t0 = time.perf_counter()
        conn.request("GET", f"/api/search?{query}")
        r = conn.getresponse()
        found = json.loads(r.read())
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status == 200, (label, r.status, found)
    conn.close()
    times.sort()
    print(f"search on 10,000 products, {label}: {len(found)} results, median {times[searches // 2]:.1f} ms, "
          f"90th percentile {times[searches * 9 // 10]:.1f} ms, slowest {times[-1]:.1f} ms "
          f"({searches} searches, over HTTP)")

# Placement with options: a required size and two add-ons, from another
# loopback address so the per-client placement limit starts afresh.
menu = json.load(urllib.request.urlopen(f"{base}/api/shops/1/menu"))
item = next(i for i in menu["items"] if i["option_groups"] and i["available"])
size, extras = item["option_groups"][0], item["option_groups"][1]
options = [size["options"][1]["id"], extras["options"][0]["id"], extras["options"][1]["id"]]
n = 50
t0 = time.perf_counter()
for i in range(n):
    other = http.client.HTTPConnection("127.0.0.1", port, source_address=("127.0.0.2", 0))
    body = json.dumps({"shop_id": 1, "items": [{"item_id": item["id"], "qty": 1, "options": options}],
                       "customer_name": "Bench", "client_ref": f"opts-{i:06d}-{time.time_ns()}"})
    other.request("POST", "/api/orders", body, {"Content-Type": "application/json"})
    r = other.getresponse()
    r.read()
    assert r.status == 201, r.status
    other.close()
elapsed = time.perf_counter() - t0
print(f"placement with options ({item['name']}, a size and two add-ons): {n} orders in {elapsed:.2f} s "
      f"({1000*elapsed/n:.1f} ms each)")
PY
fi

# Held long-polls: RSS with each count of customers' order long-polls held
# (over 100 orders) and the fan-out of one status change to each order, on a
# fresh server pinned to core 0 (caps lifted with --max-connections and
# --max-connections-per-client 60000; the server lowers them to its open-file
# limit), the client on core 1; both need an open file per waiter.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Each count 3 times; bench-rows.py writes the fan-out and memory rows from
# the medians of the lines printed (as it writes the placements row below).
wlog=$(mktemp -p "$PWD/target")
for n in $waiters $waiters $waiters; do
    wdata=$(mktemp -d -p "$PWD/target")
    wport=$((20000 + RANDOM % 20000))
    taskset -c 0 ./target/release/orderspot serve --demo --listen "127.0.0.1:$wport" --data-dir "$wdata" \
        --max-connections 60000 --max-connections-per-client 60000 2>"$wdata/log" &
    wpid=$!
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$wport/api/shops" >/dev/null && break; sleep 0.1; done
    taskset -c 1 scripts/bench-waiters.py "$wport" "$wpid" "$n" 100
    kill $wpid; wait $wpid 2>/dev/null || true
    rm -rf "$wdata"
done | tee "$wlog"
scripts/bench-rows.py waiters "$wlog" BENCHMARKS.md
rm -f "$wlog"

# Group commit: durable placements from 64 concurrent clients with 1,000
# long-polls held, and from 256 with 5,000 held (RSS per waiter), on a fresh server pinned to core 0,
# the client (in Rust, so that it is not the limit) on core 1.
plog=$(mktemp -p "$PWD/target")
for load in "64 1000" "64 1000" "64 1000" "256 5000"; do
    pdata=$(mktemp -d -p "$PWD/target")
    pport=$((20000 + RANDOM % 20000))
    taskset -c 0 ./target/release/orderspot serve --demo --listen "127.0.0.1:$pport" --data-dir "$pdata" \
        --max-connections 60000 --max-connections-per-client 60000 2>"$pdata/log" &
    ppid=$!
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$pport/api/shops" >/dev/null && break; sleep 0.1; done
    taskset -c 1 target/release/examples/bench_placements "$pport" "$ppid" $load
    kill $ppid; wait $ppid 2>/dev/null || true
    rm -rf "$pdata"
done | tee "$plog"
scripts/bench-rows.py placements "$plog" BENCHMARKS.md
rm -f "$plog"

# Reports over a long history: REPORT_ORDERS orders (default 1,000,000, 10,000
# a day: 100 days) written straight into a fresh demo database, each with two
# lines (one with two options), placed/ready/finished events (the finishing
# event fills the report rollups) and a payment by cash, card or UPI (every
# 50th completed order partly refunded); then the venue's and
# one shop's report for a day and for a month, over HTTP, as the owner.
orders=${REPORT_ORDERS:-1000000}
rdata=$(mktemp -d)
rport=$((20000 + RANDOM % 20000))
./target/release/orderspot serve --demo --listen "127.0.0.1:$rport" --data-dir "$rdata" 2>"$rdata/log" &
rpid=$!
trap 'kill $pid $rpid 2>/dev/null; rm -rf "$data" "$rdata"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$rport/api/shops" >/dev/null && break; sleep 0.1; done
kill $rpid; wait $rpid 2>/dev/null || true
python3 - "$rdata/orderspot.db" "$orders" <<'PY'
import sqlite3, sys, time, random
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("PRAGMA synchronous=OFF")
c.execute("PRAGMA foreign_keys=OFF")
items = c.execute("SELECT id, shop_id, name, price_cents FROM menu_items WHERE shop_id <= 3").fetchall()
opts = c.execute("SELECT id FROM options LIMIT 1").fetchone()[0]
day_ms, end = 86_400_000, int(time.time() * 1000)
start = end - (n // 10_000 + 1) * day_ms
rng = random.Random(1)
t0 = time.time()
order_id = c.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]
line_id = c.execute("SELECT coalesce(max(id), 0) FROM order_items").fetchone()[0]
for batch in range(0, n, 10_000):
    o, l, lo, e, p = [], [], [], [], []
    for i in range(batch, min(n, batch + 10_000)):
        order_id += 1
        at = start + i * ((end - start) // n)
        it = items[rng.randrange(len(items))]
        status = "cancelled" if i % 20 == 0 else "completed"
        o.append((order_id, it[1], f"b{order_id}", "h", "Bench", status, 5, "A1", it[3] * 2, at, at))
        for k in range(2):
            line_id += 1
            l.append((line_id, order_id, it[0], it[2], it[3], 1, it[3]))
            if k == 0:
                lo += [(line_id, opts, "Size", "Large", 50), (line_id, opts, "Extras", "Egg", 100)]
        ready = at + rng.randrange(60_000, 900_000)
        e += [(order_id, None, "placed", "customer", at), (order_id, "preparing", "ready", "shop", ready),
              (order_id, "ready", status, "shop", ready + 60_000)]
        if status == "completed":
            p.append((order_id, "payment", ("cash", "card", "upi")[i % 3], it[3] * 2, ready + 60_000))
            if i % 50 == 1:
                p.append((order_id, "refund", "", 100, ready + 120_000))
    c.executemany("INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name, status, version, pickup_code, total_cents, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", o)
    c.executemany("INSERT INTO order_items (id, order_id, item_id, name, unit_price_cents, qty, line_total_cents) VALUES (?,?,?,?,?,?,?)", l)
    c.executemany("INSERT INTO order_line_options (line_id, option_id, group_name, name, price_delta_cents) VALUES (?,?,?,?,?)", lo)
    c.executemany("INSERT INTO order_events (order_id, from_status, to_status, actor_role, created_at) VALUES (?,?,?,?,?)", e)
    c.executemany("INSERT INTO order_payments (order_id, kind, method, amount_cents, created_at) VALUES (?,?,?,?,?)", p)
    c.commit()
print(f"reports: {n:,} orders generated in {time.time() - t0:.0f} s")
PY
./target/release/orderspot serve --listen "127.0.0.1:$rport" --data-dir "$rdata" 2>>"$rdata/log" &
rpid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$rport/api/shops" >/dev/null && break; sleep 0.1; done
python3 - "$rport" <<'PY'
import json, sys, time, urllib.request, datetime
base = f"http://127.0.0.1:{sys.argv[1]}"
req = urllib.request.Request(base + "/api/auth/login", data=json.dumps({"email": "owner@demo.local", "password": "demo-password"}).encode(), headers={"Content-Type": "application/json"})
token = json.load(urllib.request.urlopen(req))["token"]
day = datetime.date.today() - datetime.timedelta(days=1)
month = day - datetime.timedelta(days=29)
for label, query in [("day, venue", f"from={day}"), ("day, one shop", f"from={day}&shop=1"),
                     ("month, venue", f"from={month}&to={day}"), ("month, one shop", f"from={month}&to={day}&shop=1")]:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/api/reports?{query}", headers={"Authorization": f"Bearer {token}"})))
        times.append((time.perf_counter() - t0) * 1000)
    print(f"report, {label}: {r['orders']:,} orders, best of 3 {min(times):.0f} ms")
PY
# The goals, each with its status and figures (the whole text in BENCHMARKS.md).
echo
python3 scripts/benchmd.py BENCHMARKS.md
