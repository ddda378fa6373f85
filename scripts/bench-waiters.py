#!/usr/bin/env python3
"""Held long-polls: RSS with N customers' order long-polls held, and the
fan-out of one change each (ORDERS orders, each moved once, every waiter
answered). Prints, per N, the RSS before and while held (bytes per
waiter) and the change->answer latency (from sending an order's status
change to each of its waiters' answers): p50, p99, max.
Usage: bench-waiters.py PORT PID "1000 5000 10000" [ORDERS]
The server must allow N connections (--max-connections,
--max-connections-per-client) and this process N open files (ulimit -n).
One epoll loop, no asyncio: a Python client would otherwise be what is
measured."""
import json, select, socket, sys, time, urllib.request

port, pid = int(sys.argv[1]), sys.argv[2]
counts = [int(n) for n in sys.argv[3].split()]
orders_n = int(sys.argv[4]) if len(sys.argv) > 4 else 100
base = f"http://127.0.0.1:{port}"


def call(method, path, body=None, token=None, source=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if source:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0))
        conn.request(method, path, data, dict(req.header_items()))
        r = conn.getresponse()
        out = json.loads(r.read())
        conn.close()
        return out
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])


owner = call("POST", "/api/auth/login", {"email": "owner@demo.local", "password": "demo-password"})["token"]
shop = call("POST", "/api/auth/login", {"email": "shop1@demo.local", "password": "demo-password"})["token"]
call("PATCH", "/api/admin/venue", {"max_open_orders_per_device": 1000, "max_open_orders_per_shop": 40000}, owner)


def place(round_no):
    """ORDERS fresh orders, 50 from each loopback address (the placement
    rate limit is per address)."""
    placed = []
    for i in range(orders_n):
        source = f"127.0.{10 + round_no}.{1 + i // 50}"
        placed.append(call("POST", "/api/orders", {
            "shop_id": 1, "items": [{"item_id": 2, "qty": 1}], "customer_name": "Waiter",
            "client_ref": f"w-{round_no}-{i}-{time.time_ns()}"}, source=source))
    return placed


def head_end(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return end + 4 + length if len(buf) >= end + 4 + length else None


def run(n, round_no):
    orders = place(round_no)
    poll = select.epoll()
    socks, bufs, answered = {}, {}, {}
    rss_idle = rss_kib()
    for i in range(n):
        order = orders[i % orders_n]
        s = socket.socket()
        # Spread over source addresses: 10,000 connections from one would
        # crowd one address's ephemeral ports.
        s.bind((f"127.0.{100 + round_no}.{1 + i // 5000}", 0))
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        s.send(f"GET /api/orders/{order['id']}?since={order['version']}&wait=60 HTTP/1.1\r\n"
               f"Host: 127.0.0.1\r\nAuthorization: Bearer {order['token']}\r\n\r\n".encode())
        socks[s.fileno()] = (s, i % orders_n)
        bufs[s.fileno()] = b""
        poll.register(s.fileno(), select.EPOLLIN)
    time.sleep(3)
    rss_held = rss_kib()
    # A quiet moment first: nobody may be answered before a change.
    early = len(poll.poll(0.2))
    # The status changes, one after another on one keep-alive connection.
    mover = socket.create_connection(("127.0.0.1", port))
    mover.setblocking(False)
    poll.register(mover.fileno(), select.EPOLLIN)
    sent_at, next_order, mover_buf = {}, 0, b""

    def move():
        nonlocal next_order
        order = orders[next_order]
        body = json.dumps({"status": "accepted"}).encode()
        sent_at[next_order] = time.perf_counter()
        mover.send(f"POST /api/shop/orders/{order['id']}/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {shop}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        next_order += 1

    move()
    latencies, bad = [], 0
    deadline = time.time() + 60
    while len(answered) < n and time.time() < deadline:
        for fd, _ in poll.poll(1):
            if fd == mover.fileno():
                mover_buf += mover.recv(65536)
                end = head_end(mover_buf)
                if end:
                    assert mover_buf.startswith(b"HTTP/1.1 200"), mover_buf[:200]
                    mover_buf = mover_buf[end:]
                    if next_order < orders_n:
                        move()
                continue
            s, which = socks[fd]
            chunk = s.recv(65536)
            now = time.perf_counter()
            bufs[fd] += chunk
            if head_end(bufs[fd]) or not chunk:
                answered[fd] = True
                poll.unregister(fd)
                if not bufs[fd].startswith(b"HTTP/1.1 200") or b'"accepted"' not in bufs[fd]:
                    bad += 1
                latencies.append((now - sent_at.get(which, now)) * 1000)
    for s, _ in socks.values():
        s.close()
    mover.close()
    poll.close()
    latencies.sort()
    got = len(latencies)
    p = lambda q: latencies[min(got - 1, int(q * got))] if got else float("nan")
    print(f"{n} waiters over {orders_n} orders: RSS {rss_idle / 1024:.1f} MB before, "
          f"{rss_held / 1024:.1f} MB held ({(rss_held - rss_idle) * 1024 / n:.0f} bytes per waiter); "
          f"answered {got - bad}/{n} (early {early}, wrong {bad}); change->answer p50 {p(0.5):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, max {p(1.0) if got else float('nan'):.1f} ms", flush=True)
    time.sleep(1)


for round_no, n in enumerate(counts):
    run(n, round_no)
