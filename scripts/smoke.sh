#!/usr/bin/env bash
# Smoke test of one cross-built binary under qemu-user (natively for x86_64):
#
#   scripts/smoke.sh mipsel_24kc [path/to/orderspot]   # default: dist/<arch>/orderspot
#
# Starts `orderspot serve --demo` on a free loopback port with a scratch data
# directory, then over HTTP: lists the shops, reads a menu, places an order
# (and places it again with the same client_ref and its token: the same order
# comes back; without the token: 409),
# starts a long-poll on the order's status, moves the order to "accepted" as
# the shopkeeper, and checks that the waiting long-poll returns the new
# version within two seconds. Ends with SIGTERM, which must stop the server
# cleanly. Prints "SMOKE OK <arch>" on success.
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH=${1:?usage: scripts/smoke.sh <openwrt-arch> [binary]}
BIN=${2:-dist/$ARCH/orderspot}
QEMU=$(scripts/build.sh --qemu "$ARCH")
[ -x "$BIN" ] || { echo "smoke.sh: no binary at $BIN (run scripts/build.sh $ARCH)" >&2; exit 1; }
RUN=()
if [ "$QEMU" != - ]; then
    command -v "$QEMU" >/dev/null || { echo "smoke.sh: $QEMU missing (run scripts/setup-cross.sh)" >&2; exit 1; }
    RUN=("$QEMU")
fi

WORK=$(mktemp -d /tmp/orderspot-smoke.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "SMOKE FAILED $ARCH: $*" >&2
    echo "--- server log" >&2
    tail -n 30 "$WORK/server.log" >&2 || true
    exit 1
}

version=$("${RUN[@]}" "$BIN" --version) || fail "--version did not run"
echo "    $version"

"${RUN[@]}" "$BIN" --data-dir "$WORK/data" serve --listen 127.0.0.1:0 --demo \
    >"$WORK/server.log" 2>&1 &
PID=$!

# The server logs the address it bound ("serving <venue> on http://127.0.0.1:PORT").
URL=
for _ in $(seq 1 600); do
    URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/server.log" | grep -v ':0$' | head -n1 || true)
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || fail "the server exited at start"
    sleep 0.1
done
[ -n "$URL" ] || fail "the server did not start listening within 60 s"
echo "    listening on $URL (pid $PID)"

python3 - "$URL" <<'EOF' || fail "HTTP checks failed"
import json, sys, threading, time, urllib.request, urllib.error, uuid

base = sys.argv[1]

def call(method, path, body=None, token=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)

status, shops = call("GET", "/api/shops")
check(status == 200 and shops, f"GET /api/shops: {status} {shops}")
shop = next((s for s in shops if s.get("open")), None)
check(shop is not None, f"an open shop in {shops}")

status, menu = call("GET", f"/api/shops/{shop['id']}/menu")
check(status == 200, f"GET menu: {status} {menu}")
item = next((i for i in menu["items"] if i.get("available")), None)
check(item is not None, f"an available item in {menu}")

order_body = {
    "shop_id": shop["id"],
    "items": [{"item_id": item["id"], "qty": 2}],
    "customer_name": "Smoke Test",
    "note": "qemu",
    "client_ref": "smoke-" + uuid.uuid4().hex[:16],
}
status, order = call("POST", "/api/orders", order_body)
check(status == 201, f"POST /api/orders: {status} {order}")
check(order["status"] == "placed", f"new order status: {order}")
check(order["total_cents"] == 2 * item["price_cents"], f"total of {order}")
again_status, again = call("POST", "/api/orders", order_body, token=order["token"])
check(again_status == 200 and again["id"] == order["id"], f"same client_ref again: {again_status} {again}")
stranger_status, _ = call("POST", "/api/orders", order_body)
check(stranger_status == 409, f"same client_ref without the token: {stranger_status}")
print(f"    order {order['id']} placed, pickup code {order['pickup_code']}, version {order['version']}", flush=True)

result = {}
def long_poll():
    t0 = time.monotonic()
    result["status"], result["order"] = call(
        "GET", f"/api/orders/{order['id']}?since={order['version']}&wait=30&t={order['token']}", timeout=40)
    result["at"] = time.monotonic()
    result["waited"] = result["at"] - t0

poller = threading.Thread(target=long_poll)
poller.start()
time.sleep(1.0)
check(poller.is_alive(), f"the long-poll returned before any change: {result}")

moved = None
for n in (1, 2, 3):
    status, login = call("POST", "/api/auth/login", {"email": f"shop{n}@demo.local", "password": "demo-password"})
    check(status == 200, f"login shop{n}: {status} {login}")
    sent = time.monotonic()
    status, body = call("POST", f"/api/shop/orders/{order['id']}/status", {"status": "accepted"}, token=login["token"])
    if status == 200:
        moved = (sent, body)
        break
check(moved is not None, "no shopkeeper could accept the order")
check(moved[1]["status"] == "accepted" and moved[1]["version"] > order["version"], f"accepted: {moved[1]}")

poller.join(timeout=10)
check(not poller.is_alive(), "the long-poll did not return after the change")
check(result["status"] == 200, f"long-poll answer: {result}")
check(result["order"]["status"] == "accepted", f"long-poll saw {result['order']['status']}")
check(result["order"]["version"] > order["version"], "long-poll version did not move")
delay = result["at"] - moved[0]
check(delay < 2.0, f"long-poll returned {delay:.2f} s after the change was sent")
print(f"    long-poll returned version {result['order']['version']} ({result['order']['status']}) "
      f"{delay * 1000:.0f} ms after the shopkeeper's request was sent", flush=True)
EOF

kill -TERM "$PID"
for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$PID" 2>/dev/null && fail "still running 10 s after SIGTERM"
rc=0
wait "$PID" || rc=$?
PID=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
echo "SMOKE OK $ARCH"
