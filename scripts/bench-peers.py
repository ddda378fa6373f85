#!/usr/bin/env python3
"""OrderSpot beside nginx and dnsmasq, and placement against history; writes
BENCHMARKS.md's text before the goals table and the goal rows it measures
(the other rows are left as they are). Called by scripts/bench.sh:
bench-peers.py BINARY "HISTORIES" OUT.

Each pair runs back to back, three times; the server (either one) is pinned
to core 0 and the load generator to core 1, the same for both sides."""
import http.client, json, os, random, shutil, socket, sqlite3, statistics, subprocess, sys, tempfile, time

from benchmd import free_port, set_head, set_row, wait_http

binary, histories, out = os.path.abspath(sys.argv[1]), [int(h) for h in sys.argv[2].split()], sys.argv[3]
SERVER, CLIENT = "0", "1"
REPEATS, SECONDS, CONNECTIONS = 3, 5, 64


def orderspot(data, *extra):
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", SERVER, binary, "serve", "--listen", f"127.0.0.1:{port}",
                             "--data-dir", data, "--max-connections", "4000",
                             "--max-connections-per-client", "4000", *extra], stderr=subprocess.DEVNULL)
    wait_http(port)
    return proc, port


def nginx(root, conf_body):
    port = free_port()
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; default_type text/html;
  server {{ listen 127.0.0.1:{port}; root {root}; {conf_body} }} }}""")
    proc = subprocess.Popen(["taskset", "-c", SERVER, "nginx", "-c", conf, "-p", root], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def wrk(port, path, host="127.0.0.1"):
    out = subprocess.run(["taskset", "-c", CLIENT, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s",
                          "-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True).stdout
    return float(next(l for l in out.splitlines() if l.startswith("Requests/sec")).split()[1])


def dnsperf(port, queries):
    out = subprocess.run(["taskset", "-c", CLIENT, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
                          "-c", "4", "-l", str(SECONDS), "-q", "200"], capture_output=True, text=True).stdout
    return float(next(l for l in out.splitlines() if "Queries per second" in l).split()[-1])


def stop(proc):
    proc.terminate()
    proc.wait()


def pair(label, ours, theirs):
    """Three back-to-back runs of (ours, theirs): each a function giving a rate."""
    rows = []
    for _ in range(REPEATS):
        a, b = ours(), theirs()
        rows.append((a, b, a / b))
    ratios = sorted(r[2] for r in rows)
    print(f"{label}: ratios {', '.join(f'{r:.2f}' for r in ratios)}", flush=True)
    return {"label": label, "rows": rows, "median": statistics.median(ratios), "lo": ratios[0], "hi": ratios[-1]}


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def write_bytes(pid):
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes"):
            return int(line.split()[1])


def call(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def add_history(db, n):
    """n finished orders of the demo shops, written straight into the file."""
    c = sqlite3.connect(db)
    c.execute("PRAGMA synchronous=OFF")
    items = c.execute("SELECT id, shop_id, name, price_cents FROM menu_items WHERE shop_id <= 3").fetchall()
    start = int(time.time() * 1000) - (n // 10_000 + 1) * 86_400_000
    rng = random.Random(1)
    oid = c.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]
    for batch in range(0, n, 10_000):
        o, l, e = [], [], []
        for i in range(batch, min(n, batch + 10_000)):
            oid += 1
            at = start + i * 8_000
            it = items[rng.randrange(len(items))]
            o.append((oid, it[1], f"h{oid}", f"t{oid}", "cancelled" if i % 20 == 0 else "completed", it[3], at))
            l.append((oid, it[0], it[2], it[3], it[3]))
            e += [(oid, None, "placed", at), (oid, "ready", "completed", at + 600_000)]
        c.executemany("INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name, status, "
                      "version, pickup_code, total_cents, created_at, updated_at) VALUES (?,?,?,?,'Bench',?,5,'A1',?,?,?)",
                      [r + (r[-1],) for r in o])
        c.executemany("INSERT INTO order_items (order_id, item_id, name, unit_price_cents, qty, line_total_cents) "
                      "VALUES (?,?,?,?,1,?)", l)
        c.executemany("INSERT INTO order_events (order_id, from_status, to_status, actor_role, created_at) "
                      "VALUES (?,?,?,'shop',?)", e)
        c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


def add_big_shop(db):
    """An approved shop of 100 items in 10 categories, each item with a
    required size (3 choices) and optional add-ons (up to 3 of 4); its id."""
    c = sqlite3.connect(db)
    with c:
        owner = c.execute("INSERT INTO users (email, name, role, password_hash, created_at) "
                          "VALUES ('menu100@bench.local', 'Menu', 'shopkeeper', 'x', 0)").lastrowid
        shop = c.execute("INSERT INTO shops (owner_user_id, name, description, status, created_at) "
                         "VALUES (?, 'Hundred Dishes', 'A long menu with options', 'approved', 0)", (owner,)).lastrowid
        size = c.execute("INSERT INTO option_groups (shop_id, name, min_choices, max_choices) "
                         "VALUES (?, 'Size', 1, 1)", (shop,)).lastrowid
        extras = c.execute("INSERT INTO option_groups (shop_id, name, min_choices, max_choices) "
                           "VALUES (?, 'Add-ons', 0, 3)", (shop,)).lastrowid
        c.executemany("INSERT INTO options (group_id, name, price_delta_cents, position) VALUES (?, ?, ?, ?)",
                      [(size, name, delta, n) for n, (name, delta) in
                       enumerate([("Small", 0), ("Regular", 40), ("Large", 90)])] +
                      [(extras, name, delta, n) for n, (name, delta) in
                       enumerate([("Extra cheese", 50), ("Fried egg", 60), ("Avocado", 80), ("Chilli oil", 20)])])
        categories = [c.execute("INSERT INTO categories (shop_id, name, position) VALUES (?, ?, ?)",
                                (shop, f"Section {n + 1}", n)).lastrowid for n in range(10)]
        dishes = ["noodles", "rice bowl", "curry", "salad", "wrap", "soup", "dumplings", "flatbread", "stew", "tacos"]
        for n in range(100):
            name = f"House {dishes[n % 10]} no. {n + 1}"
            item = c.execute("INSERT INTO menu_items (shop_id, name, description, price_cents, position, category_id, "
                             "tags, allergens, search_text, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
                             (shop, name, f"Made to order: {dishes[n % 10]} with seasonal vegetables", 250 + 10 * n,
                              n, categories[n // 10], n % 3, n % 5, f"{name} {dishes[n % 10]}".lower())).lastrowid
            c.executemany("INSERT INTO item_option_groups (item_id, group_id, position) VALUES (?, ?, ?)",
                          [(item, size, 0), (item, extras, 1)])
    c.close()
    return shop


def placements(port, pid, n=200):
    """p50 latency, server CPU and bytes written per placement, n in a row."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    owner = call(conn, "POST", "/api/auth/login", {"email": "owner@demo.local", "password": "demo-password"})[1]["token"]
    call(conn, "PATCH", "/api/admin/venue", {"max_open_orders_per_device": 1000, "max_open_orders_per_shop": 40000}, owner)
    conns, times = {}, []
    c0, w0 = cpu_s(pid), write_bytes(pid)
    for i in range(n):
        src = f"127.0.{1 + i // 50}.1"  # the per-address limit is 60 placements a minute
        conns.setdefault(src, http.client.HTTPConnection("127.0.0.1", port, source_address=(src, 0)))
        t0 = time.perf_counter()
        status, _ = call(conns[src], "POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 1, "qty": 1}],
                         "customer_name": "Bench", "client_ref": f"hist-{i:06d}-{time.time_ns()}"})
        times.append((time.perf_counter() - t0) * 1000)
        assert status == 201, status
    return statistics.median(times), 1000 * (cpu_s(pid) - c0) / n, (write_bytes(pid) - w0) / n / 1024


def order_lives(port, pid, source, n=50):
    """Bytes written per order over its life: placement and four stage moves,
    from `source` (the per-address limit is 60 placements a minute)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0))
    shop = call(conn, "POST", "/api/auth/login", {"email": "shop1@demo.local", "password": "demo-password"})[1]["token"]
    w0 = write_bytes(pid)
    for i in range(n):
        status, order = call(conn, "POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 1, "qty": 1}],
                             "customer_name": "Bench", "client_ref": f"life-{i:06d}-{time.time_ns()}"})
        assert status == 201, status
        for stage in ["accepted", "preparing", "ready", "completed"]:
            assert call(conn, "POST", f"/api/shop/orders/{order['id']}/status", {"status": stage}, shop)[0] == 200
    return (write_bytes(pid) - w0) / n / 1024


def burst(port, pid):
    """RSS idle, and 5 s after 256 connections read the menu 80 times each."""
    idle = rss_mb(pid)
    subprocess.run(["taskset", "-c", CLIENT, "wrk", "-t1", "-c256", "-d5s", f"http://127.0.0.1:{port}/api/shops/1/menu"],
                   capture_output=True)
    time.sleep(5)
    return idle, rss_mb(pid)


work = tempfile.mkdtemp(prefix="orderspot-bench-")
try:
    demo = os.path.join(work, "demo")
    proc, port = orderspot(demo, "--demo")
    page = http.client.HTTPConnection("127.0.0.1", port)
    page.request("GET", "/shops/1")
    menu_bytes = page.getresponse().read()
    idle, after_burst = burst(port, proc.pid)
    stop(proc)
    with open(os.path.join(work, "menu.html"), "wb") as f:
        f.write(menu_bytes)
    big = add_big_shop(os.path.join(demo, "orderspot.db"))
    proc, port = orderspot(demo)
    page = http.client.HTTPConnection("127.0.0.1", port)
    page.request("GET", f"/shops/{big}")
    answer = page.getresponse()
    big_bytes = answer.read()
    stop(proc)
    shown = big_bytes.count(b"House ")
    if answer.status != 200 or shown < 10 or b"Section 10" not in big_bytes:
        raise SystemExit(f"the 100-item shop's page lacks its first category or its bar: {answer.status}, {shown} items")
    with open(os.path.join(work, "menu100.html"), "wb") as f:
        f.write(big_bytes)

    def ours_http(path, host, *extra):
        def run():
            proc, port = orderspot(demo, *extra)
            try:
                return wrk(port, path, host)
            finally:
                stop(proc)
        return run

    def theirs_http(path, host, conf):
        def run():
            proc, port = nginx(work, conf)
            try:
                return wrk(port, path, host)
            finally:
                stop(proc)
        return run

    queries = os.path.join(work, "queries")
    with open(queries, "w") as f:
        f.writelines(f"host{i}.example.com A\n" for i in range(1000))

    def ours_dns():
        dns = free_port()
        proc, _ = orderspot(demo, "--dns", f"127.0.0.1:{dns}", "--portal-ip", "10.0.0.1")
        try:
            return dnsperf(dns, queries)
        finally:
            stop(proc)

    def theirs_dns():
        dns = free_port()
        proc = subprocess.Popen(["taskset", "-c", SERVER, "dnsmasq", "-k", "-C", "/dev/null", f"--port={dns}",
                                 "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                                 "--address=/#/10.0.0.1", f"--pid-file={work}/dnsmasq.pid"], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            return dnsperf(dns, queries)
        finally:
            stop(proc)

    pairs = [
        pair("captive redirect (any Host → 302)", ours_http("/", "example.com", "--portal-ip", "10.0.0.1"),
             theirs_http("/", "example.com", "location / { return 302 http://order.lan/; }")),
        pair(f"demo shop's menu page ({len(menu_bytes):,} bytes)", ours_http("/shops/1", "127.0.0.1"),
             theirs_http("/menu.html", "127.0.0.1", "")),
        pair(f"100-item shop's menu page with options ({len(big_bytes):,} bytes)",
             ours_http(f"/shops/{big}", "127.0.0.1"), theirs_http("/menu100.html", "127.0.0.1", "")),
        pair("captive DNS answers", ours_dns, theirs_dns),
    ]

    history = []
    for n in histories:
        data = os.path.join(work, f"history-{n}")
        shutil.copytree(demo, data)
        add_history(os.path.join(data, "orderspot.db"), n)
        proc, port = orderspot(data)
        history.append((n, *placements(port, proc.pid)))
        print(f"placement after {n:,} past orders: p50 {history[-1][1]:.2f} ms, "
              f"{history[-1][2]:.2f} ms CPU, {history[-1][3]:.1f} KiB written", flush=True)
        if n == histories[0]:
            lives = sorted(order_lives(port, proc.pid, f"127.0.9.{k + 1}") for k in range(REPEATS))
        stop(proc)
        shutil.rmtree(data)
finally:
    shutil.rmtree(work, ignore_errors=True)

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
lines = [
    "# Benchmarks",
    "",
    f"Written by `scripts/bench.sh` (`BENCH_PARTS=peers` for this part alone) on {time.strftime('%Y-%m-%d')}, "
    f"{cpu}, {os.cpu_count()} cores, x86_64 release build. **This machine is shared with other builds "
    "and tests and is noisy**: read the ratios and their spread, not the absolute figures. Each script writes "
    "only what it measures: `bench-peers.py` this text and its goal rows, the other goal rows come from "
    "`bench-rows.py` (`BENCH_PARTS=burst`, `qemu`, and the waiters' and placements' runs of the full bench).",
    "",
    f"Each pair runs back to back, {REPEATS} times; the server (OrderSpot or its peer) is pinned to core {SERVER} "
    f"and the load generator to core {CLIENT} (`taskset`), the same for both sides. HTTP: `wrk -t1 -c{CONNECTIONS} "
    f"-d{SECONDS}s` over loopback, nginx with one worker and `access_log off`, serving the bytes OrderSpot answered "
    "as a static file. DNS: `dnsperf -c 4 -q 200 -l {SECONDS}` over 1,000 names, dnsmasq with `--address=/#/10.0.0.1`, "
    "OrderSpot with `--dns` and `--portal-ip 10.0.0.1`. The 100-item shop is written into the demo database before "
    "the server starts: 10 categories of 10 items, each item with a required size (3 choices) and optional "
    "add-ons (up to 3 of 4).".replace("{SECONDS}", str(SECONDS)),
    "",
    "| what | OrderSpot (median) | peer (median) | ratio: median (spread) |",
    "|---|---|---|---|",
]
for p in pairs:
    lines.append(f"| {p['label']} | {statistics.median(r[0] for r in p['rows']):,.0f}/s | "
                 f"{statistics.median(r[1] for r in p['rows']):,.0f}/s | {p['median']:.2f} ({p['lo']:.2f}–{p['hi']:.2f}) |")
lines += ["", "Placement against history (200 placements one after another over keep-alive, each an fsync'd "
          "transaction; the history written straight into the database):", "",
          "| past orders | p50 | server CPU per placement | bytes written per placement |", "|---|---|---|---|"]
for n, p50, cpu_ms, kib in history:
    lines.append(f"| {n:,} | {p50:.2f} ms | {cpu_ms:.2f} ms | {kib:.1f} KiB |")
life_kib = statistics.median(lives)
per_day = life_kib * 10_000 / 1024
lines += ["", f"Bytes written per order over its life (placement and four stage moves, `/proc/PID/io` "
          f"`write_bytes`, WAL and checkpoints): **{life_kib:.1f} KiB** (median of {len(lives)} runs of 50 lives: "
          f"{', '.join(f'{k:.1f}' for k in lives)} KiB). At 10,000 orders a day that is {per_day:.0f} MiB a day: "
          f"with ideal wear levelling over 8 MiB of free NOR flash rated for 100,000 erase cycles, "
          f"{8 * 100_000 / per_day / 365:.1f} years (JFFS2 and UBIFS add their own overhead; a rollback journal "
          "writes each page twice).",
          "", f"Memory (this glibc build): RSS {idle:.1f} MB idle, {after_burst:.1f} MB 5 s after a burst (wrk, 256 "
          "connections, 5 s of `GET /api/shops/1/menu`); the router's musl build is in “RSS after a burst”.", ""]
set_head(out, "\n".join(lines))


def ratio(p):
    return f"{p['median']:.2f}× ({p['lo']:.2f}–{p['hi']:.2f})"


redirect, demo_menu, menu, dns = pairs
set_row(out, "captive redirect", (
    f"{'met' if redirect['median'] >= 0.95 else 'not met'}: {ratio(redirect)}. Every GET without a body is answered "
    "by the lean reader (`src/http/lean.rs`), which asks the portal (`routes::portal::interception`) on the head "
    "where `httparse` left it: Host, path and `Accept-Language` are read in place (an origin-form target as `Uri` "
    "would read it, without making one), so a request for another site makes no `HeaderMap`, `Uri` or `Response`. "
    "The 302 is written from its status line and headers made at start into a buffer kept per thread, the Location "
    "percent-encoded once and copied into the page, its `date` formatted once a second; the read buffer is kept per "
    "thread between requests too, so a redirect allocates nothing (heaptrack). A connection keeps one read timer "
    "and one stop signal for its life rather than registering both for each request; a client's visit is looked up "
    "only for a probe's path, and its sighting spawns a task only when its once-a-minute write is due "
    "(`Clients::sighting_due`). One recv and one send a request, as nginx (strace)."
    + ("" if redirect["median"] >= 0.95 else
       " Left: most of the server's CPU is the kernel's for both servers (perf: about 76% for OrderSpot, 81% for "
       "nginx, the same recv and send; OrderSpot's answer is 452 bytes to nginx's 337), and most of OrderSpot's "
       "user-space share is tokio's task polling and I/O driver")))
big_met = menu["median"] >= 0.7
set_row(out, "menu page of a 100-item shop", (
    f"{'met' if big_met else 'not met'}: {ratio(menu)} on the 100-item shop with options "
    f"({len(big_bytes):,} bytes: a menu over `MENU_PAGE_ITEMS` items is shown a category at a time, so `/shops/ID` "
    f"is its first category, each item with options linking to its own page), {ratio(demo_menu)} on the demo shop "
    f"({len(menu_bytes):,} bytes). The page and "
    "the menu JSON are kept per shop, language and variant (`live::Pages`, at most 4 MiB), forgotten when the "
    "shop’s `ShopMenu` topic is published or the venue’s settings change, with a strong `ETag` (version, "
    "language, variant, content hash) and 304 on `If-None-Match`; only requests carrying nothing of their own (no "
    "query but `lang`, no order token, no staff session) share them, and the lean reader answers them without a "
    "hyper connection (a page over 16 KiB goes out as its head, then the cached body uncopied). No gzip: "
    "`miniz_oxide` alone adds 26 KB to an x86 release binary, too much for the router’s size budget, and the "
    "hotspot’s clients are on the local Wi-Fi"
    + ("" if big_met else "; gap not profiled at this page size yet")))
set_row(out, "captive DNS", f"{'met' if dns['median'] >= 1.2 else 'not met'}: {ratio(dns)}")
cpus = [h[2] for h in history]
flat = max(cpus) <= 1.5 * min(cpus)
set_row(out, "placement against history", (
    f"{'met' if flat else 'not met (server CPU per placement differs by more than 1.5×)'}: "
    f"{' / '.join(f'{h[2]:.2f}' for h in history)} ms server CPU, p50 {' / '.join(f'{h[1]:.2f}' for h in history)} ms "
    f"at {' / '.join(f'{h[0]:,}' for h in history)} past orders (judged on server CPU, as fsync latency on this "
    "shared disk varies more than the placement itself). A shop’s open orders are read `INDEXED BY "
    "orders_open_code`: without `orders_status` SQLite (which has no statistics here) took `orders_shop_created`, "
    "the shop’s whole history"))
set_row(out, "bytes written per order life", (
    f"{'met' if life_kib <= 40 else 'not met'}: {life_kib:.1f} KiB (see the figure above; one client at a time, "
    "so no batching; under concurrent load group commit shares pages between orders, see the durable placements "
    "row). Migration 018: order events without AUTOINCREMENT (no `sqlite_sequence` page per event), "
    "`orders_created` and `orders_status` dropped (a page per order, two per stage move; the queries they served "
    "read each shop’s `orders_shop_created` or the open orders’ partial index), and WAL checkpoints after 1 MiB "
    "instead of 256 KiB (each page copied once for more commits); the open orders’ partial indexes are keyed on "
     "`finished_at`, which triggers set only when an order finishes or reopens, so a stage move between open "
     "stages writes none of their pages (4 WAL frames a move, from 6)."
     + ("" if life_kib <= 40 else
        " Gap: `write_bytes` counts whole 4 KiB page-cache pages, and each of the five fsync’d commits dirties "
        "some of them in the WAL however few bytes change. Measured and not taken: 512-byte pages would write "
        "20% less (simulated: 69 vs 87 KiB before migration 018) but halve every B-tree’s fan-out for reports, and "
        "only new databases would get them")))
print(f"wrote {out}")
