#!/usr/bin/env python3
"""Rows of BENCHMARKS.md that bench-peers.py does not measure; each part
rewrites only its own goal row. Called by
scripts/bench.sh:

  bench-rows.py burst BINARY OUT           RSS idle and after a burst (a musl build)
  bench-rows.py qemu X86 MIPSEL QEMU OUT   the smoke workload, mipsel under qemu-user beside x86

Servers are pinned to core 0 and load generators to core 1, as in bench-peers.py."""
import http.client, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

SERVER, CLIENT = "0", "1"
REPEATS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, tries=600):
    for _ in range(tries):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/shops")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


def serve(command, data, *extra):
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", SERVER, *command, "serve", "--listen", f"127.0.0.1:{port}",
                             "--data-dir", data, "--max-connections", "4000",
                             "--max-connections-per-client", "4000", *extra], stderr=subprocess.DEVNULL)
    wait_http(port)
    return proc, port


def stop(proc):
    proc.terminate()
    proc.wait()


def call(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else data


def login(port, email):
    return call(port, "POST", "/api/auth/login", {"email": email, "password": "demo-password"})[1]["token"]


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024


def set_row(out, what, status):
    """Replaces the status cell of the goal row whose first cell is `what`."""
    text = open(out).read()
    row = re.compile(rf"^\| {re.escape(what)} \|([^|]*)\|.*$", re.M)
    if not row.search(text):
        raise SystemExit(f"no row '{what}' in {out}")
    text = row.sub(lambda m: f"| {what} |{m.group(1)}| {status} |", text, count=1)
    open(out, "w").write(text)


def burst(binary, out):
    """RSS idle and 5 s after 256 connections read the menu for 5 s; three runs."""
    runs = []
    for _ in range(REPEATS):
        work = tempfile.mkdtemp(prefix="orderspot-bench-rss-")
        try:
            proc, port = serve([binary], os.path.join(work, "data"), "--demo")
            time.sleep(1)
            idle = rss_mb(proc.pid)
            subprocess.run(["taskset", "-c", CLIENT, "wrk", "-t1", "-c256", "-d5s",
                            f"http://127.0.0.1:{port}/api/shops/1/menu"], capture_output=True)
            peak = rss_mb(proc.pid)
            time.sleep(5)
            runs.append((idle, peak, rss_mb(proc.pid)))
            stop(proc)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"RSS: {runs[-1][0]:.1f} MB idle, {runs[-1][1]:.1f} MB at the end of the burst, "
              f"{runs[-1][2]:.1f} MB 5 s later", flush=True)
    idle, after = statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs)
    verdict = "met" if after < 8 else f"{after:.1f} MB"
    set_row(out, "RSS after a burst", (
        f"{verdict} on the router's libc: the static musl x86_64 build (`scripts/build.sh x86_64`, `BENCH_PARTS=burst`) "
        f"is at {idle:.1f} MB idle and {after:.1f} MB 5 s after the burst (median of 3; "
        f"{', '.join(f'{r[2]:.1f}' for r in runs)} MB; {statistics.median(r[1] for r in runs):.1f} MB at its end). "
        "The glibc build above keeps more (glibc keeps freed heap in its arenas); the blocking pool is 8 threads that end when idle"))


def smoke(command, data):
    """The smoke workload (scripts/smoke.sh) timed step by step, in ms."""
    t0 = time.perf_counter()
    proc, port = serve(command, data, "--demo")
    t = {"start until the first answer": time.perf_counter() - t0}

    def timed(label, *args, **kw):
        times = []
        for _ in range(10):
            s = time.perf_counter()
            result = call(port, *args, **kw)
            times.append(time.perf_counter() - s)
        t[label] = statistics.median(times)
        return result

    timed("GET /api/shops", "GET", "/api/shops")
    timed("GET /shops/1 (menu page)", "GET", "/shops/1")
    timed("GET /api/shops/1/menu", "GET", "/api/shops/1/menu")
    shop = login(port, "shop1@demo.local")
    owner = login(port, "owner@demo.local")
    call(port, "PATCH", "/api/admin/venue", {"max_open_orders_per_device": 1000}, owner)
    orders = []
    s = time.perf_counter()
    for i in range(10):
        status, order = call(port, "POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 1, "qty": 1}],
                             "customer_name": "Smoke", "client_ref": f"smoke-{i:04d}-{time.time_ns()}"})
        assert status == 201, status
        orders.append(order)
    t["placement"] = (time.perf_counter() - s) / 10
    wakes = []
    for order in orders[:5]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", f"/api/orders/{order['id']}?since={order['version']}&wait=30&t={order['token']}")
        time.sleep(0.3)
        s = time.perf_counter()
        assert call(port, "POST", f"/api/shop/orders/{order['id']}/status", {"status": "accepted"}, shop)[0] == 200
        conn.getresponse().read()
        wakes.append(time.perf_counter() - s)
        conn.close()
    t["status change until the long-poll answers"] = statistics.median(wakes)
    t["idle RSS"] = rss_mb(proc.pid)
    stop(proc)
    return t


def qemu(x86, mipsel, qemu_user, out):
    runs = {"x86": [], "mipsel": []}
    for _ in range(REPEATS):
        for arch, command in [("x86", [x86]), ("mipsel", [qemu_user, mipsel])]:
            work = tempfile.mkdtemp(prefix="orderspot-bench-qemu-")
            try:
                runs[arch].append(smoke(command, os.path.join(work, "data")))
            finally:
                shutil.rmtree(work, ignore_errors=True)
    median = {arch: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for arch, rs in runs.items()}
    lines = []
    for step in median["x86"]:
        if step == "idle RSS":
            continue
        ratio = median["mipsel"][step] / median["x86"][step]
        lines.append(f"{step} {ratio:.1f}×")
        print(f"{step}: x86 {1000 * median['x86'][step]:.2f} ms, mipsel {1000 * median['mipsel'][step]:.2f} ms, "
              f"{ratio:.1f}×", flush=True)
    set_row(out, "mipsel under qemu-user", (
        f"done (`BENCH_PARTS=qemu`): the smoke workload’s steps (median of 3 runs, each step the median of 10 where "
        f"repeated), mipsel under `{os.path.basename(qemu_user)}` against the static x86_64 musl build, both on core 0 of "
        f"this x86 machine: {', '.join(lines)} as long. Emulation cost only: a router’s MIPS core is slower again, so "
        "these are relative figures, not a router's"))


part = sys.argv[1]
if part == "burst":
    burst(os.path.abspath(sys.argv[2]), sys.argv[3])
elif part == "qemu":
    qemu(os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]), sys.argv[4], sys.argv[5])
else:
    raise SystemExit(__doc__)
