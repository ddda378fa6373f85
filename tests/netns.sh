#!/usr/bin/env bash
# End-to-end captive-portal test in network namespaces (needs root, ip,
# nft, dig, curl; scripts/setup-netns.sh installs them).
#
#   client (10.213.0.2, fd13::2) ──┐
#   client2 (10.213.0.3)        ───┤ br-hot  router  up0 ── outside (10.213.1.2, fd13:1::2,
#                                     10.213.0.1        10.213.1.1    10.213.1.3, fd13:1::3)
#                                     10.213.0.9
#
# The router runs `orderspot serve` as the OpenWrt package does (as a user
# with only CAP_NET_ADMIN, which must reach the nft it runs): HTTP on
# 8080 and DNS on 5300 (port 80 and 53 belong to LuCI and dnsmasq there),
# with openwrt/files/orderspot.nft loaded to redirect the hotspot to them;
# "outside" stands in for the internet with two other orderspot instances
# (DNS answering 10.213.1.2 for everything on a dual-stack wildcard address,
# HTTP on 80 and 443). Second addresses on br-hot and outside check that DNS
# on a wildcard address answers from the address asked. All traffic
# stays on these namespaces' own addresses.
#
# Prints "SKIPPED: ..." and exits 0 without root or tools, unless
# ORDERSPOT_REQUIRE_NETNS=1 (CI), which turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
    echo "SKIPPED: netns portal test: $*"
    [ "${ORDERSPOT_REQUIRE_NETNS:-0}" = 1 ] && exit 1
    exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root"
for tool in ip nft dig curl; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (run scripts/setup-netns.sh)"
done
BIN=${ORDERSPOT_BIN:-${CARGO_TARGET_DIR:-target}/debug/orderspot}
[ -x "$BIN" ] || skip "no binary at $BIN (run cargo build)"
BIN=$(realpath "$BIN")

ID=$$
RTR=os-rtr-$ID CLI=os-cli-$ID CLI2=os-cli2-$ID EXT=os-ext-$ID
WORK=$(mktemp -d /tmp/orderspot-netns.XXXXXX)
PIDS=()

cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    for ns in "$RTR" "$CLI" "$CLI2" "$EXT"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "/etc/netns/$CLI" "/etc/netns/$CLI2"
    if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { echo "--- $*"; }
fail() {
    echo "FAIL: $*"
    echo "--- router log"; tail -n 40 "$WORK"/router*.log 2>/dev/null
    exit 1
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
expect_has() { grep -q -- "$2" <<<"$1" || fail "$3: '$2' not in: $1"; }

# ------------------------------------------------------------------ network
step "namespaces"
for ns in "$RTR" "$CLI" "$CLI2" "$EXT"; do
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
done
in_ns "$RTR" ip link add br-hot type bridge
in_ns "$RTR" ip link set br-hot up
for pair in "$CLI:c1" "$CLI2:c2"; do
    ns=${pair%%:*} tag=${pair##*:}
    ip link add "os$tag-$ID" netns "$RTR" type veth peer name eth0 netns "$ns"
    in_ns "$RTR" ip link set "os$tag-$ID" master br-hot up
    in_ns "$ns" ip link set eth0 up
done
ip link add "osup-$ID" netns "$RTR" type veth peer name eth0 netns "$EXT"
in_ns "$RTR" ip link set "osup-$ID" name up0
in_ns "$RTR" ip link set up0 up
in_ns "$EXT" ip link set eth0 up

in_ns "$RTR" ip addr add 10.213.0.1/24 dev br-hot
in_ns "$RTR" ip addr add 10.213.0.9/24 dev br-hot
in_ns "$RTR" ip -6 addr add fd13::1/64 dev br-hot nodad
in_ns "$RTR" ip addr add 10.213.1.1/24 dev up0
in_ns "$RTR" ip -6 addr add fd13:1::1/64 dev up0 nodad
in_ns "$RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
in_ns "$CLI" ip addr add 10.213.0.2/24 dev eth0
in_ns "$CLI" ip -6 addr add fd13::2/64 dev eth0 nodad
in_ns "$CLI" ip route add default via 10.213.0.1
in_ns "$CLI" ip -6 route add default via fd13::1
in_ns "$CLI2" ip addr add 10.213.0.3/24 dev eth0
in_ns "$CLI2" ip route add default via 10.213.0.1
in_ns "$EXT" ip addr add 10.213.1.2/24 dev eth0
in_ns "$EXT" ip -6 addr add fd13:1::2/64 dev eth0 nodad
in_ns "$EXT" ip addr add 10.213.1.3/24 dev eth0
in_ns "$EXT" ip -6 addr add fd13:1::3/64 dev eth0 nodad
in_ns "$EXT" ip route add default via 10.213.1.1
in_ns "$EXT" ip -6 route add default via fd13:1::1
# The clients' system resolver is the outside host: only interception
# brings their lookups to the portal.
for ns in "$CLI" "$CLI2"; do
    mkdir -p "/etc/netns/$ns"
    echo "nameserver 10.213.1.2" >"/etc/netns/$ns/resolv.conf"
done

step "nftables ruleset from openwrt/files/orderspot.nft"
in_ns "$RTR" nft -D 'orderspot_if="br-hot"' -D orderspot_http=8080 -D orderspot_dns=5300 \
    -f openwrt/files/orderspot.nft

# ------------------------------------------------------------------ daemons
wait_http() { # ns url
    for _ in $(seq 1 100); do
        in_ns "$1" curl -s -o /dev/null -m 1 "$2" && return 0
        sleep 0.1
    done
    fail "no answer from $2"
}

ip netns exec "$EXT" "$BIN" --data-dir "$WORK/ext80" serve --listen 10.213.1.2:80 \
    --dns '[::]:53' --portal-ip 10.213.1.2 --portal-host outside.test \
    >"$WORK/ext80.log" 2>&1 &
PIDS+=($!)
ip netns exec "$EXT" "$BIN" --data-dir "$WORK/ext443" serve --demo --listen 10.213.1.2:443 \
    >"$WORK/ext443.log" 2>&1 &
PIDS+=($!)

ROUTER_PID=
# The router's daemon runs as the package's init script has procd and ujail
# start it: not root (nobody stands in for the orderspot user), owning its
# data directory, with CAP_NET_ADMIN as its only capability (ambient, so the
# `nft` it runs to update the accepted sets has it too) and no_new_privs.
chmod 0755 "$WORK"
install -d -o nobody -g nogroup -m 0700 "$WORK/router"
start_router() { # mode, extra flags...
    local mode=$1; shift
    # Not through a shell function: $! must be the daemon itself (setpriv execs it).
    ip netns exec "$RTR" setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
        --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \
        "$BIN" --data-dir "$WORK/router" serve --demo --listen 0.0.0.0:8080 \
        --dns 0.0.0.0:5300 --portal-ip 10.213.0.1 --portal-ip6 fd13::1 \
        --mode "$mode" --firewall nft --session-minutes 30 \
        --venue-name "Netns Market Hall" "$@" >>"$WORK/router.log" 2>&1 &
    ROUTER_PID=$!
    PIDS+=("$ROUTER_PID")
    wait_http "$RTR" http://10.213.0.1:8080/
}
stop_router() {
    kill "$ROUTER_PID"
    wait "$ROUTER_PID" || true
}
wait_http "$EXT" http://10.213.1.2/
wait_http "$EXT" http://10.213.1.2:443/
step "router: orderspot serve --mode local"
start_router local
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$ROUTER_PID/status")" = "$(id -u nobody)" ] &&
    [ "$(awk '/^CapEff:/ { print $2 }' "/proc/$ROUTER_PID/status")" = 0000000000001000 ] ||
    fail "the router's daemon does not run as nobody with only CAP_NET_ADMIN"

# ------------------------------------------------------------------ helpers
http_code() { # ns url [curl args]: "code redirect_url"
    local ns=$1 url=$2; shift 2
    in_ns "$ns" curl -s -o "$WORK/body" -m 5 -w '%{http_code} %{redirect_url}' "$@" "$url" || true
}
probe() { http_code "$1" http://connectivitycheck.gstatic.com/generate_204; }
dig_a() { # ns server name [dig args]
    in_ns "$1" dig +short +time=2 +tries=1 "@$2" "$3" A "${@:4}" | tail -n 1
}
fails_fast() { # ns what url
    local started ended
    started=$(date +%s%N)
    if in_ns "$1" curl -s -o /dev/null -m 8 "$3"; then fail "$2: got through"; fi
    ended=$(date +%s%N)
    local ms=$(((ended - started) / 1000000))
    [ "$ms" -lt 2000 ] || fail "$2: took ${ms} ms to fail"
    echo "    $2 refused in ${ms} ms"
}
json_first() { grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }
place_order() { # ns label -> prints the HTTP code
    local shop item
    in_ns "$1" curl -s -m 5 http://order.lan/api/shops >"$WORK/shops.json"
    shop=$(json_first id <"$WORK/shops.json")
    in_ns "$1" curl -s -m 5 "http://order.lan/api/shops/$shop/menu" >"$WORK/menu.json"
    item=$(sed 's/.*"items":\[//' "$WORK/menu.json" | json_first id)
    [ -n "$shop" ] && [ -n "$item" ] || fail "no shop/item in the demo data"
    in_ns "$1" curl -s -o "$WORK/order.json" -m 5 -w '%{http_code}' \
        -H 'content-type: application/json' \
        -d "{\"shop_id\":$shop,\"items\":[{\"item_id\":$item,\"qty\":1}],\"customer_name\":\"$2\",\"note\":\"\",\"client_ref\":\"netns-$2-$ID\"}" \
        http://order.lan/api/orders
}

# ------------------------------------------------------------------ before
step "DNS: any name is the portal"
expect_eq "$(dig_a "$CLI" 10.213.0.1 anything.example)" 10.213.0.1 "dig @portal"
expect_eq "$(dig_a "$CLI" 10.213.1.2 other.example)" 10.213.0.1 "dig @outside (intercepted)"
expect_eq "$(in_ns "$CLI" dig +short +tcp +time=2 +tries=1 @10.213.1.2 tcp.example A)" \
    10.213.0.1 "dig +tcp @outside (intercepted)"
expect_eq "$(in_ns "$CLI" dig +short +time=2 +tries=1 @10.213.0.1 x.example AAAA)" fd13::1 "AAAA"
# The portal's DNS is IPv4 only (as on the router): DNS over IPv6 is
# refused at once, so the phone asks its IPv4 server instead of waiting.
started=$(date +%s%N)
if in_ns "$CLI" dig +time=3 +tries=1 @fd13:1::2 v6.example A >"$WORK/dig6" 2>&1; then
    grep -q 'status: NOERROR' "$WORK/dig6" && fail "DNS over IPv6 answered: $(cat "$WORK/dig6")"
fi
ms=$((($(date +%s%N) - started) / 1000000))
[ "$ms" -lt 2000 ] || fail "DNS over IPv6 took ${ms} ms to fail"
echo "    DNS over IPv6 refused in ${ms} ms"

step "DNS on a wildcard address answers from the address asked"
# dig, like a phone's resolver, ignores a reply from any other address; the
# route alone would pick the interface's first address.
expect_eq "$(dig_a "$CLI" 10.213.0.9 second.example -p 5300)" 10.213.0.1 "dig @second address"
expect_eq "$(dig_a "$CLI" 10.213.0.1 first.example -p 5300)" 10.213.0.1 "dig @first address"
# Outside's DNS is on [::]:53: IPv4 arrives there as IPv4-mapped.
for server in 10.213.1.2 10.213.1.3 fd13:1::2 fd13:1::3; do
    expect_eq "$(dig_a "$RTR" "$server" wildcard.example)" 10.213.1.2 "dig @$server on a dual-stack socket"
done

step "HTTP: the probe by name is redirected to the portal"
got=$(probe "$CLI")
expect_eq "$got" "302 http://order.lan/?url=http%3A%2F%2Fconnectivitycheck.gstatic.com%2Fgenerate_204" "probe before"
expect_has "$(cat "$WORK/body")" 'href="http://order.lan/' "redirect body"
expect_has "$(http_code "$CLI" http://10.213.1.2/some/page)" "302 http://order.lan/?url=" "HTTP to an outside address"

step "HTTPS and other traffic fail fast; IPv6 does not bypass"
fails_fast "$CLI" "https by name (portal has no 443)" https://www.example.com/
fails_fast "$CLI" "TCP 443 to outside" http://10.213.1.2:443/
fails_fast "$CLI" "IPv6 TCP 443 to outside" "http://[fd13:1::2]:443/"

step "landing page and captive API"
got=$(http_code "$CLI" "http://order.lan/?url=http%3A%2F%2Fexample.com%2F")
expect_eq "$got" "200 " "landing"
landing=$(cat "$WORK/body")
expect_has "$landing" "Netns Market Hall" "venue name on landing"
expect_has "$landing" ">Continue<" "continue button"
csrf=$(grep -o 'name="csrf" value="[^"]*"' <<<"$landing" | head -n 1 | cut -d'"' -f4)
http_code "$CLI" http://order.lan/captive-portal/api >/dev/null
expect_has "$(cat "$WORK/body")" '"captive":true' "captive API before"

step "ordering works before acceptance"
expect_eq "$(place_order "$CLI" before)" 201 "order before acceptance"

step "accept"
got=$(http_code "$CLI" http://order.lan/welcome/accept -d "csrf=$csrf")
expect_eq "$got" "303 http://order.lan/" "accept"

# ------------------------------------------------------------------ after
apple_probe() { http_code "$1" http://captive.apple.com/hotspot-detect.html; }
step "after acceptance (local mode): Apple's probe online, Android's captive until the order is done"
expect_eq "$(apple_probe "$CLI")" "200 " "Apple probe after"
expect_has "$(probe "$CLI")" "302 http://order.lan/" "Android probe after (its window stays open)"
http_code "$CLI" http://order.lan/captive-portal/api >/dev/null
expect_has "$(cat "$WORK/body")" '"captive":false' "captive API after"
expect_eq "$(place_order "$CLI" after)" 201 "order after acceptance"
# The window's landing reopens the open order (the device known by its MAC
# in the router's real ARP table).
expect_has "$(http_code "$CLI" 'http://order.lan/?url=x')" "303 http://order.lan/o/" "landing on the open order"
expect_eq "$(dig_a "$CLI" 10.213.1.2 still-local.example)" 10.213.0.1 "local mode keeps DNS local"
expect_has "$(probe "$CLI2")" "302 http://order.lan/" "the other client is still captive"

step "restart: the client stays accepted"
stop_router
start_router local
expect_eq "$(apple_probe "$CLI")" "200 " "Apple probe after restart"
expect_has "$(probe "$CLI2")" "302 " "other client after restart"
list=$(in_ns "$RTR" "$BIN" --data-dir "$WORK/router" clients list)
echo "$list" | sed 's/^/    /'
expect_has "$(grep '^10.213.0.2 ' <<<"$list")" "accepted" "clients list"
grep -Eq '^10\.213\.0\.2 +([0-9a-f]{2}:){5}[0-9a-f]{2} ' <<<"$list" ||
    fail "clients list: no MAC for 10.213.0.2"

# ------------------------------------------------------------------ internet
step "internet mode: accepted client restored into the nft set, forwarded, let through"
stop_router
start_router internet --upstream 10.213.1.2
accepted4() { in_ns "$RTR" nft list set inet orderspot accepted4; }
grep -q '10.213.0.2 timeout' <<<"$(accepted4)" || fail "10.213.0.2 not restored into @accepted4"
# An accepted client's DNS is not redirected (on the router dnsmasq answers
# it); asked directly, the portal's DNS forwards.
expect_eq "$(dig_a "$CLI" 10.213.0.1 forwarded.example -p 5300)" 10.213.1.2 "DNS forwarded upstream"
expect_eq "$(dig_a "$CLI" 10.213.0.9 forwarded2.example -p 5300)" 10.213.1.2 \
    "forwarded reply from the second address asked"
expect_eq "$(dig_a "$CLI" 10.213.1.2 direct.example)" 10.213.1.2 "own resolver allowed"
expect_eq "$(dig_a "$CLI" 10.213.0.1 order.lan -p 5300)" 10.213.0.1 "portal name stays local"
got=$(http_code "$CLI" http://order.lan/api/shops --resolve order.lan:80:10.213.0.1)
expect_has "$got" "^200 " "HTTP to the router (port 80) still reaches OrderSpot"
expect_has "$(http_code "$CLI" http://10.213.1.2:443/)" "^200 " "TCP 443 to outside passes"
expect_has "$(probe "$CLI")" "302 http://outside.test/" "probe reaches the outside host"
step "internet mode: an unaccepted client is still held"
expect_eq "$(dig_a "$CLI2" 10.213.1.2 x.example)" 10.213.0.1 "client2 DNS intercepted"
expect_has "$(probe "$CLI2")" "302 http://order.lan/" "client2 probe"
fails_fast "$CLI2" "client2 TCP 443 to outside" http://10.213.1.2:443/

step "clients deny: back to the portal within seconds"
in_ns "$RTR" "$BIN" --data-dir "$WORK/router" clients deny 10.213.0.2 >/dev/null
for _ in $(seq 1 80); do
    grep -q '10.213.0.2' <<<"$(accepted4)" || break
    sleep 0.1
done
if grep -q '10.213.0.2' <<<"$(accepted4)"; then fail "10.213.0.2 still in @accepted4 after deny"; fi
expect_eq "$(dig_a "$CLI" 10.213.1.2 denied.example)" 10.213.0.1 "denied client intercepted again"

step "dead upstream: SERVFAIL quickly"
in_ns "$RTR" "$BIN" --data-dir "$WORK/router" clients allow 10.213.0.3 >/dev/null
stop_router
start_router internet --upstream 10.213.1.9
started=$(date +%s%N)
status=$(in_ns "$CLI2" dig +time=4 +tries=1 -p 5300 @10.213.0.1 dead.example A | grep -o 'status: [A-Z]*')
ms=$((($(date +%s%N) - started) / 1000000))
expect_eq "$status" "status: SERVFAIL" "dead upstream"
[ "$ms" -lt 3500 ] || fail "dead upstream took ${ms} ms"
echo "    SERVFAIL in ${ms} ms"

echo "PASS: netns portal test"
