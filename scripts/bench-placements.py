#!/usr/bin/env python3
"""Durable placements under load: CLIENTS concurrent clients place orders
over keep-alive connections for SECONDS while WAITERS long-polls are held,
each 201 only once the order is on disk. Prints placements/s, p50 and p99,
and the server's RSS. Usage: bench-placements.py PORT PID [CLIENTS] [WAITERS]
(the server must allow enough connections and open orders)."""
import asyncio, json, sys, time

port, pid = int(sys.argv[1]), sys.argv[2]
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 64
waiters = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
SECONDS = 5
PER_ADDRESS = 55  # under the per-address placement limit (60 a minute)


def write_bytes():
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes"):
            return int(line.split()[1])


def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])


async def request(reader, writer, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    writer.write(head.encode() + b"\r\n" + data)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


async def main():
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    _, owner = await request(reader, writer, "POST", "/api/auth/login",
                             {"email": "owner@demo.local", "password": "demo-password"})
    await request(reader, writer, "PATCH", "/api/admin/venue",
                  {"max_open_orders_per_device": 1000, "max_open_orders_per_shop": 40000}, json.loads(owner)["token"])
    _, order = await request(reader, writer, "POST", "/api/orders", {"shop_id": 1, "items": [{"item_id": 2, "qty": 1}],
                             "customer_name": "Watcher", "client_ref": f"watch-{time.time_ns()}"})
    order = json.loads(order)
    writer.close()
    path = f"/api/orders/{order['id']}?since={order['version']}&wait=60&t={order['token']}"

    async def wait():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await w.drain()
        return r, w
    before = rss_kib()
    held = [await wait() for _ in range(waiters)]
    await asyncio.sleep(1)
    during = rss_kib()
    times, next_address = [], [0]
    stop = time.perf_counter() + SECONDS

    async def client(n):
        while time.perf_counter() < stop:
            a = next_address[0]
            next_address[0] += 1
            r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(f"127.1.{a // 250}.{a % 250 + 1}", 0))
            for i in range(PER_ADDRESS):
                if time.perf_counter() >= stop:
                    break
                t0 = time.perf_counter()
                status, _ = await request(r, w, "POST", "/api/orders",
                                          {"shop_id": 1, "items": [{"item_id": 1, "qty": 1}], "customer_name": "Bench",
                                           "client_ref": f"load-{n}-{a}-{i}-{time.time_ns()}"})
                assert status == 201, status
                times.append((time.perf_counter() - t0) * 1000)
            w.close()
    t0, w0 = time.perf_counter(), write_bytes()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - t0
    written = (write_bytes() - w0) / len(times) / 1024
    times.sort()
    print(f"durable placements, {clients} concurrent clients, {waiters} long-polls held: "
          f"{len(times) / elapsed:.0f}/s, p50 {times[len(times) // 2]:.1f} ms, p99 {times[len(times) * 99 // 100]:.1f} ms "
          f"(client on the other core), {written:.1f} KiB written to disk per placement")
    print(f"RSS {before} KiB before the long-polls, {during} KiB with {waiters} held "
          f"({(during - before) * 1024 / max(waiters, 1):.0f} bytes each)")
    for _, w in held:
        w.close()

asyncio.run(main())
