#!/usr/bin/env bash
# Tests of the OpenWrt packages in dist/ (made by scripts/build-ipk.sh):
#
#   tests/ipk.sh                 # every dist/orderspot_*.ipk
#   tests/ipk.sh mipsel_24kc     # just these architectures
#
# For each package: the outer format opkg reads (a gzip'd tar of exactly
# ./debian-binary, ./data.tar.gz, ./control.tar.gz; not ar), the control
# fields, conffiles and maintainer scripts (sh -n, default_postinst/prerm),
# every file's path, mode and owner after unpacking into a scratch root, the
# init script's and uci-defaults' syntax, that every flag the init script
# passes exists in the packaged binary's `serve --help` (run under qemu), the
# UCI options, and that packaging again gives the same bytes. Also the size
# budget for mips_24kc (stripped binary <= 3.0 MB, ipk <= 1.3 MB), and that
# src/ uses no SQL feature the router's SQLite is built without.
#
# With no package in dist/ it prints "SKIPPED: ..." and exits 0, unless
# ORDERSPOT_REQUIRE_IPK=1 (CI), which turns the skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=${DIST:-$ROOT/dist}

FAILS=0
pass() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # check <description> <command...>
    local what=$1
    shift
    if "$@"; then pass "$what"; else bad "$what"; fi
}

MAX_BIN=3000000
MAX_IPK=1300000

# --- independent of any build -------------------------------------------------
echo "== sources"
# Host builds keep SQLite's default features; the router's are trimmed by
# openwrt/sqlite-options. SQL using a removed feature would pass the host
# tests and fail on the router, so it must not appear.
sql_features_unused() {
    local hits common='\bjson_(extract|object|array|each|tree|set|insert|replace|remove|patch|group_array|group_object|valid|type|quote|array_length)\s*\(|->>|\bfts[345]\b|\brtree|\bsoundex\s*\(|\bdbstat\b|sqlite_stat4|load_extension'
    hits=$({
        grep -rniE --include='*.rs' "$common" src
        grep -rniE --include='*.sql' "$common|\bjson\s*\(" src
    } | grep -v -e '^\S*:[0-9]*:\s*//' || true)
    [ -z "$hits" ] || { echo "$hits" | head -n 5; return 1; }
}
check "src/ uses no SQL feature removed by openwrt/sqlite-options (JSON, FTS, R-tree, soundex, dbstat, stat4, extensions)" sql_features_unused
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
for f in openwrt/files/orderspot.init openwrt/files/orderspot.uci-defaults openwrt/files/orderspot.firewall; do
    check "sh -n $f" sh -n "$f"
    if command -v busybox >/dev/null; then check "busybox ash -n $f" busybox ash -n "$f"; fi
done

# --- the packages ---------------------------------------------------------------
shopt -s nullglob
if [ $# -gt 0 ]; then
    ipks=()
    for a in "$@"; do ipks+=("$DIST"/orderspot_*_"$a".ipk); done
else
    ipks=("$DIST"/orderspot_*.ipk)
fi
if [ ${#ipks[@]} = 0 ]; then
    echo "SKIPPED: no package in $DIST (run scripts/build-ipk.sh <arch>|all)"
    [ "${ORDERSPOT_REQUIRE_IPK:-0}" = 1 ] && exit 1
    [ $FAILS = 0 ] || exit 1
    exit 0
fi

VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)-$(sed -n 's/^PKG_RELEASE:=//p' openwrt/Makefile)
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
./lib/upgrade/keep.d/orderspot 0644
./usr/ 0755
./usr/bin/ 0755
./usr/bin/orderspot 0755
./usr/share/ 0755
./usr/share/orderspot/ 0755
./usr/share/orderspot/firewall.include 0644
./usr/share/orderspot/orderspot.nft 0644"

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
    arch=${name#orderspot_"$VERSION"_}
    echo "== $name"
    if [ "$arch" = "$name" ]; then
        bad "file name is orderspot_${VERSION}_<arch>.ipk (Cargo.toml and PKG_RELEASE say $VERSION)"
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
    check "Package: orderspot" test "$(field Package "$ctl")" = orderspot
    check "Version: $VERSION" test "$(field Version "$ctl")" = "$VERSION"
    check "Architecture: $arch" test "$(field Architecture "$ctl")" = "$arch"
    deps=$(field Depends "$ctl")
    for d in kmod-nft-core kmod-nft-nat nftables; do
        check "Depends names $d" grep -qE "(^|, )$d(,|$)" <<<"$deps"
    done
    for f in Source SourceName Section License Maintainer Description; do
        check "$f is set" test -n "$(field "$f" "$ctl")"
    done
    check "License: MIT (as Cargo.toml)" test "$(field License "$ctl")" = MIT
    datasize=$(gzip -dc "$w/outer/data.tar.gz" | wc -c)
    check "Installed-Size is the unpacked data size ($datasize)" test "$(field Installed-Size "$ctl")" = "$datasize"
    check "conffiles lists /etc/config/orderspot" grep -qx /etc/config/orderspot "$w/control/conffiles"
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
    check "keep.d keeps the database directory" grep -qx /etc/orderspot/ "$w/root/lib/upgrade/keep.d/orderspot"
    check "init script: sh -n" sh -n "$w/root/etc/init.d/orderspot"
    check "init script: procd service with respawn, logd output, reload trigger" \
        grep -q 'USE_PROCD=1' "$w/root/etc/init.d/orderspot"
    for pat in 'procd_set_param respawn' 'procd_set_param stdout 1' 'procd_set_param stderr 1' 'procd_add_reload_trigger orderspot'; do
        check "init script: $pat" grep -q "$pat" "$w/root/etc/init.d/orderspot"
    done
    check "uci-defaults: sh -n" sh -n "$w/root/etc/uci-defaults/99-orderspot"
    check "firewall include: sh -n" sh -n "$w/root/usr/share/orderspot/firewall.include"
    for opt in enabled listen data_dir portal_ip portal_host mode session_minutes venue_name; do
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
    if [ -f "$DIST/$arch/orderspot" ]; then
        check "binary is dist/$arch/orderspot" cmp -s "$bin" "$DIST/$arch/orderspot"
    fi
    qemu=$(scripts/build.sh --qemu "$arch")
    run=()
    [ "$qemu" = - ] || run=("$qemu")
    if [ "$qemu" = - ] || command -v "$qemu" >/dev/null; then
        check "binary runs: --version is 'orderspot ${VERSION%-*}'" \
            test "$("${run[@]}" "$bin" --version)" = "orderspot ${VERSION%-*}"
        help=$("${run[@]}" "$bin" serve --help)
        for flag in $(grep -o -- '--[a-z][a-z0-9-]*' "$w/root/etc/init.d/orderspot" | sort -u); do
            check "init script flag $flag exists in 'orderspot serve --help'" grep -q -- "$flag\b" <<<"$help"
        done
    else
        bad "binary not run: $qemu is missing (scripts/setup-cross.sh)"
    fi

    # reproducible: packaging the same binary again gives the same bytes
    mkdir -p "$w/again/$arch"
    cp "$bin" "$w/again/$arch/orderspot"
    if SOURCE_DATE_EPOCH=$(field SourceDateEpoch "$ctl") DIST=$w/again CARGO_TARGET_DIR=$w/target \
        scripts/build-ipk.sh --no-build "$arch" >/dev/null; then
        check "packaging again gives the same bytes" cmp -s "$ipk" "$w/again/$(basename "$ipk")"
    else
        bad "packaging again failed"
    fi

    # size budget
    bsize=$(stat -c %s "$bin")
    isize=$(stat -c %s "$ipk")
    echo "  size: binary $bsize bytes, ipk $isize bytes"
    if [ "$arch" = mips_24kc ]; then
        check "size budget: mips_24kc binary $bsize <= $MAX_BIN bytes" test "$bsize" -le $MAX_BIN
        check "size budget: mips_24kc ipk $isize <= $MAX_IPK bytes" test "$isize" -le $MAX_IPK
    fi
done

if ! printf '%s\n' "${ipks[@]}" | grep -q '_mips_24kc\.ipk$'; then
    echo "NOTE: size budget not checked: no mips_24kc package in $DIST (scripts/build-ipk.sh mips_24kc)"
fi

if [ $FAILS -gt 0 ]; then
    echo "ipk tests: $FAILS FAILED"
    exit 1
fi
echo "ipk tests: all passed"
