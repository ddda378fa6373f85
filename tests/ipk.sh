#!/usr/bin/env bash
# Tests of the OpenWrt packages in dist/ (made by scripts/build-ipk.sh):
#
#   tests/ipk.sh                 # every dist/orderspot_<version>_*.ipk
#   tests/ipk.sh mipsel_24kc     # just these architectures
#   tests/ipk.sh --https mips_24kc   # the orderspot-https variant's packages
#                                # (scripts/build-ipk.sh --https)
#
# For each package: the outer format opkg reads (a gzip'd tar of exactly
# ./debian-binary, ./data.tar.gz, ./control.tar.gz; not ar), the control
# fields, conffiles and maintainer scripts (sh -n, default_postinst/prerm),
# LicenseFiles, postrm's upgrade guard, every file's path, mode and owner
# after unpacking into a scratch root, the init script's and uci-defaults'
# syntax, that every flag the init script
# passes exists in the packaged binary's `serve --help` (run under qemu), the
# UCI options, and that packaging again gives the same bytes. With stand-ins
# for uci, nft and procd: the init script turns a UCI config into a command
# line the packaged binary starts with (checked over HTTP and DNS), loads the
# nftables table once and unloads it at stop; uci-defaults is idempotent and
# postrm undoes it; installing on a stock config intercepts nothing until
# orderspot.main.network is chosen, then exactly that network (nft table,
# --dns, DHCP option 114), and unsetting it releases it. Also the size
# budget for mips_24kc (stripped binary and ipk: MAX_BIN, MAX_IPK; for
# orderspot-https MAX_BIN_HTTPS, MAX_IPK_HTTPS), and that src/ uses no SQL
# feature the router's SQLite is built without. orderspot-https is checked
# the same way, plus: Conflicts and Provides orderspot, the marker file
# /usr/share/orderspot/https, and every --tls-* flag of the init script in
# its binary's `serve --help`.
#
# With no package in dist/ it prints "SKIPPED: ..." and exits 0, unless
# ORDERSPOT_REQUIRE_IPK=1 (CI), which turns the skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=${DIST:-$ROOT/dist}
# The package under test and where scripts/build-ipk.sh put its binaries.
PKGNAME=orderspot
BIN_DIST=$DIST
HTTPS_FLAG=()
if [ "${1-}" = --https ]; then
    PKGNAME=orderspot-https
    BIN_DIST=$DIST/https
    HTTPS_FLAG=(--https)
    shift
fi

FAILS=0
pass() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # check <description> <command...>
    local what=$1
    shift
    if "$@"; then pass "$what"; else bad "$what"; fi
}

# About 10 KB above the last build (2,467,796 and 1,186,062 bytes,
# 2026-12-02, session 13), under the 2.5 MB goal; loosened on 2026-11-30
# (twice), the reasons in openwrt/README.md ("Size budget"). Tighten it as
# bytes are won.
MAX_BIN=2478000
MAX_IPK=1196000
# orderspot-https: about 10 KB above its last build (2026-12-02, session 13:
# binary 2,903,120 and ipk 1,395,297 bytes, 435,324 and 209,235 above the
# default package's of the same code), as the default package's budget.
MAX_BIN_HTTPS=2914000
MAX_IPK_HTTPS=1406000

# --- independent of any build -------------------------------------------------
echo "== sources"
# Host builds keep SQLite's default features; the router's are trimmed by
# openwrt/sqlite-options. SQL using a removed feature would pass the host
# tests and fail on the router, so it must not appear.
sql_features_unused() {
    local hits common='\bjson_(extract|object|array|each|tree|set|insert|replace|remove|patch|group_array|group_object|valid|type|quote|array_length)\s*\(|->>|\bfts[345]\b|\brtree|\bsoundex\s*\(|\bdbstat\b|sqlite_stat4|load_extension|\b(datetime|strftime|julianday|unixepoch|timediff)\s*\(|\bcurrent_(timestamp|date|time)\b|integrity_check|quick_check|\bexplain\s+(query\s+plan\s+)?(select|insert|update|delete|with)\b|\bgenerated\s+always\b|\bcompile_options\b|\bcase_sensitive_like\b|\b(function|module|pragma)_list\b|\bauto_vacuum\b|\b(table_x?info|index_x?info|index_list|database_list|collation_list)\b|\b(union|intersect|except)\b|\bwith\s+(recursive\s+)?[a-z_]+(\s*\([^)]*\))?\s+as\s*(not\s+)?(materialized\s+)?\(|\bover\s*\(|\bwindow\s+[a-z_]+\s+as\s*\(|\bfilter\s*\(\s*where\b|\bcreate\s+(temp\s+|temporary\s+)?view\b|\b(analyze|reindex)\b|\bpragma\s+optimize\b|\bvirtual\s+table\b|\b(from|join)\s+pragma_[a-z_]+'
    hits=$({
        grep -rniE --include='*.rs' "$common" src
        # ALTER TABLE is src/db/alter.rs's, for the migrations' own lines.
        grep -rniE --include='*.rs' --exclude=alter.rs '\balter\s+table\b' src
        grep -rniE --include='*.sql' "$common|\b(json|date|time)\s*\(|\b0x[0-9a-f]|\bx'|\$[a-z_]" src
    } | grep -v -e '^\S*:[0-9]*:\s*//' || true)
    [ -z "$hits" ] || { echo "$hits" | head -n 5; return 1; }
}
check "src/ uses no SQL feature removed by openwrt/sqlite-options (JSON, FTS, R-tree, soundex, dbstat, stat4, extensions, date functions, integrity checks, EXPLAIN, generated columns, introspection and schema pragmas, auto-vacuum, blob literals, $ parameters, compound SELECTs, window functions, CTEs, views, ANALYZE, REINDEX, virtual tables and table-valued pragmas, ALTER TABLE outside the migrations)" sql_features_unused
# openwrt/sqlite-grammar must be generated for the options builds use.
sqlite_grammar_current() {
    local made want
    made=$(sed -n 's/^options=//p' openwrt/sqlite-grammar/made-for)
    want=$(. scripts/sqlite-env.sh && echo "$SQLITE_GRAMMAR_OPTIONS")
    [ "$made" = "$want" ] || { echo "    made for: $made"; echo "    options:  $want"; return 1; }
}
check "openwrt/sqlite-grammar was generated for openwrt/sqlite-options (else run scripts/sqlite-grammar.sh)" sqlite_grammar_current
# cross.toml must build what scripts/build.sh builds.
cross_toml_consistent() {
    local sq rf want
    sq=$(sed -n 's/^ *"LIBSQLITE3_FLAGS=\(.*\)",$/\1/p' cross.toml)
    [ "$sq" = "$(grep -- '^-' openwrt/sqlite-options | tr '\n' ' ' | sed 's/ $//')" ] ||
        { echo "    LIBSQLITE3_FLAGS differ from openwrt/sqlite-options"; return 1; }
    rf=$(sed -n 's/^ *"RUSTFLAGS=\(.*\)",$/\1/p' cross.toml)
    want=$(sed -n 's/^RUSTFLAGS_CROSS="\(.*\)"$/\1/p' scripts/build.sh | sed 's/-C link-self-contained=no //')
    [ "$rf" = "$want" ] || { echo "    RUSTFLAGS '$rf' differ from scripts/build.sh '$want'"; return 1; }
    grep -q "CARGO_UNSTABLE_BUILD_STD_FEATURES=$(sed -n 's/.*ORDERSPOT_STD_FEATURES-\([a-z_]*\)}.*/\1/p' scripts/build.sh)\"" cross.toml ||
        { echo "    std features differ"; return 1; }
    local t
    for t in $(scripts/build.sh --list | while read -r a; do awk -v a="$a" '$1 == a { print $2 }' <(sed -n '/^TARGETS="/,/^"/p' scripts/build.sh); done); do
        grep -q "^\[target\.$t\]" cross.toml || { echo "    no [target.$t]"; return 1; }
    done
}
check "cross.toml matches scripts/build.sh (SQLite options, RUSTFLAGS, std features, targets)" cross_toml_consistent
# The feed Makefile builds from the release tarball, never from the tree
# around it, and its PKG_HASH is the tarball's of ORDERSPOT_COMMIT.
check "openwrt/Makefile reads nothing outside its directory (no \$(CURDIR)/..)" \
    sh -c '! grep -q "CURDIR)/\.\." openwrt/Makefile'
check "openwrt/Makefile: PKG_VERSION is Cargo.toml's version" \
    test "$(sed -n 's/^PKG_VERSION:=//p' openwrt/Makefile)" = "$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)"
release_hash_matches() {
    local out dir rc=0
    dir=$(mktemp -d /tmp/orderspot-release.XXXXXX)
    out=$(DIST=$dir scripts/release-tarball.sh --check 2>&1) || rc=1
    rm -rf "$dir"
    [ $rc = 0 ] || echo "    $out"
    return $rc
}
check "openwrt/Makefile: PKG_HASH is the sha256 of scripts/release-tarball.sh's tarball of ORDERSPOT_COMMIT" release_hash_matches
for f in openwrt/files/orderspot.init openwrt/files/orderspot.uci-defaults openwrt/files/orderspot-hotspot openwrt/files/orderspot.sysupgrade; do
    check "sh -n $f" sh -n "$f"
    if command -v busybox >/dev/null; then check "busybox ash -n $f" busybox ash -n "$f"; fi
done

# --- OpenWrt stand-ins for running the package's scripts here --------------------
# A fake `uci` (state in $UCI_STATE, JSON), a fake `nft` (logs its arguments,
# remembers whether the table is loaded), `logger`, and rc.common/procd
# functions that record the service's command line instead of starting it.
write_openwrt_fakes() {
    local d=$1
    mkdir -p "$d/bin" "$d/run"
    cat >"$d/bin/uci" <<'PY'
#!/usr/bin/env python3
import json, os, sys
path = os.environ["UCI_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {}
args = [a for a in sys.argv[1:] if a not in ("-q", "-X")]

def split(key):
    parts = key.split(".", 2)
    return parts + [None] * (3 - len(parts))

def unquote(v):
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"" else v

def run(cmd, rest):
    if cmd == "get":
        c, s, o = split(rest[0])
        sec = state.get(c, {}).get(s)
        if sec is None: return 1
        if o is None: print(sec[".type"]); return 0
        if o not in sec: return 1
        v = sec[o]; print(" ".join(v) if isinstance(v, list) else v); return 0
    if cmd in ("set", "add_list", "del_list"):
        key, _, value = rest[0].partition("=")
        value = unquote(value)
        c, s, o = split(key)
        if o is None:
            state.setdefault(c, {}).setdefault(s, {})[".type"] = value; return 0
        sec = state.get(c, {}).get(s)
        if sec is None: return 1
        if cmd == "set": sec[o] = value
        elif cmd == "add_list": sec.setdefault(o, []).append(value)
        else:
            sec[o] = [x for x in sec.get(o, []) if x != value]
            if not sec[o]: del sec[o]
        return 0
    if cmd == "delete":
        c, s, o = split(rest[0])
        sec = state.get(c, {}).get(s)
        if sec is None: return 1
        if o is None: del state[c][s]
        else: sec.pop(o, None)
        return 0
    if cmd == "commit": return 0
    if cmd == "show":
        for s, sec in state.get(rest[0], {}).items():
            print(f"{rest[0]}.{s}={sec['.type']}")
            for o, v in sec.items():
                if o == ".type": continue
                vs = v if isinstance(v, list) else [v]
                print(f"{rest[0]}.{s}.{o}=" + " ".join(f"'{x}'" for x in vs))
        return 0
    if cmd == "batch":
        rc = 0
        for line in sys.stdin:
            words = line.split(None, 1)
            if words: rc |= run(words[0], [words[1].strip()])
        return rc
    print("fake uci: unsupported", cmd, file=sys.stderr); return 2

rc = run(args[0], args[1:])
json.dump(state, open(path, "w"), indent=1, sort_keys=True)
sys.exit(rc)
PY
    cat >"$d/bin/nft" <<'SH'
#!/bin/sh
echo "nft $*" >>"$FAKE_ROOT/nft.log"
case "$*" in
    "list table inet orderspot") [ -e "$FAKE_ROOT/nft.table" ] ;;
    "-f "*) cp "${2}" "$FAKE_ROOT/nft.loaded" && touch "$FAKE_ROOT/nft.table" ;;
    "delete table inet orderspot") rm -f "$FAKE_ROOT/nft.table" ;;
    *"-f -"*) cat >/dev/null ;;
    *" -f "*) touch "$FAKE_ROOT/nft.table" ;;
    *) exit 0 ;;
esac
SH
    printf '#!/bin/sh\nexit 0\n' >"$d/bin/logger"
    printf '#!/bin/sh\nexit 0\n' >"$d/bin/ujail"
    # no orderspot user here: chown is logged
    printf '#!/bin/sh\necho "chown $*" >>"$FAKE_ROOT/chown.log"\n' >"$d/bin/chown"
    # procd's validate_data for the datatypes the init script declares:
    # prints name='value'; for each option (the default when unset); for a
    # value not of its type, an error on stderr and exit status 1.
    cat >"$d/bin/validate_data" <<'PY'
#!/usr/bin/env python3
import json, os, re, shlex, sys
state = json.load(open(os.environ["UCI_STATE"]))
sec = state.get(sys.argv[1], {}).get(sys.argv[3], {})
def ok(kind, v):
    if kind in ("string", "list(string)"): return True
    if kind == "bool": return v in ("0", "1", "on", "off", "true", "false", "yes", "no", "enabled", "disabled")
    if kind == "hostname": return re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}", v) is not None
    m = re.fullmatch(r"range\((\d+),(\d+)\)", kind)
    if m: return v.isdigit() and int(m[1]) <= int(v) <= int(m[2])
    m = re.fullmatch(r"or\((.*)\)", kind)
    if m: return v in [w.strip('"') for w in m[1].split(",")]
    sys.exit(f"validate_data stand-in: unknown type {kind}")
rc = 0
for spec in sys.argv[4:]:
    name, kind, *default = spec.split(":", 2)
    value = sec.get(name, default[0] if default else "")
    values = value if isinstance(value, list) else [value]
    if any(x != "" and not ok(kind, x) for x in values):
        print(f"{sys.argv[1]}.{sys.argv[3]}.{name}={value!r} is not {kind}", file=sys.stderr)
        rc = 1
        value = default[0] if default else ""
    print(f"{name}={shlex.quote(' '.join(value) if isinstance(value, list) else value)};")
sys.exit(rc)
PY
    chmod 755 "$d/bin/uci" "$d/bin/nft" "$d/bin/logger" "$d/bin/ujail" "$d/bin/chown" "$d/bin/validate_data"
    cat >"$d/network.sh" <<'SH'
network_get_ipaddr() { eval "$1=\${FAKE_LAN_IP-}"; }
network_get_device() { eval "$1=br-$2"; }
SH
    # rc.common and procd, as far as the init script uses them
    cat >"$d/rc.sh" <<'SH'
extra_command() { :; }
config_load() { eval "$(python3 "$FAKE_ROOT/uciconf.py" emit "$1")"; }
config_get() {
    if [ $# -le 3 ] && [ "${3+x}" = "" ]; then eval echo "\"\${CONFIG_${1}_${2}-}\""; return; fi
    eval "$1=\${CONFIG_${2}_${3}:-\${4-}}"
}
config_get_bool() {
    local _v
    eval "_v=\${CONFIG_${2}_${3}:-\${4-}}"
    case "$_v" in 1|on|true|yes|enabled) _v=1 ;; *) _v=0 ;; esac
    eval "$1=$_v"
}
config_list_foreach() {
    local _n _i=1
    eval "_n=\${CONFIG_${1}_${2}_LENGTH:-0}"
    while [ "$_i" -le "$_n" ]; do eval "$3 \"\${CONFIG_${1}_${2}_ITEM$_i}\""; _i=$((_i + 1)); done
}
procd_open_instance() { : >"$FAKE_ROOT/command"; : >"$FAKE_ROOT/params"; }
procd_set_param() {
    local what=$1; shift
    if [ "$what" = command ]; then : >"$FAKE_ROOT/command"; printf '%s\n' "$@" >>"$FAKE_ROOT/command"
    else echo "$what $*" >>"$FAKE_ROOT/params"; fi
}
procd_append_param() { local what=$1; shift; [ "$what" != command ] || printf '%s\n' "$@" >>"$FAKE_ROOT/command"; }
procd_close_instance() { :; }
procd_add_reload_trigger() { :; }
procd_add_reload_interface_trigger() { :; }
procd_add_validation() { :; }
procd_add_jail() { echo "jail $*" >>"$FAKE_ROOT/params"; }
# As /lib/functions/procd.sh has them.
uci_validate_section() {
    local _package="$1" _type="$2" _name="$3" _result _error
    shift 3
    _error=0
    _result=$(validate_data "$_package" "$_type" "$_name" "$@" 2>/dev/null) || _error=$?
    eval "$_result"
    [ "$_error" = 0 ] || validate_data "$_package" "$_type" "$_name" "$@" 2>>"$FAKE_ROOT/invalid" >/dev/null || true
    return $_error
}
uci_load_validate() {
    local _package="$1" _type="$2" _name="$3" _function="$4" _option _result
    shift 4
    for _option in "$@"; do eval "local ${_option%%:*}"; done
    _result=0
    uci_validate_section "$_package" "$_type" "$_name" "$@" || _result=$?
    [ -n "$_function" ] || return $_result
    eval "$_function \"\$_name\" \"\$_result\""
}
start() { start_service "$@"; }
SH
    # import FILE PACKAGE: a UCI file into the fake uci's state; emit PACKAGE:
    # the shell variables rc.common's config_load sets from it
    cat >"$d/uciconf.py" <<'PY'
import json, os, shlex, sys
path = os.environ["UCI_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {}
if sys.argv[1] == "import":
    pkg, sec = state.setdefault(sys.argv[3], {}), None
    for line in open(sys.argv[2]):
        w = shlex.split(line, comments=True)
        if not w: continue
        if w[0] == "config": sec = pkg.setdefault(w[2], {".type": w[1]})
        elif w[0] == "option": sec[w[1]] = w[2]
        elif w[0] == "list": sec.setdefault(w[1], []).append(w[2])
    json.dump(state, open(path, "w"), indent=1, sort_keys=True)
else:
    for name, sec in state.get(sys.argv[2], {}).items():
        for o, v in sec.items():
            if o == ".type": continue
            var = f"CONFIG_{name}_{o}"
            if isinstance(v, list):
                for i, x in enumerate(v, 1): print(f"{var}_ITEM{i}={shlex.quote(x)}")
                print(f"{var}_LENGTH={len(v)}")
                v = " ".join(v)
            print(f"{var}={shlex.quote(v)}")
PY
    # probe.py PORT DNS_PORT WANT_DNS VENUE: asks the started server over HTTP
    # (and the venue's name on the welcome page, if given), and DNS on
    # DNS_PORT, which must answer 127.0.0.1 (WANT_DNS=1) or not at all.
    cat >"$d/probe.py" <<'PY'
import socket, struct, sys, time, urllib.request
port, dns, want_dns, venue = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
base = f"http://127.0.0.1:{port}"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/api/shops", timeout=2); break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("    the server from the init script's command line did not answer")
page = urllib.request.urlopen(base + "/welcome", timeout=5).read().decode()
if venue and venue not in page:
    sys.exit("    venue_name did not reach the welcome page")
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5 if want_dns else 1)
s.connect(("127.0.0.1", dns))
s.send(q)
try:
    r = s.recv(512)
except OSError:
    r = None
if want_dns and (r is None or r[:2] != b"\x12\x34" or r[-4:] != bytes([127, 0, 0, 1])):
    sys.exit(f"    DNS on the dns option's port did not answer the portal address: {r!r}")
if not want_dns and r is not None:
    sys.exit(f"    DNS answered on the dns option's port although nothing is intercepted: {r!r}")
PY
}

# fake_router <root> <control dir> <dir>: the stand-ins, the packaged init
# script and maintainer scripts pointed at them (dnsmasq and firewall reloads
# are written to <dir>/reloaded), and a stock OpenWrt config with a guest
# network, plus the packaged /etc/config/orderspot on free loopback ports
# ($PORT, $DNS). The config before installing is kept in <dir>/before.json.
fake_router() {
    local root=$1 ctl=$2 d=$3
    write_openwrt_fakes "$d"
    mkdir -p "$d/data" "$d/etc/uci-defaults"
    export FAKE_ROOT=$d UCI_STATE=$d/uci.json FAKE_LAN_IP=
    read -r PORT DNS < <(python3 -c 'import socket
import random
# Below the ephemeral range, so no outgoing connection takes it meanwhile.
def free(kind):
    while True:
        p = random.randint(20000, 32000)
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", p)); return p
        except OSError:
            pass
        finally:
            s.close()
print(free(socket.SOCK_STREAM), free(socket.SOCK_DGRAM))')
    cat >"$UCI_STATE" <<'JSON'
{"dhcp": {"cfg01411c": {".type": "dnsmasq", "domain": "lan", "local": "/lan/"},
          "lan": {".type": "dhcp", "interface": "lan", "start": "100", "limit": "150"},
          "guest": {".type": "dhcp", "interface": "guest", "start": "100", "limit": "150"},
          "wan": {".type": "dhcp", "interface": "wan", "ignore": "1"}},
 "firewall": {"defaults": {".type": "defaults", "input": "REJECT"},
              "lan": {".type": "zone", "name": "lan", "network": ["lan"]},
              "guest": {".type": "zone", "name": "guest", "network": ["guest"]}},
 "network": {"lan": {".type": "interface", "device": "br-lan", "proto": "static", "ipaddr": "192.168.1.1/24"},
             "guest": {".type": "interface", "device": "br-guest", "proto": "static", "ipaddr": "192.168.2.1/24"}}}
JSON
    cp "$UCI_STATE" "$d/before.json"
    sed -e "s|option listen .*|option listen '127.0.0.1:$PORT'|" \
        -e "s|option dns .*|option dns '127.0.0.1:$DNS'|" \
        -e "s|option data_dir .*|option data_dir '$d/data'|" \
        "$root/etc/config/orderspot" >"$d/orderspot.config"
    python3 "$d/uciconf.py" import "$d/orderspot.config" orderspot
    local reload="s|^\([[:space:]]*\)/etc/init.d/\([a-z]*\) reload.*|\1echo \2 >>$d/reloaded|"
    local restart="s|pidof dnsmasq >/dev/null && /etc/init.d/dnsmasq restart.*|echo dnsmasq-restart >>$d/reloaded|"
    sed -e "s|/lib/functions/network.sh|$d/network.sh|" -e "s|/var/run/|$d/run/|g" -e "$reload" \
        -e "s|/usr/share/orderspot/|$root/usr/share/orderspot/|" \
        -e "s|/sbin/ujail|$d/bin/ujail|" -e "s|/etc/orderspot/sysupgrade.db|$d/snapshot.db|" \
        -e "$restart" -e "s|/tmp/dnsmasq|$d/tmp/dnsmasq|" \
        "$root/etc/init.d/orderspot" >"$d/init"
    cp "$root/etc/uci-defaults/99-orderspot" "$d/etc/uci-defaults/"
    sed -e "s|/etc/uci-defaults|$d/etc/uci-defaults|g" -e "$reload" "$ctl/postinst-pkg" >"$d/postinst"
    sed -e "$reload" "$ctl/postrm" >"$d/postrm"
}

fake_uci() { "$FAKE_ROOT/bin/uci" "$@"; }

# service <dir> <function>: runs a function of the init script as rc.common would.
service() {
    PATH=$1/bin:$PATH sh -c "set -e; . '$1/rc.sh'; . '$1/init'; $2"
}

# serve_from_command <root> <qemu-or-"-"> <dir> <want DNS 1|0> [venue]: starts
# the command line the init script gave procd (the packaged binary) and asks
# it with probe.py.
serve_from_command() {
    local root=$1 qemu=$2 d=$3 want_dns=$4 venue=${5-} cmd pid ok=0
    mapfile -t cmd <"$d/command"
    [ "${cmd[0]}" = /usr/bin/orderspot ] || { echo "    command is ${cmd[0]}"; return 1; }
    cmd[0]=$root/usr/bin/orderspot
    [ "$qemu" = - ] || cmd=("$qemu" "${cmd[@]}")
    PATH=$d/bin:$PATH "${cmd[@]}" >"$d/server.log" 2>&1 &
    pid=$!
    python3 "$d/probe.py" "$PORT" "$DNS" "$want_dns" "$venue" && ok=1
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    [ $ok = 1 ] || { sed 's/^/    | /' "$d/server.log" | tail -n 15; return 1; }
}

# uci_holds <dir> <python expression>: true when it holds over the config
# before the install (before) and now (after, dhcp, fw; opt114: the DHCP
# pools' option 114 values); prints option 114 and dhcp otherwise.
uci_holds() {
    python3 - "$1" "$2" <<'PY'
import json, sys
d, expr = sys.argv[1], sys.argv[2]
before = json.load(open(f"{d}/before.json"))
after = json.load(open(f"{d}/uci.json"))
dhcp, fw = after.get("dhcp", {}), after.get("firewall", {})
opt114 = {s: [o for o in sec.get("dhcp_option", []) if o.startswith("114,")] for s, sec in dhcp.items()}
opt114 = {s: o for s, o in opt114.items() if o}
if not eval(expr):
    sys.exit(f"    not true: {expr}\n    option 114: {opt114}\n    dhcp: {json.dumps(dhcp)}")
PY
}

# conf114 <dir>: the option 114 line(s) the init script gave dnsmasq, in its
# conf-dir in RAM (the stock config's one instance: /tmp/dnsmasq.cfg01411c.d).
conf114() { cat "$1"/tmp/dnsmasq.*.d/orderspot-114.conf 2>/dev/null || true; }

# has_arg <dir> <argument>: the service's command line holds this argument.
has_arg() { grep -qx -- "$2" "$1/command"; }

# loaded_for <dir> <device>: nft loaded the init script's table file, the
# package's rules for that device and the configured ports.
loaded_for() {
    grep -qx "nft -f $1/run/orderspot/fw4.nft.new" "$1/nft.log" &&
        [ "$(sed -n 2,4p "$1/nft.loaded")" = "define orderspot_if = \"$2\"
define orderspot_http = $PORT
define orderspot_dns = $DNS" ] || { echo "    nft: $(cat "$1/nft.log")"; return 1; }
}

# init_script_runs <root> <control dir> <qemu-or-"-"> <dir>: an install that
# chose network 'lan' with every option set: the command line the packaged
# binary starts with (checked over HTTP and DNS), the nft table loaded once,
# unloaded at stop.
init_script_runs() {
    local root=$1 ctl=$2 qemu=$3 d=$4
    fake_router "$root" "$ctl" "$d"
    export FAKE_LAN_IP=127.0.0.1
    fake_uci set orderspot.main.network=lan
    fake_uci set orderspot.main.venue_name='Test Hall & Market'
    fake_uci set orderspot.main.mode=internet
    fake_uci add_list orderspot.main.upstream=127.0.0.1:9
    fake_uci add_list orderspot.main.upstream=127.0.0.2
    service "$d" start_service || { echo "    start_service failed"; return 1; }
    loaded_for "$d" br-lan || return 1
    grep -q "^env ORDERSPOT_RULES=br-lan $PORT $DNS$" "$d/params" || { echo "    procd env: $(cat "$d/params")"; return 1; }
    for p in "respawn" "stdout 1" "stderr 1" "file /etc/config/orderspot" "limits nofile=4096 4096"; do
        grep -q "^$p" "$d/params" || { echo "    procd param $p missing"; return 1; }
    done
    has_arg "$d" 127.0.0.2 && ! has_arg "$d" 127.0.0.1:53 || { echo "    upstreams: $(paste -sd' ' "$d/command")"; return 1; }
    # A second start with nothing changed leaves the table alone.
    service "$d" start_service || return 1
    [ "$(grep -c -- ' -f ' "$d/nft.log")" = 1 ] || { echo "    the table was loaded again"; return 1; }
    serve_from_command "$root" "$qemu" "$d" 1 "Test Hall &amp; Market" || return 1
    # Stopping unloads the table.
    service "$d" service_stopped
    [ ! -e "$d/nft.table" ] || { echo "    service_stopped left the table loaded"; return 1; }
}

# privileges_follow_settings <dir>: after init_script_runs, the daemon runs
# as the orderspot user; ujail grants exactly the capabilities the settings
# need (CAP_NET_ADMIN for the nft sets, CAP_NET_BIND_SERVICE for a port
# below 1024); with neither, procd switches the user itself, with no jail.
privileges_follow_settings() {
    local d=$1 caps=$1/run/orderspot/capabilities.json
    caps_are() { [ "$(cat "$caps")" = "{\"bounding\":[$1],\"effective\":[$1],\"ambient\":[$1],\"permitted\":[$1],\"inheritable\":[$1]}" ] ||
        { echo "    $caps: $(cat "$caps")"; return 1; }; }
    for p in "jail orderspot" "capabilities $caps" "user orderspot" "group orderspot" "no_new_privs 1"; do
        grep -qx "$p" "$d/params" || { echo "    procd param '$p' missing: $(paste -sd'|' "$d/params")"; return 1; }
    done
    caps_are '"CAP_NET_ADMIN"' || return 1
    grep -qx "chown -R orderspot:orderspot $d/data" "$d/chown.log" || { echo "    data_dir not given to orderspot"; return 1; }
    fake_uci set orderspot.main.listen=127.0.0.1:80
    service "$d" start_service || return 1
    caps_are '"CAP_NET_ADMIN","CAP_NET_BIND_SERVICE"' || return 1
    fake_uci set orderspot.main.listen="127.0.0.1:$PORT"
    fake_uci set orderspot.main.firewall=none
    service "$d" start_service || return 1
    grep -qx "user orderspot" "$d/params" && ! grep -q -e "^jail" -e "^capabilities" "$d/params" ||
        { echo "    without capabilities: $(paste -sd'|' "$d/params")"; return 1; }
}

# typo_is_reported <dir>: a value not of its type stops the start (no command
# line for procd) and the error names the option; fixed, it starts.
typo_is_reported() {
    local d=$1
    fake_uci set orderspot.main.mode=internat
    : >"$d/command"
    ! service "$d" start_service 2>/dev/null && [ ! -s "$d/command" ] ||
        { echo "    started with mode=internat"; return 1; }
    grep -q "orderspot.main.mode='internat' is not" "$d/invalid" || { echo "    not reported: $(cat "$d/invalid")"; return 1; }
    fake_uci set orderspot.main.mode=local
    service "$d" start_service && has_arg "$d" local
}

# sysupgrade_snapshot <root> <qemu-or-"-"> <dir>: /lib/upgrade/orderspot.sh,
# given sysupgrade's list of files to keep, replaces the live database, WAL
# and shm with one snapshot (a whole SQLite database); after the upgrade the
# init script's start puts it in place, and a snapshot beside a live database
# (left by `sysupgrade -b`) is dropped.
sysupgrade_snapshot() {
    local root=$1 qemu=$2 d=$3 data=$3/data list=$3/conffiles run=()
    mkdir -p "$d/ctl"
    touch "$d/ctl/postinst-pkg" "$d/ctl/postrm"
    fake_router "$root" "$d/ctl" "$d"
    [ "$qemu" = - ] || run=("$qemu")
    printf '#!/bin/sh\nexec %s %s "$@"\n' "${run[*]}" "$root/usr/bin/orderspot" >"$d/bin/orderspot"
    chmod 755 "$d/bin/orderspot"
    "$d/bin/orderspot" --data-dir "$data" clients list >/dev/null 2>&1 || { echo "    no database"; return 1; }
    printf '%s\n' /etc/config/orderspot "$data/orderspot.db" "$data/orderspot.db-shm" "$data/orderspot.db-wal" >"$list"
    sed -e "s|/usr/bin/orderspot|$d/bin/orderspot|g" -e "s|/etc/orderspot/sysupgrade.db|$d/snapshot.db|" \
        "$root/lib/upgrade/orderspot.sh" >"$d/hook.sh"
    PATH=$d/bin:$PATH sh -c ". '$d/hook.sh'; for h in \$sysupgrade_init_conffiles; do \$h '$list'; done" ||
        { echo "    the hook failed"; return 1; }
    [ "$(cat "$list")" = "$(printf '%s\n' /etc/config/orderspot "$d/snapshot.db")" ] ||
        { echo "    list: $(paste -sd' ' "$list")"; return 1; }
    [ "$(head -c 15 "$d/snapshot.db")" = "SQLite format 3" ] || { echo "    the snapshot is no database"; return 1; }
    # sysupgrade -b on a running router: the live database wins at start.
    cp "$d/snapshot.db" "$d/snapshot.keep"
    service "$d" start_service && [ ! -e "$d/snapshot.db" ] || { echo "    the stale snapshot stayed"; return 1; }
    # After the upgrade only the snapshot came back.
    rm -f "$data"/orderspot.db*
    cp "$d/snapshot.keep" "$d/snapshot.keep2"
    mv "$d/snapshot.keep" "$d/snapshot.db"
    service "$d" start_service || return 1
    [ ! -e "$d/snapshot.db" ] && cmp -s "$data/orderspot.db" "$d/snapshot.keep2" &&
        "$d/bin/orderspot" --data-dir "$data" clients list >/dev/null 2>&1 ||
        { echo "    the snapshot was not put in place"; return 1; }
}

# install_captures_nothing <root> <control dir> <qemu-or-"-"> <dir>: the
# install on a stock config: postinst (uci-defaults) and start. No table, no
# DNS interception, no option 114, dnsmasq reloaded once for the portal's
# name; the ordering app answers HTTP and the postinst says how to choose.
install_captures_nothing() {
    local root=$1 ctl=$2 qemu=$3 d=$4
    fake_router "$root" "$ctl" "$d"
    PATH=$d/bin:$PATH sh "$d/postinst" >"$d/postinst.out" || { echo "    postinst failed"; return 1; }
    service "$d" start_service || { echo "    start_service failed"; return 1; }
    ! grep -q -- ' -f ' "$d/nft.log" 2>/dev/null && [ ! -e "$d/nft.table" ] ||
        { echo "    nft: $(cat "$d/nft.log")"; return 1; }
    ! grep -q -- --dns "$d/command" && has_arg "$d" none ||
        { echo "    command: $(paste -sd' ' "$d/command")"; return 1; }
    [ "$(cat "$d/reloaded")" = dnsmasq ] || { echo "    reloaded: $(paste -sd' ' "$d/reloaded")"; return 1; }
    uci_holds "$d" 'not opt114 and {k: v for k, v in dhcp.items() if k != "orderspot_portal"} == before["dhcp"]' || return 1
    grep -q "uci set orderspot.main.network=" "$d/postinst.out" ||
        { echo "    postinst did not say how to choose the hotspot network: $(cat "$d/postinst.out")"; return 1; }
    serve_from_command "$root" "$qemu" "$d" 0
}

# choosing_a_network <dir>: after install_captures_nothing, the owner's
# `uci set orderspot.main.network=guest` and reload intercept guest only; a
# second reload changes nothing.
choosing_a_network() {
    local d=$1
    fake_uci set orderspot.main.network=guest
    : >"$d/reloaded"
    service "$d" reload_service || { echo "    reload failed"; return 1; }
    loaded_for "$d" br-guest &&
        [ -e "$d/nft.table" ] || { echo "    nft: $(cat "$d/nft.log")"; return 1; }
    has_arg "$d" "127.0.0.1:$DNS" && has_arg "$d" 192.168.2.1 && has_arg "$d" nft ||
        { echo "    command: $(paste -sd' ' "$d/command")"; return 1; }
    uci_holds "$d" 'not opt114' && [ -z "$(conf114 "$d")" ] || return 1
    fake_uci set orderspot.main.captive_api=https://order.example/captive-portal/api
    service "$d" reload_service || return 1
    # Option 114 lives in dnsmasq's conf-dir in RAM, never in /etc/config/dhcp.
    uci_holds "$d" 'not opt114' || return 1
    [ "$(conf114 "$d")" = 'dhcp-option=tag:guest,114,"https://order.example/captive-portal/api"' ] ||
        { echo "    conf-dir: $(conf114 "$d")"; return 1; }
    [ "$(ls "$d/tmp")" = dnsmasq.cfg01411c.d ] || { echo "    conf-dirs: $(ls "$d/tmp")"; return 1; }
    [ "$(cat "$d/reloaded")" = dnsmasq-restart ] || { echo "    reloaded: $(paste -sd' ' "$d/reloaded")"; return 1; }
    cp "$UCI_STATE" "$d/chosen.json"
    service "$d" reload_service || return 1
    [ "$(grep -c -- ' -f ' "$d/nft.log")" = 1 ] && [ "$(cat "$d/reloaded")" = dnsmasq-restart ] &&
        cmp -s "$UCI_STATE" "$d/chosen.json" || { echo "    a reload with nothing changed changed something"; return 1; }
    # A plain-http URL is ignored (and taken out).
    fake_uci set orderspot.main.captive_api=http://order.example/captive-portal/api
    service "$d" reload_service && [ -z "$(conf114 "$d")" ] || { echo "    http kept: $(conf114 "$d")"; return 1; }
    fake_uci set orderspot.main.captive_api=https://order.example/captive-portal/api
    service "$d" reload_service && [ -n "$(conf114 "$d")" ]
}

# https_follows_the_certificate <dir>: after choosing_a_network, as the
# orderspot-https package (the marker file it ships): a tls_domain whose
# certificate is missing gives no --tls-* flags and no option 114; with a
# readable certificate and key the daemon gets HTTPS on tls_listen with
# copies of both in RAM, option 114 names https://DOMAIN/captive-portal/api,
# dnsmasq answers DOMAIN with the portal's address, and the hotspot's
# HTTPS to the router goes to tls_listen's port. The default package (no
# marker) ignores the tls_* options.
https_follows_the_certificate() {
    local d=$1 want
    cp "$d/init" "$d/init.plain"
    sed -i "s|^HTTPS_BUILD=.*|HTTPS_BUILD=$d/https-build|" "$d/init"
    touch "$d/https-build"
    fake_uci set orderspot.main.captive_api=
    fake_uci set orderspot.main.tls_domain=order.venue.test
    fake_uci set orderspot.main.tls_cert="$d/chain.pem"
    fake_uci set orderspot.main.tls_key="$d/key.pem"
    service "$d" reload_service || return 1
    ! grep -q -- --tls "$d/command" && [ -z "$(conf114 "$d")" ] ||
        { echo "    HTTPS without a certificate: $(paste -sd' ' "$d/command") / $(conf114 "$d")"; return 1; }
    printf 'CHAIN\n' >"$d/chain.pem"
    printf 'KEY\n' >"$d/key.pem"
    service "$d" reload_service || return 1
    has_arg "$d" --tls-listen && has_arg "$d" 0.0.0.0:8443 && has_arg "$d" order.venue.test &&
        has_arg "$d" "$d/run/orderspot/tls/chain.pem" && has_arg "$d" "$d/run/orderspot/tls/key.pem" ||
        { echo "    command: $(paste -sd' ' "$d/command")"; return 1; }
    cmp -s "$d/chain.pem" "$d/run/orderspot/tls/chain.pem" && cmp -s "$d/key.pem" "$d/run/orderspot/tls/key.pem" ||
        { echo "    the certificate was not copied for the daemon"; return 1; }
    want='dhcp-option=tag:guest,114,"https://order.venue.test/captive-portal/api"
address=/order.venue.test/192.168.2.1'
    [ "$(conf114 "$d")" = "$want" ] && uci_holds "$d" 'not opt114' || { echo "    conf-dir: $(conf114 "$d")"; return 1; }
    grep -q 'iifname "br-guest" fib daddr type local tcp dport 443 redirect to :8443' "$d/nft.loaded" ||
        { echo "    no redirect of 443: $(tail -n 2 "$d/nft.loaded")"; return 1; }
    # The certificate unreadable again: HTTPS and its option 114 go.
    rm -f "$d/key.pem"
    service "$d" reload_service && ! grep -q -- --tls "$d/command" && [ -z "$(conf114 "$d")" ] &&
        [ ! -e "$d/run/orderspot/tls" ] || { echo "    HTTPS stayed without the key"; return 1; }
    # The default package has no marker: the tls_* options do nothing.
    printf 'KEY\n' >"$d/key.pem"
    rm -f "$d/https-build"
    service "$d" reload_service && ! grep -q -- --tls "$d/command" && [ -z "$(conf114 "$d")" ] ||
        { echo "    the default package served HTTPS"; return 1; }
    mv "$d/init.plain" "$d/init"
    fake_uci set orderspot.main.tls_domain=
    fake_uci set orderspot.main.captive_api=https://order.example/captive-portal/api
    service "$d" reload_service
}

# unsetting_the_network <dir>: emptying it again releases guest.
unsetting_the_network() {
    local d=$1
    fake_uci set orderspot.main.network=
    service "$d" reload_service || { echo "    reload failed"; return 1; }
    [ ! -e "$d/nft.table" ] || { echo "    the table is still loaded"; return 1; }
    ! grep -q -- --dns "$d/command" && has_arg "$d" none ||
        { echo "    command: $(paste -sd' ' "$d/command")"; return 1; }
    uci_holds "$d" 'not opt114' && [ -z "$(conf114 "$d")" ]
}

# removal_restores_the_config <dir>: with guest chosen again, stop (prerm)
# and postrm leave dhcp, firewall and network as before the install, and
# option 114 gone from dnsmasq's conf-dir (a sysupgrade, which drops the
# package and RAM, leaves nothing of it either: /etc/config/dhcp never
# held it).
removal_restores_the_config() {
    local d=$1
    fake_uci set orderspot.main.network=guest
    service "$d" reload_service && [ -n "$(conf114 "$d")" ] || { echo "    no option 114 with guest chosen"; return 1; }
    service "$d" service_stopped || return 1
    [ -z "$(conf114 "$d")" ] || { echo "    option 114 left after stop: $(conf114 "$d")"; return 1; }
    PATH=$d/bin:$PATH sh "$d/postrm" || { echo "    postrm failed"; return 1; }
    [ ! -e "$d/nft.table" ] || { echo "    postrm left the table loaded"; return 1; }
    uci_holds "$d" 'all(after[k] == before[k] for k in ("dhcp", "firewall", "network"))'
}

# upgrade_keeps_the_choice <root> <control dir> <dir>: from a version whose
# uci-defaults put option 114 on lan. A config that names lan keeps its portal
# there (option 114 once); one whose network is empty (the new default
# conffile) is released, and its option 114 removed.
upgrade_keeps_the_choice() {
    local root=$1 ctl=$2 d=$3
    fake_router "$root" "$ctl" "$d"
    fake_uci add_list dhcp.lan.dhcp_option=114,http://order.lan/captive-portal/api
    fake_uci set orderspot.main.network=lan
    PATH=$d/bin:$PATH sh "$d/postinst" >/dev/null && service "$d" start_service || return 1
    grep -q 'orderspot_if = "br-lan"' "$d/nft.loaded" && [ -e "$d/nft.table" ] && grep -q -- --dns "$d/command" ||
        { echo "    lan is not intercepted any more: $(cat "$d/nft.log" 2>/dev/null)"; return 1; }
    uci_holds "$d" 'not opt114' || return 1
    fake_uci set orderspot.main.network=
    service "$d" start_service || return 1
    [ ! -e "$d/nft.table" ] || { echo "    with no network chosen, the table is loaded: $(tail -n1 "$d/nft.log")"; return 1; }
    uci_holds "$d" 'not opt114'
}

# uci_defaults_idempotent <root> <control dir> <dir>: the first-boot script
# against a default OpenWrt config, applied by postinst: adds the firewall
# include and the host record once and no option 114; a second run changes
# nothing; postrm takes it back.
uci_defaults_idempotent() {
    local root=$1 ctl=$2 d=$3
    fake_router "$root" "$ctl" "$d"
    # The install: postinst applies uci-defaults, removes the script (so
    # default_postinst does not run it again) and reloads dnsmasq.
    PATH=$d/bin:$PATH sh "$d/postinst" >/dev/null || { echo "    postinst failed"; return 1; }
    [ ! -e "$d/etc/uci-defaults/99-orderspot" ] || { echo "    postinst left uci-defaults for default_postinst"; return 1; }
    [ "$(sort "$d/reloaded" | paste -sd' ')" = "dnsmasq" ] ||
        { echo "    postinst reloaded: $(cat "$d/reloaded" 2>/dev/null)"; return 1; }
    local once
    once=$(cat "$UCI_STATE")
    PATH=$d/bin:$PATH sh "$root/etc/uci-defaults/99-orderspot" || { echo "    second run failed"; return 1; }
    [ "$once" = "$(cat "$UCI_STATE")" ] || { echo "    the second run changed the config"; return 1; }
    uci_holds "$d" '"orderspot" not in fw and dhcp.get("orderspot_portal") == {".type": "domain", "name": "order.lan", "ip": "192.168.1.1"} and not opt114' || return 1
    # postrm after removal: nothing of ours is left
    PATH=$d/bin:$PATH sh "$d/postrm" || { echo "    postrm failed"; return 1; }
    uci_holds "$d" 'all(after[k] == before[k] for k in ("dhcp", "firewall", "network"))'
}

# --- the packages ---------------------------------------------------------------
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)-$(sed -n 's/^PKG_RELEASE:=//p' openwrt/Makefile)
shopt -s nullglob
if [ $# -gt 0 ]; then
    ipks=()
    for a in "$@"; do ipks+=("$DIST/${PKGNAME}_${VERSION}_$a.ipk"); done
    for i in "${ipks[@]}"; do [ -f "$i" ] || { bad "missing $i"; ipks=(); break; }; done
else
    ipks=("$DIST/${PKGNAME}_${VERSION}_"*.ipk)
fi
if [ ${#ipks[@]} = 0 ]; then
    echo "SKIPPED: no ${PKGNAME}_${VERSION}_*.ipk in $DIST (run scripts/build-ipk.sh ${HTTPS_FLAG[*]} <arch>|all)"
    [ "${ORDERSPOT_REQUIRE_IPK:-0}" = 1 ] && exit 1
    [ $FAILS = 0 ] || exit 1
    exit 0
fi

SCRATCH=$(mktemp -d /tmp/orderspot-ipk-test.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

# path mode (directories end in /); nothing else may be in the package
EXPECTED_FILES="./ 0755
./etc/ 0755
./etc/config/ 0755
./etc/config/orderspot 0600
./etc/init.d/ 0755
./etc/init.d/orderspot 0755
./etc/uci-defaults/ 0755
./etc/uci-defaults/99-orderspot 0755
./lib/ 0755
./lib/upgrade/ 0755
./lib/upgrade/keep.d/ 0755
./lib/upgrade/keep.d/$PKGNAME 0644
./lib/upgrade/orderspot.sh 0644
./usr/ 0755
./usr/bin/ 0755
./usr/bin/orderspot 0755
./usr/share/ 0755
./usr/share/orderspot/ 0755
./usr/sbin/ 0755
./usr/sbin/orderspot-hotspot 0755
./usr/share/nftables.d/ 0755
./usr/share/nftables.d/ruleset-post/ 0755
./usr/share/nftables.d/ruleset-post/orderspot.nft 0644
./usr/share/orderspot/orderspot.nft 0644"
[ "$PKGNAME" = orderspot ] || EXPECTED_FILES="$EXPECTED_FILES
./usr/share/orderspot/https 0644"

field() { sed -n "s/^$1: //p" "$2" | head -n1; }

machine_of() {
    case $1 in
        mips_24kc) echo "MSB executable, MIPS, MIPS32 rel2" ;;
        mipsel_24kc) echo "LSB executable, MIPS, MIPS32 rel2" ;;
        arm_*) echo "LSB executable, ARM, EABI5" ;;
        aarch64_*) echo "LSB executable, ARM aarch64" ;;
        x86_64) echo "LSB executable, x86-64" ;;
    esac
}

for ipk in "${ipks[@]}"; do
    name=$(basename "$ipk" .ipk)
    arch=${name#"$PKGNAME"_"$VERSION"_}
    echo "== $name"
    if [ "$arch" = "$name" ]; then
        bad "file name is ${PKGNAME}_${VERSION}_<arch>.ipk (Cargo.toml and PKG_RELEASE say $VERSION)"
        continue
    fi
    w=$SCRATCH/$arch
    mkdir -p "$w/outer" "$w/control" "$w/root"

    # outer format
    check "gzip data, not an ar archive" test "$(head -c 2 "$ipk" | od -An -tx1 | tr -d ' ')" = 1f8b
    check "outer tar holds exactly debian-binary, data.tar.gz, control.tar.gz" \
        test "$(tar -tzf "$ipk" | sort | tr '\n' ' ')" = "./control.tar.gz ./data.tar.gz ./debian-binary "
    tar -xzf "$ipk" -C "$w/outer"
    check "debian-binary is 2.0" test "$(cat "$w/outer/debian-binary")" = 2.0
    owners_root() { ! tar -tvzf "$1" | awk '$2 != "0/0" { print; bad = 1 } END { exit !bad }'; }
    check "outer tar: every entry owned by 0/0" owners_root "$ipk"

    # control.tar.gz
    tar -xzf "$w/outer/control.tar.gz" -C "$w/control"
    ctl=$w/control/control
    check "control.tar.gz: every entry owned by 0/0" owners_root "$w/outer/control.tar.gz"
    check "Package: $PKGNAME" test "$(field Package "$ctl")" = "$PKGNAME"
    check "Version: $VERSION" test "$(field Version "$ctl")" = "$VERSION"
    check "Architecture: $arch" test "$(field Architecture "$ctl")" = "$arch"
    deps=$(field Depends "$ctl")
    for d in kmod-nft-core kmod-nft-fib kmod-nft-nat nftables; do
        check "Depends names $d" grep -qE "(^|, )$d(,|$)" <<<"$deps"
    done
    if [ "$PKGNAME" = orderspot ]; then
        check "Conflicts: opennds, nodogsplash (captive portals)" test "$(field Conflicts "$ctl")" = "opennds, nodogsplash"
        check "no Provides" test -z "$(field Provides "$ctl")"
    else
        check "Conflicts: orderspot (the default variant), opennds, nodogsplash (captive portals)" \
            test "$(field Conflicts "$ctl")" = "orderspot, opennds, nodogsplash"
        check "Provides: orderspot (what depends on it takes either variant)" test "$(field Provides "$ctl")" = orderspot
        check "the HTTPS marker the init script and orderspot-hotspot look for" \
            sh -c 'tar -xzOf "$1" ./usr/share/orderspot/https | grep -q orderspot-https' _ "$w/outer/data.tar.gz"
    fi
    for f in Source SourceName Section License Maintainer Description; do
        check "$f is set" test -n "$(field "$f" "$ctl")"
    done
    check "Require-User: orderspot:orderspot (default_postinst creates the daemon's user and group)" \
        test "$(field Require-User "$ctl")" = orderspot:orderspot
    check "License: MIT (as Cargo.toml)" test "$(field License "$ctl")" = MIT
    datasize=$(gzip -dc "$w/outer/data.tar.gz" | wc -c)
    check "Installed-Size is the unpacked data size ($datasize)" test "$(field Installed-Size "$ctl")" = "$datasize"
    check "conffiles: exactly /etc/config/orderspot (the Makefile's conffiles that are files)" \
        test "$(cat "$w/control/conffiles")" = /etc/config/orderspot
    check "LicenseFiles: LICENSE, which the sources have" test "$(field LicenseFiles "$ctl")" = LICENSE -a -f LICENSE
    check "postrm does nothing during an upgrade (PKG_UPGRADE=1)" \
        sh -c 'r=$(PKG_UPGRADE=1 PATH=/nonexistent /bin/sh "$1" 2>&1) && [ -z "$r" ]' _ "$w/control/postrm"
    check "postinst runs default_postinst" grep -q '^default_postinst \$0 \$@$' "$w/control/postinst"
    check "prerm runs default_prerm" grep -q '^default_prerm \$0 \$@$' "$w/control/prerm"
    for s in "$w"/control/post* "$w"/control/pre*; do
        check "$(basename "$s"): mode 0755 and sh -n" test "$(stat -c %a "$s")" = 755
        check "$(basename "$s"): sh -n" sh -n "$s"
    done
    check "postinst and postrm check IPKG_INSTROOT" grep -q IPKG_INSTROOT "$w/control/postrm"

    # data.tar.gz, unpacked into a scratch root
    tar -xzf "$w/outer/data.tar.gz" -C "$w/root"
    check "data.tar.gz: every entry owned by 0/0" owners_root "$w/outer/data.tar.gz"
    actual=$(tar -tvzf "$w/outer/data.tar.gz" | awk '{ print $6, $1 }' | sort)
    expected=$(while read -r p m; do
        t=-
        case $p in */) t=d ;; esac
        printf '%s %s\n' "$p" "$t$(python3 -c "import stat,sys; print(stat.filemode(int(sys.argv[1], 8))[1:])" "$m")"
    done <<<"$EXPECTED_FILES" | sort)
    if [ "$actual" = "$expected" ]; then
        pass "data: exactly the expected paths with the expected modes"
    else
        bad "data: paths and modes differ from the expected"
        diff <(echo "$expected") <(echo "$actual") | sed 's/^/       /' || true
    fi
    for c in $(cat "$w/control/conffiles"); do
        check "conffile $c is in the package" test -f "$w/root$c"
    done
    mtimes=$(tar -tvzf "$w/outer/data.tar.gz" | awk '{ print $4, $5 }' | sort -u | wc -l)
    check "every file has the same mtime (SOURCE_DATE_EPOCH)" test "$mtimes" = 1
    check "keep.d keeps the database directory" grep -qx /etc/orderspot/ "$w/root/lib/upgrade/keep.d/$PKGNAME"
    check "init script: sh -n" sh -n "$w/root/etc/init.d/orderspot"
    check "init script: procd service with respawn, logd output, reload trigger" \
        grep -q 'USE_PROCD=1' "$w/root/etc/init.d/orderspot"
    for pat in 'procd_set_param respawn' 'procd_set_param stdout 1' 'procd_set_param stderr 1' 'procd_add_reload_trigger orderspot' 'procd_set_param limits nofile='; do
        check "init script: $pat" grep -q "$pat" "$w/root/etc/init.d/orderspot"
    done
    check "uci-defaults: sh -n" sh -n "$w/root/etc/uci-defaults/99-orderspot"
    check "sysupgrade hook: sh -n" sh -n "$w/root/lib/upgrade/orderspot.sh"
    check "init script: procd validation of the UCI config" grep -q 'procd_add_validation validate_orderspot' "$w/root/etc/init.d/orderspot"
    check "orderspot-hotspot: sh -n" sh -n "$w/root/usr/sbin/orderspot-hotspot"
    for opt in enabled listen data_dir portal_ip portal_host mode session_minutes venue_name max_connections max_connections_per_client write_timeout; do
        check "UCI config has option $opt" grep -qE "^\s*option $opt " "$w/root/etc/config/orderspot"
    done
    check "UCI config documents the upstream DNS list" grep -qE "^\s*#?\s*list upstream " "$w/root/etc/config/orderspot"
    check "UCI data_dir is kept by sysupgrade" \
        grep -qE "^\s*option data_dir '/etc/orderspot'" "$w/root/etc/config/orderspot"

    # the binary
    bin=$w/root/usr/bin/orderspot
    info=$(file -b "$bin")
    check "binary: $(machine_of "$arch")" grep -qF "$(machine_of "$arch")" <<<"$info"
    check "binary: statically linked" grep -q 'statically linked' <<<"$info"
    check "binary: stripped" grep -q ', stripped' <<<"$info"
    if [ -f "$BIN_DIST/$arch/orderspot" ]; then
        check "binary is ${BIN_DIST#"$ROOT"/}/$arch/orderspot" cmp -s "$bin" "$BIN_DIST/$arch/orderspot"
    fi
    qemu=$(scripts/build.sh --qemu "$arch")
    run=()
    [ "$qemu" = - ] || run=("$qemu")
    if [ "$qemu" = - ] || command -v "$qemu" >/dev/null; then
        check "binary runs: --version is 'orderspot ${VERSION%-*}'" \
            test "$("${run[@]}" "$bin" --version)" = "orderspot ${VERSION%-*}"
        help=$("${run[@]}" "$bin" serve --help)
        # The --tls-* flags only go to orderspot-https's binary, which ships
        # the marker the init script looks for.
        for flag in $(grep -o -- '--[a-z][a-z0-9-]*' "$w/root/etc/init.d/orderspot" | sort -u); do
            [ -e "$w/root/usr/share/orderspot/https" ] || case $flag in --tls-*) continue ;; esac
            check "init script flag $flag exists in 'orderspot serve --help'" grep -q -- "$flag\b" <<<"$help"
        done
    else
        bad "binary not run: $qemu is missing (scripts/setup-cross.sh)"
    fi

    check "uci-defaults: adds the host record once, no firewall include, no option 114; postrm removes them" \
        uci_defaults_idempotent "$w/root" "$w/control" "$w/uci"
    check "upgrade: a config naming lan keeps it intercepted; an empty network releases lan and its option 114" \
        upgrade_keeps_the_choice "$w/root" "$w/control" "$w/upgrade"
    if [ "$qemu" = - ] || command -v "$qemu" >/dev/null; then
        if check "init script: UCI options become a command line the binary runs with (HTTP, DNS, venue name), nft loaded once" \
            init_script_runs "$w/root" "$w/control" "$qemu" "$w/init"; then
            check "init script: runs as user orderspot with only the capabilities the settings need (ujail), none without nft or a low port" \
                privileges_follow_settings "$w/init"
            check "init script: a typo (mode=internat) is reported by procd validation and nothing starts" \
                typo_is_reported "$w/init"
        fi
        check "sysupgrade hook: one database snapshot instead of the live files; restored at the first start after the upgrade" \
            sysupgrade_snapshot "$w/root" "$qemu" "$w/sysupgrade"
        if check "install + start on a stock config captures nothing: no nft table, no --dns, no option 114; the app answers HTTP" \
            install_captures_nothing "$w/root" "$w/control" "$qemu" "$w/hotspot"; then
            check "network=guest + reload intercepts guest only: nft for br-guest, --dns; option 114 on guest in dnsmasq's conf-dir in RAM (not /etc/config/dhcp), https only; a second reload changes nothing" \
                choosing_a_network "$w/hotspot"
            check "HTTPS (orderspot-https): option 114 and --tls-* only with a readable certificate and key, copied to RAM; dnsmasq answers the domain; 443 redirected; ignored by the default package" \
                https_follows_the_certificate "$w/hotspot"
            check "network='' + reload releases guest: table unloaded, no --dns, no option 114" \
                unsetting_the_network "$w/hotspot"
            check "removal (stop, postrm) leaves dhcp, firewall and network as before the install, and no option 114 in dnsmasq's conf-dir" \
                removal_restores_the_config "$w/hotspot"
        fi
    fi

    # reproducible: packaging the same binary again gives the same bytes
    again_bin=$w/again${BIN_DIST#"$DIST"}/$arch
    mkdir -p "$again_bin"
    cp "$bin" "$again_bin/orderspot"
    if SOURCE_DATE_EPOCH=$(field SourceDateEpoch "$ctl") DIST=$w/again CARGO_TARGET_DIR=$w/target \
        scripts/build-ipk.sh --no-build "${HTTPS_FLAG[@]}" "$arch" >/dev/null; then
        check "packaging again gives the same bytes" cmp -s "$ipk" "$w/again/$(basename "$ipk")"
    else
        bad "packaging again failed"
    fi

    # size budget
    bsize=$(stat -c %s "$bin")
    isize=$(stat -c %s "$ipk")
    echo "  size: binary $bsize bytes, ipk $isize bytes"
    if [ "$arch" = mips_24kc ] && [ "$PKGNAME" = orderspot ]; then
        check "size budget: mips_24kc binary $bsize <= $MAX_BIN bytes" test "$bsize" -le $MAX_BIN
        check "size budget: mips_24kc ipk $isize <= $MAX_IPK bytes" test "$isize" -le $MAX_IPK
    elif [ "$arch" = mips_24kc ]; then
        check "size budget: mips_24kc $PKGNAME binary $bsize <= $MAX_BIN_HTTPS bytes" test "$bsize" -le $MAX_BIN_HTTPS
        check "size budget: mips_24kc $PKGNAME ipk $isize <= $MAX_IPK_HTTPS bytes" test "$isize" -le $MAX_IPK_HTTPS
    fi
done

if ! printf '%s\n' "${ipks[@]}" | grep -q '_mips_24kc\.ipk$'; then
    echo "NOTE: size budget not checked: no mips_24kc package in $DIST (scripts/build-ipk.sh ${HTTPS_FLAG[*]} mips_24kc)"
fi

if [ $FAILS -gt 0 ]; then
    echo "ipk tests: $FAILS FAILED"
    exit 1
fi
echo "ipk tests: all passed"
