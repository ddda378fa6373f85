#!/usr/bin/env bash
# The hotspot set-up (openwrt/files/orderspot-hotspot) against OpenWrt's real
# `uci` CLI (built from ../shared/vendor by scripts/setup-uci.sh), and the
# firewall it makes, with the package's nft table, in network namespaces.
#
# 1. uci, on a stock-like /etc/config (tests/hotspot/config: OpenWrt 24.10
#    after first boot and the package's install, plus an 'iot' interface on
#    192.168.50.0/24 that the free-subnet choice must avoid): missing SSID,
#    unknown radio, no radio and a foreign 'hotspot' section are refused and
#    change nothing; create adds exactly the expected sections; create again
#    changes no byte; --mode internet adds the wan forwarding, --mode local
#    takes it back; moving to another radio disables the first one again;
#    remove leaves every file byte-identical to before. As the
#    orderspot-https package with tls_domain, tls_cert and tls_key set, create
#    adds the rule letting HTTPS (tls_listen's port) through to the router,
#    not without the certificate nor in the default package, and remove takes
#    it back.
# 2. firewall (root, ip, nft): the zone's ruleset as firewall4 would render it
#    (tests/hotspot/fw4like.py: fw4 is ucode, which is not available here,
#    so its templates are followed by hand, not run), with the package's
#    /usr/share/nftables.d/ruleset-post include, in a router namespace with a
#    hotspot client, a LAN host and an "internet" host over veth. The init
#    script's load_rules writes and loads the table; a firewall reload keeps it
#    (and its accepted clients) without duplicating a rule, a restart brings
#    it back. The client's DNS and HTTP reach the portal's ports; SSH to the
#    router, the LAN and (until accepted, and always in local mode) the
#    internet are refused at once; accepted in internet mode it reaches the
#    internet and the router's dnsmasq, still not the LAN. With HTTPS
#    configured, the client's HTTPS to the router (port 443) reaches the
#    portal's HTTPS port, accepted or not, and no longer after remove.
# All traffic stays on the namespaces' own 10.213.0.0/16 addresses.
#
# Prints "SKIPPED: ..." and exits 0 without uci (or, for part 2, root and
# tools), unless ORDERSPOT_REQUIRE_NETNS=1 (CI), which makes a skip a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

skip() {
    echo "SKIPPED: hotspot test: $*"
    [ "${ORDERSPOT_REQUIRE_NETNS:-0}" = 1 ] && exit 1
    exit 0
}
UCI=${ORDERSPOT_UCI:-}
[ -n "$UCI" ] || UCI=$(bash scripts/setup-uci.sh 2>/dev/null) || skip "no uci (scripts/setup-uci.sh failed)"
command -v python3 >/dev/null || skip "python3 is not installed"
# The router's shell when there is one here, else the system's.
if command -v busybox >/dev/null; then SHELL_CMD=(busybox ash); else SHELL_CMD=(sh); fi

WORK=$(mktemp -d /tmp/orderspot-hotspot.XXXXXX)
ID=$$
NSS=()
PIDS=()
cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin"
ln -s "$UCI" "$WORK/bin/uci"
printf '#!/bin/sh\nexit 0\n' >"$WORK/bin/logger"
chmod 755 "$WORK/bin/logger"
export PATH=$WORK/bin:$PATH

PASSED=0
FAILED=0
step() { echo "--- $*"; }
ok() { echo "  ok   $*"; PASSED=$((PASSED + 1)); }
fail() { echo "  FAIL $*"; FAILED=$((FAILED + 1)); }
expect() { # expect <what> <command...>
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

# The script as each package ships it: the default one (no HTTPS build
# marker) and orderspot-https's (the marker exists).
mkdir -p "$WORK/default" "$WORK/https"
touch "$WORK/https/marker"
for v in default https; do
    sed "s|^HTTPS_BUILD=.*|HTTPS_BUILD=$WORK/$v/marker|" openwrt/files/orderspot-hotspot >"$WORK/$v/orderspot-hotspot"
done
SCRIPT=$WORK/default/orderspot-hotspot
hotspot() { # hotspot <config dir> <args...>: the script ($SCRIPT) on that config
    local dir=$1
    shift
    UCI_CONFIG_DIR=$dir "${SHELL_CMD[@]}" "$SCRIPT" "$@"
}
hotspot_https() { SCRIPT=$WORK/https/orderspot-hotspot hotspot "$@"; }
show() { uci -c "$1" -t "$1.delta" show "$2"; }
same_files() { diff -r -x '*.delta' "$1" "$2" >/dev/null; }

# A stock-like /etc/config in <dir>, every file as uci writes it (on a router
# the first `uci commit` drops the package config's comments too).
stock_config() {
    local dir=$1 pkg
    mkdir -p "$dir"
    cp tests/hotspot/config/* "$dir/"
    cp openwrt/files/orderspot.config "$dir/orderspot"
    for pkg in network wireless dhcp firewall orderspot; do
        uci -c "$dir" -t "$dir.delta" export "$pkg" >"$WORK/export"
        uci -c "$dir" -t "$dir.delta" import "$pkg" <"$WORK/export"
    done
}

# ------------------------------------------------------------------ 1. uci
step "$UCI on a stock-like config, the script run by ${SHELL_CMD[*]}"
A=$WORK/config
stock_config "$A"
cp -a "$A" "$WORK/before"

refuses() { # refuses <dir> <message part> <args...>: fails, says why, changes nothing
    local dir=$1 want=$2 out
    shift 2
    cp -a "$dir" "$WORK/unchanged"
    if out=$(hotspot "$dir" "$@" 2>&1); then echo "    succeeded: $out"; return 1; fi
    grep -qF -- "$want" <<<"$out" || { echo "    said: $out"; return 1; }
    same_files "$dir" "$WORK/unchanged" || { echo "    changed the config"; return 1; }
    rm -rf "$WORK/unchanged"
}
expect "create without --ssid is refused" refuses "$A" "--ssid" create
expect "create with an unknown radio is refused" refuses "$A" "no Wi-Fi radio 'radio9'; radios: radio0 radio1" create --ssid x --radio radio9
expect "create with a bad --mode is refused" refuses "$A" "--mode is local or internet" create --ssid x --mode open
expect "remove with nothing created is refused" refuses "$A" "nothing removed" remove
NORADIO=$WORK/noradio
stock_config "$NORADIO"
: >"$NORADIO/wireless"
expect "create on a router without Wi-Fi is refused" refuses "$NORADIO" "no Wi-Fi radio" create --ssid x
FOREIGN=$WORK/foreign
stock_config "$FOREIGN"
uci -c "$FOREIGN" -t "$FOREIGN.delta" batch <<'EOF'
set network.hotspot=interface
set network.hotspot.proto=static
commit network
EOF
expect "create next to the owner's own 'hotspot' interface is refused" refuses "$FOREIGN" "network.hotspot exists" create --ssid x

step "create --ssid 'Food Court'"
out=$(hotspot "$A" create --ssid "Food Court")
echo "    $out" | head -n 1
added() { diff <(cat "$WORK"/before.show) <(for p in network wireless dhcp firewall orderspot; do show "$A" "$p"; done) | sed -n 's/^> //p'; }
for p in network wireless dhcp firewall orderspot; do show "$WORK/before" "$p"; done >"$WORK/before.show"
EXPECTED_ADDED="network.hotspot_dev=device
network.hotspot_dev.name='br-hotspot'
network.hotspot_dev.type='bridge'
network.hotspot_dev.bridge_empty='1'
network.hotspot=interface
network.hotspot.proto='static'
network.hotspot.device='br-hotspot'
network.hotspot.ipaddr='192.168.51.1'
network.hotspot.netmask='255.255.255.0'
wireless.radio0.disabled='0'
wireless.hotspot=wifi-iface
wireless.hotspot.device='radio0'
wireless.hotspot.mode='ap'
wireless.hotspot.network='hotspot'
wireless.hotspot.encryption='none'
wireless.hotspot.isolate='1'
wireless.hotspot.ssid='Food Court'
dhcp.hotspot=dhcp
dhcp.hotspot.interface='hotspot'
dhcp.hotspot.start='100'
dhcp.hotspot.limit='150'
dhcp.hotspot.leasetime='1h'
firewall.hotspot=zone
firewall.hotspot.name='hotspot'
firewall.hotspot.network='hotspot'
firewall.hotspot.input='REJECT'
firewall.hotspot.output='ACCEPT'
firewall.hotspot.forward='REJECT'
firewall.hotspot_dhcp=rule
firewall.hotspot_dhcp.name='Allow-Hotspot-DHCP'
firewall.hotspot_dhcp.src='hotspot'
firewall.hotspot_dhcp.proto='udp'
firewall.hotspot_dhcp.dest_port='67'
firewall.hotspot_dhcp.family='ipv4'
firewall.hotspot_dhcp.target='ACCEPT'
firewall.hotspot_dns=rule
firewall.hotspot_dns.name='Allow-Hotspot-DNS'
firewall.hotspot_dns.src='hotspot'
firewall.hotspot_dns.proto='tcp udp'
firewall.hotspot_dns.dest_port='53 5300'
firewall.hotspot_dns.target='ACCEPT'
firewall.hotspot_portal=rule
firewall.hotspot_portal.name='Allow-Hotspot-Portal'
firewall.hotspot_portal.src='hotspot'
firewall.hotspot_portal.proto='tcp'
firewall.hotspot_portal.dest_port='8080'
firewall.hotspot_portal.target='ACCEPT'
orderspot.main.network='hotspot'
orderspot.hotspot=hotspot
orderspot.hotspot.radio_was_disabled='1'
orderspot.hotspot.radio='radio0'"
added_is() {
    local got
    got=$(added | sort)
    [ "$got" = "$(sort <<<"$1")" ] || { diff <(sort <<<"$1") <(echo "$got") | sed 's/^/    /'; return 1; }
}
expect "create adds exactly the hotspot's sections (free subnet 192.168.51.0/24: lan and iot use .1 and .50), enables radio0, points OrderSpot at it" \
    added_is "$EXPECTED_ADDED"
expect "no uci changes left uncommitted" test -z "$(uci -c "$A" -t "$A.delta" changes)"
cp -a "$A" "$WORK/created"
hotspot "$A" create --ssid "Food Court" >/dev/null
expect "create again changes no byte" same_files "$A" "$WORK/created"

step "modes and radios"
hotspot "$A" create --ssid "Food Court" --mode internet >/dev/null
expect "--mode internet: forwarding hotspot -> wan, mode internet, the old mode kept for remove" \
    added_is "$EXPECTED_ADDED
firewall.hotspot_wan=forwarding
firewall.hotspot_wan.src='hotspot'
firewall.hotspot_wan.dest='wan'
orderspot.main.mode='internet'
orderspot.hotspot.mode_before='local'"
hotspot "$A" create --ssid "Food Court" --mode local >/dev/null
expect "--mode local: no forwarding to wan any more" \
    added_is "$EXPECTED_ADDED
orderspot.hotspot.mode_before='local'"
hotspot "$A" create --ssid "Food Court" --radio radio1 >/dev/null
expect "--radio radio1: the access point moves, radio0 is disabled again" \
    test "$(show "$A" wireless | grep -E '^wireless\.(radio0\.disabled|radio1\.disabled|hotspot\.device)=' | sort | paste -sd' ')" = \
    "wireless.hotspot.device='radio1' wireless.radio0.disabled='1'"
hotspot "$A" create --ssid "Bob's Café" >/dev/null
expect "a quote in the SSID is kept as it is" test "$(uci -c "$A" -t "$A.delta" get wireless.hotspot.ssid)" = "Bob's Café"

step "remove"
out=$(hotspot "$A" remove)
echo "    $out"
expect "remove leaves every config file byte-identical to before create" same_files "$A" "$WORK/before"
expect "remove again is refused" refuses "$A" "nothing removed" remove

step "HTTPS (orderspot-https): the certificate's port opened to the router"
H=$WORK/https-config
cp -a "$WORK/before" "$H"
https_rule() { show "$1" firewall | grep '^firewall\.hotspot_https' | paste -sd' ' || true; }
hotspot_https "$H" create --ssid "Food Court" >/dev/null
expect "orderspot-https without a certificate: no HTTPS rule" test -z "$(https_rule "$H")"
hotspot_https "$H" remove >/dev/null
uci -c "$H" -t "$H.delta" batch <<'EOF'
set orderspot.main.tls_domain=order.venue.test
set orderspot.main.tls_cert=/etc/orderspot/chain.pem
set orderspot.main.tls_key=/etc/orderspot/key.pem
set orderspot.main.tls_listen=0.0.0.0:8444
commit orderspot
EOF
cp -a "$H" "$WORK/https-before"
hotspot "$H" create --ssid "Food Court" >/dev/null
expect "the default package ignores the certificate: no HTTPS rule" test -z "$(https_rule "$H")"
hotspot_https "$H" create --ssid "Food Court" >/dev/null
expect "with domain, certificate and key: HTTPS from the hotspot to tls_listen's port (8444) accepted" \
    test "$(https_rule "$H")" = "firewall.hotspot_https=rule firewall.hotspot_https.name='Allow-Hotspot-HTTPS' firewall.hotspot_https.src='hotspot' firewall.hotspot_https.proto='tcp' firewall.hotspot_https.dest_port='8444' firewall.hotspot_https.target='ACCEPT'"
uci -c "$H" -t "$H.delta" set orderspot.main.tls_listen="0.0.0.0:84'4"
uci -c "$H" -t "$H.delta" commit orderspot
SCRIPT=$WORK/https/orderspot-hotspot
expect "a tls_listen with no port number is refused" refuses "$H" "has no port" create --ssid "Food Court"
SCRIPT=$WORK/default/orderspot-hotspot
uci -c "$H" -t "$H.delta" set orderspot.main.tls_listen=0.0.0.0:8444
uci -c "$H" -t "$H.delta" commit orderspot
hotspot_https "$H" remove >/dev/null
expect "remove takes the HTTPS rule back with the rest: every file as before create" same_files "$H" "$WORK/https-before"

# ------------------------------------------------------------------ 2. firewall
step "firewall in network namespaces"
[ "$(id -u)" = 0 ] || skip "part 2 needs root (part 1 passed: $PASSED checks)"
for tool in ip nft; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup-netns.sh)"
done
[ "$FAILED" = 0 ] || { echo "hotspot test: $PASSED passed, $FAILED failed"; exit 1; }

# The router's config: the stock one with the namespaces' addresses.
B=$WORK/router
stock_config "$B"
uci -c "$B" -t "$B.delta" set network.lan.ipaddr=10.213.1.1
uci -c "$B" -t "$B.delta" commit network
hotspot "$B" create --ssid Test --ip 10.213.50.1 --mode internet >/dev/null

# The package's files where fw4 and the init script would find them, moved
# under $WORK: the ruleset-post include, the template, load_rules.
mkdir -p "$WORK/nftables.d/ruleset-post" "$WORK/run"
INCLUDE=$WORK/nftables.d/ruleset-post/orderspot.nft
sed "s|/var/run/orderspot/|$WORK/run/orderspot/|" openwrt/files/orderspot.fw4 >"$INCLUDE"
sed -e "s|/var/run/orderspot/|$WORK/run/orderspot/|" \
    -e "s|/usr/share/orderspot/orderspot.nft|$ROOT/openwrt/files/orderspot.nft|" \
    openwrt/files/orderspot.init >"$WORK/init"
fw4_ruleset() { # the ruleset fw4 would load for config $B
    show "$B" firewall >"$WORK/fw.show"
    show "$B" network >"$WORK/net.show"
    python3 tests/hotspot/fw4like.py "$WORK/fw.show" "$WORK/net.show" "$INCLUDE" >"$WORK/fw4.nft"
}

RTR=os-hrtr-$ID HOT=os-hcli-$ID LANH=os-hlan-$ID WANH=os-hwan-$ID
for ns in "$RTR" "$HOT" "$LANH" "$WANH"; do
    ip netns add "$ns"
    NSS+=("$ns")
    ip -n "$ns" link set lo up
done
link() { # link <router bridge or ""> <router-side name> <ns> <ns addr> <gateway>
    local bridge=$1 name=$2 ns=$3 addr=$4 gw=$5
    ip link add "$name" netns "$RTR" type veth peer name eth0 netns "$ns"
    if [ -n "$bridge" ]; then ip -n "$RTR" link set "$name" master "$bridge"; fi
    ip -n "$RTR" link set "$name" up
    ip -n "$ns" addr add "$addr" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$gw"
}
for br in br-lan br-hotspot; do
    ip -n "$RTR" link add "$br" type bridge
    ip -n "$RTR" link set "$br" up
done
ip -n "$RTR" addr add 10.213.1.1/24 dev br-lan
ip -n "$RTR" addr add 10.213.50.1/24 dev br-hotspot
link br-lan lanp "$LANH" 10.213.1.2/24 10.213.1.1
link br-hotspot hotp "$HOT" 10.213.50.2/24 10.213.50.1
ip link add "oswan$ID" netns "$RTR" type veth peer name eth0 netns "$WANH"
ip -n "$RTR" link set "oswan$ID" name wan
ip -n "$RTR" addr add 10.213.99.1/24 dev wan
ip -n "$RTR" link set wan up
ip -n "$WANH" addr add 10.213.99.2/24 dev eth0
ip -n "$WANH" link set eth0 up
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1

serve() { # serve <ns> <addr> <specs...>
    local ns=$1
    shift
    ip netns exec "$ns" python3 tests/hotspot/net.py listen "$@" >"$WORK/listen-$ns-$#.log" 2>&1 &
    PIDS+=($!)
}
serve "$RTR" 0.0.0.0 tcp:22 tcp:53 tcp:80 tcp:5300 tcp:8080 tcp:8443 udp:53 udp:5300
serve "$LANH" 10.213.1.2 tcp:8000
serve "$WANH" 10.213.99.2 tcp:443 udp:53
for _ in $(seq 1 50); do
    [ "$(grep -l listening "$WORK"/listen-*.log 2>/dev/null | wc -l)" = 3 ] && break
    sleep 0.1
done

ask() { ip netns exec "$HOT" python3 tests/hotspot/net.py "$@"; }
answers() { # answers <what> <want> <proto> <host> <port>
    local what=$1 want=$2 got started ms
    shift 2
    started=$(date +%s%N)
    got=$(ask "$@")
    ms=$((($(date +%s%N) - started) / 1000000))
    if [ "$got" = "$want" ] && { [ "$want" != refused ] || [ "$ms" -lt 10000 ]; }; then
        ok "$what: $got ($ms ms)"
    else
        fail "$what: expected '$want', got '$got' in $ms ms"
    fi
}
rtr() { ip netns exec "$RTR" "$@"; }
rules_in() { rtr nft list chain inet orderspot "$1" | grep -c -e redirect -e reject -e return; }

fw4_ruleset
expect "fw4 start before OrderSpot: the include matches nothing, the firewall loads" rtr nft -f "$WORK/fw4.nft"
expect "... and there is no orderspot table" bash -c "! ip netns exec $RTR nft list table inet orderspot >/dev/null 2>&1"
expect "the init script's load_rules writes and loads the table for br-hotspot" \
    rtr "${SHELL_CMD[@]}" -c ". '$WORK/init'; load_rules br-hotspot 8080 5300 >/dev/null"
expect "... into the file fw4 includes" grep -qx 'define orderspot_if = "br-hotspot"' "$WORK/run/orderspot/fw4.nft"
rtr nft add element inet orderspot accepted4 '{ 10.213.50.99 timeout 1h }'
expect "fw4 reload: ruleset and include load together" rtr nft -f "$WORK/fw4.nft"
expect "... no rule twice (dstnat 6, forward 5)" test "$(rules_in dstnat) $(rules_in forward)" = "6 5"
expect "... accepted clients kept" bash -c "ip netns exec $RTR nft list set inet orderspot accepted4 | grep -q 10.213.50.99"
rtr nft flush ruleset
expect "fw4 restart (every table deleted, then start) brings the table back" rtr nft -f "$WORK/fw4.nft"
expect "... with its rules" test "$(rules_in dstnat) $(rules_in forward)" = "6 5"

step "hotspot client, not accepted (internet mode)"
answers "DNS to the router goes to the portal's DNS" "port 5300" udp 10.213.50.1 53
answers "DNS to an outside resolver goes to the portal's DNS" "port 5300" udp 10.213.99.2 53
answers "DNS over TCP goes to the portal's DNS" "port 5300" tcp 10.213.50.1 53
answers "HTTP to the router goes to the portal" "port 8080" tcp 10.213.50.1 80
answers "HTTP to an outside address goes to the portal" "port 8080" tcp 10.213.99.2 80
answers "the portal's port directly" "port 8080" tcp 10.213.50.1 8080
answers "SSH to the router is refused" refused tcp 10.213.50.1 22
answers "the router's LAN address is refused" refused tcp 10.213.1.1 22
answers "a LAN host is refused" refused tcp 10.213.1.2 8000
answers "the internet is refused" refused tcp 10.213.99.2 443

step "hotspot client, accepted (internet mode)"
rtr nft add element inet orderspot accepted4 '{ 10.213.50.2 timeout 1h }'
answers "the internet is reached" "port 443" tcp 10.213.99.2 443
answers "DNS to the router reaches its dnsmasq" "port 53" udp 10.213.50.1 53
answers "HTTP to the router still goes to the portal" "port 8080" tcp 10.213.50.1 80
answers "a LAN host is still refused" refused tcp 10.213.1.2 8000
answers "SSH to the router is still refused" refused tcp 10.213.50.1 22

step "local mode: no forwarding even for an accepted client"
hotspot "$B" create --ssid Test --mode local >/dev/null
fw4_ruleset
expect "fw4 reload with the local-mode zone" rtr nft -f "$WORK/fw4.nft"
answers "the internet is refused" refused tcp 10.213.99.2 443
answers "the portal still answers" "port 8080" tcp 10.213.50.1 80

step "HTTPS (orderspot-https with a certificate)"
answers "without HTTPS configured, HTTPS to the router is refused" refused tcp 10.213.50.1 443
uci -c "$B" -t "$B.delta" batch <<'EOF'
set orderspot.main.tls_domain=order.venue.test
set orderspot.main.tls_cert=/etc/orderspot/chain.pem
set orderspot.main.tls_key=/etc/orderspot/key.pem
commit orderspot
EOF
hotspot_https "$B" create --ssid Test --mode local >/dev/null
fw4_ruleset
expect "fw4 reload with the HTTPS rule" rtr nft -f "$WORK/fw4.nft"
expect "load_rules with the HTTPS port redirects the hotspot's 443 to it" \
    rtr "${SHELL_CMD[@]}" -c ". '$WORK/init'; load_rules br-hotspot 8080 5300 8443 >/dev/null"
answers "HTTPS to the router reaches the portal's HTTPS port (accepted client)" "port 8443" tcp 10.213.50.1 443
rtr nft delete element inet orderspot accepted4 '{ 10.213.50.2 }'
answers "HTTPS to the router reaches the portal's HTTPS port (client not accepted)" "port 8443" tcp 10.213.50.1 443
answers "HTTPS to the internet is still refused" refused tcp 10.213.99.2 443

step "remove"
hotspot_https "$B" remove >/dev/null
expect "the zone is gone from the config" bash -c "! uci -c '$B' -t '$B.delta' -q get firewall.hotspot"
expect "the init script's unload_rules deletes the table and the included file" \
    rtr "${SHELL_CMD[@]}" -c ". '$WORK/init'; unload_rules; ! nft list table inet orderspot 2>/dev/null && [ ! -e '$WORK/run/orderspot/fw4.nft' ]"
fw4_ruleset
expect "fw4 reload after remove loads without the hotspot" rtr nft -f "$WORK/fw4.nft"
expect "... and without the HTTPS rule" bash -c "! grep -q 8443 '$WORK/fw4.nft'"

echo "hotspot test: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
