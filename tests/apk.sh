#!/usr/bin/env bash
# Tests of the OpenWrt 25.12 packages (apk-tools v3) in dist/, made by
# scripts/build-ipk.sh beside each .ipk:
#
#   tests/apk.sh                 # every dist/orderspot-<version>_*.apk
#   tests/apk.sh mipsel_24kc     # just these architectures
#   tests/apk.sh --https mips_24kc   # the orderspot-https variant's packages
#
# For each package, read with the real apk (apk-tools 3.0.6,
# scripts/apk-tools.sh): the package info (name, version <version>-r<release>,
# arch, license, maintainer, dependencies with the other captive portals as
# conflicts); exactly the ipk's files with the same bytes and modes, plus the
# /lib/apk/packages list, conffiles, conffiles_static and rusers (the
# daemon's user, for add_group_and_user) package-pack.mk adds;
# the scripts composed as package-pack.mk composes them from the ipk's; and
# that packaging again gives the same bytes. Then in a scratch root with
# apk --root (busybox as /bin/sh, stand-ins for /lib/functions.sh, uci, nft
# and dnsmasq that log what they are asked): a captive portal already there
# blocks the install; `apk add --allow-untrusted` installs every file and runs
# post-install (default_postinst finds the init script and uci-defaults
# through the .list); an upgrade to the next release keeps the owner's edited
# /etc/config/orderspot (the new one lands as .apk-new) and the database, and
# runs post-upgrade with PKG_UPGRADE=1 and no removal script; `apk del`
# runs pre-deinstall and post-deinstall and removes every file of the package
# but the edited config, leaving the database. orderspot-https the same way,
# plus: it provides orderspot=<version> (and has no !orderspot, which would
# exclude itself), and in a scratch root with orderspot installed, adding it
# leaves exactly one of the two installed, /usr/bin/orderspot and the
# owner's config that one's.
#
# With no package in dist/ it prints "SKIPPED: ..." and exits 0, unless
# ORDERSPOT_REQUIRE_APK=1 (CI), which turns the skip into a failure. Runs
# as root (apk runs the scripts chrooted into the scratch root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=${DIST:-$ROOT/dist}
MK=openwrt/Makefile

FAILS=0
pass() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # check <description> <command...>
    local what=$1
    shift
    if "$@"; then pass "$what"; else bad "$what"; fi
}

mk_var() { sed -n "s/^$1:=//p" "$MK" | head -n1; }
# The package under test and where scripts/build-ipk.sh put its binaries.
PKGNAME=orderspot
HTTPS_FLAG=()
BIN_SUB=
if [ "${1-}" = --https ]; then
    PKGNAME=orderspot-https
    HTTPS_FLAG=(--https)
    BIN_SUB=/https
    shift
fi
RELEASE=$(mk_var PKG_RELEASE)
UPSTREAM=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
VERSION=$UPSTREAM-r$RELEASE

shopt -s nullglob
if [ $# -gt 0 ]; then
    apks=()
    for a in "$@"; do apks+=("$DIST/$PKGNAME-${VERSION}_$a.apk"); done
    for p in "${apks[@]}"; do [ -f "$p" ] || { bad "missing $p"; apks=(); break; }; done
else
    apks=("$DIST/$PKGNAME-${VERSION}_"*.apk)
fi
if [ ${#apks[@]} = 0 ]; then
    echo "SKIPPED: no $PKGNAME-${VERSION}_*.apk in $DIST (run scripts/build-ipk.sh ${HTTPS_FLAG[*]} <arch>|all)"
    [ "${ORDERSPOT_REQUIRE_APK:-0}" = 1 ] && exit 1
    [ $FAILS = 0 ] || exit 1
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "tests/apk.sh: needs root (apk runs the package's scripts in a chroot)"; exit 1; }
APK=$(scripts/apk-tools.sh)

SCRATCH=$(mktemp -d /tmp/orderspot-apk-test.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

# scripts <package> <dir>: each script of the package as <dir>/<type>, from
# `apk adbdump` (YAML: "  <type>: |" then the lines indented by four).
scripts_of() {
    mkdir -p "$2"
    "$APK" adbdump "$1" | awk -v dir="$2" '
        /^scripts:/ { on = 1; next }
        on && /^[^ ]/ { on = 0 }
        on && /^  [a-z-]+: \|$/ { name = $1; sub(/:$/, "", name); file = dir "/" name; printf "" > file; next }
        on && file != "" { line = $0; sub(/^    /, "", line); print line >> file }'
}

# info <dump> <field>: a scalar of the package info
info() { awk -v f="$2" '/^info:/ { on = 1; next } on && /^[^ ]/ { exit } on && $1 == f ":" { sub(/^ *[a-z-]+: /, ""); print; exit }' "$1"; }
# list <dump> <field>: a list of the package info (depends, provides), on one line
list() { awk -v f="  $2:" '/^info:/ { on = 1; next } on && /^[^ ]/ { exit } on && index($0, f) == 1 { d = 1; next } d && /^    - / { print $2; next } d { exit }' "$1" | tr -d "'" | paste -sd' '; }
depends() { list "$1" depends; }

# path mode of every entry under <dir> (directories end in /)
tree_modes() {
    (cd "$1" && find . -mindepth 1 \( -type d -printf '%p/ %m\n' -o -printf '%p %m\n' \)) | LC_ALL=C sort
}
tree_hashes() { (cd "$1" && find . -type f -exec sha256sum {} +) | awk '{ print $2, $1 }' | LC_ALL=C sort; }

# mkstub <dir> <name> <version> <extra --info...>: a package with no files
mkstub() {
    local dir=$1 name=$2 version=$3
    shift 3
    mkdir -p "$dir/empty"
    "$APK" mkpkg --info "name:$name" --info "version:$version" --info "arch:$ARCH" "$@" \
        --files "$dir/empty" --output "$dir/$name.apk"
}

# scratch_root <dir>: busybox as /bin/sh with its libraries, and stand-ins
# that log to /calls: /lib/functions.sh (add_group_and_user, and
# default_postinst/default_prerm doing what base-files' do with the
# package's .list: apply uci-defaults, enable/start or stop/disable the init
# scripts, logged instead of run), uci (every `get` misses), nft and the
# dnsmasq init script.
scratch_root() {
    local r=$1 lib
    mkdir -p "$r/bin" "$r/usr/bin" "$r/usr/sbin" "$r/etc/init.d" "$r/lib" "$r/tmp"
    cp "$(command -v busybox)" "$r/bin/busybox"
    for lib in $(ldd "$(command -v busybox)" | grep -o '/[^ ]*'); do
        mkdir -p "$r$(dirname "$lib")"
        cp -L "$lib" "$r$lib"
    done
    for a in sh cat grep rm sed mkdir dirname; do ln -s busybox "$r/bin/$a"; done
    cat >"$r/lib/functions.sh" <<'SH'
log() { echo "$*" >>/calls; }
add_group_and_user() { log "add_group_and_user pkgname=$pkgname"; }
default_postinst() {
	local list="/lib/apk/packages/$pkgname.list" i
	log "default_postinst pkgname=$pkgname root=$root upgrade=${PKG_UPGRADE-}"
	for i in $(grep '^/etc/uci-defaults/' "$list"); do
		( [ -f "$i" ] && cd "$(dirname "$i")" && . "$i" ) && rm -f "$i" && log "uci-defaults $i"
	done
	for i in $(grep '^/etc/init.d/' "$list"); do
		[ "$PKG_UPGRADE" = 1 ] || log "enable $i"
		log "start $i"
	done
}
default_prerm() {
	local i
	log "default_prerm pkgname=$pkgname upgrade=${PKG_UPGRADE-}"
	for i in $(grep '^/etc/init.d/' "/lib/apk/packages/$pkgname.list"); do
		[ "$PKG_UPGRADE" = 1 ] || log "disable $i"
		log "stop $i"
	done
}
SH
    printf '#!/bin/sh\necho "uci $*" >>/calls\n[ "$1" = -q ] && shift\n[ "$1" = batch ] && cat >/dev/null\ncase $1 in get|show) exit 1 ;; esac\nexit 0\n' >"$r/usr/bin/uci"
    printf '#!/bin/sh\necho "nft $*" >>/calls\n' >"$r/usr/sbin/nft"
    printf '#!/bin/sh\necho "dnsmasq $*" >>/calls\n' >"$r/etc/init.d/dnsmasq"
    chmod 755 "$r/usr/bin/uci" "$r/usr/sbin/nft" "$r/etc/init.d/dnsmasq"
}

apk_in() { "$APK" --root "$1" --arch "$ARCH" --no-cache --allow-untrusted "${@:2}"; }

# logged <log> <command...>: its output to <log>, shown when it fails
logged() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 || { sed 's/^/    | /' "$log"; return 1; }
}

# calls_are <root> <expected lines...>: the stand-ins were called exactly so
calls_are() {
    local r=$1 got
    shift
    got=$(cat "$r/calls" 2>/dev/null || true)
    [ "$got" = "$(printf '%s\n' "$@")" ] || { echo "    calls:"; sed 's/^/      /' <<<"$got"; return 1; }
}

# installed_as <root> <reference tree>: every path of the package is in the
# root with the package's mode and bytes (but uci-defaults, which
# post-install applies and removes)
installed_as() {
    local r=$1 ref=$2 p m
    while read -r p m; do
        p=${p#.}
        [ "$p" != /etc/uci-defaults/99-orderspot ] || continue
        if [ "${p%/}" != "$p" ]; then
            [ -d "$r$p" ] || { echo "    missing directory $p"; return 1; }
        else
            [ -f "$r$p" ] && [ "$(stat -c %a "$r$p")" = "$m" ] || { echo "    $p missing or mode not $m"; return 1; }
            cmp -s "$r$p" "$ref$p" || { echo "    $p differs"; return 1; }
        fi
    done < <(tree_modes "$ref")
}

# gone_but <root> <reference tree> <paths kept...>: no file of the package is
# left but the given ones
gone_but() {
    local r=$1 ref=$2 p left=()
    shift 2
    while read -r p _; do
        p=${p#.}
        [ "${p%/}" = "$p" ] || continue
        [ -e "$r$p" ] || continue
        case " $* " in *" $p "*) ;; *) left+=("$p") ;; esac
    done < <(tree_modes "$ref")
    [ ${#left[@]} = 0 ] || { echo "    left behind: ${left[*]}"; return 1; }
}

for pkg in "${apks[@]}"; do
    name=$(basename "$pkg" .apk)
    ARCH=${name#"$PKGNAME"-"$VERSION"_}
    echo "== $name"
    w=$SCRATCH/$ARCH
    mkdir -p "$w"
    ipk=$DIST/${PKGNAME}_$UPSTREAM-${RELEASE}_$ARCH.ipk
    [ -f "$ipk" ] || { bad "no $ipk to compare with"; continue; }

    # --- the package as apk reads it ---
    dump=$w/dump
    if ! "$APK" adbdump "$pkg" >"$dump"; then
        bad "apk adbdump reads the package"
        continue
    fi
    check "apk v3 format (ADB, deflate)" test "$(head -c 4 "$pkg")" = ADBd
    check "name: $PKGNAME" test "$(info "$dump" name)" = "$PKGNAME"
    check "version: $VERSION" test "$(info "$dump" version)" = "$VERSION"
    check "arch: $ARCH" test "$(info "$dump" arch)" = "$ARCH"
    check "license: $(mk_var PKG_LICENSE)" test "$(info "$dump" license)" = "$(mk_var PKG_LICENSE)"
    check "maintainer: as PKG_MAINTAINER" test "$(info "$dump" maintainer)" = "$(mk_var PKG_MAINTAINER)"
    check "origin: package/orderspot" test "$(info "$dump" origin)" = package/orderspot
    check "depends: the ipk's Depends, and its Conflicts as !name (but what it provides)" \
        test "$(depends "$dump")" = "kmod-nft-core kmod-nft-fib kmod-nft-nat nftables !nodogsplash !opennds"
    if [ "$PKGNAME" = orderspot ]; then
        check "provides: nothing" test -z "$(list "$dump" provides)"
    else
        check "provides: orderspot=$VERSION (versioned: apk installs one of the two)" \
            test "$(list "$dump" provides)" = "orderspot=$VERSION"
    fi

    # files: the ipk's, plus the three /lib/apk/packages files
    mkdir -p "$w/ipk" "$w/ipk-root" "$w/apk-root"
    tar -xzf "$ipk" -C "$w/ipk" && tar -xzf "$w/ipk/data.tar.gz" -C "$w/ipk-root"
    tar -xzf "$w/ipk/control.tar.gz" -C "$w/ipk"
    "$APK" extract --allow-untrusted --destination "$w/apk-root" "$pkg" >/dev/null
    meta=lib/apk/packages
    extra=$(printf '%s\n' "./lib/apk/ 755" "./$meta/ 755" "./$meta/$PKGNAME.conffiles 644" \
        "./$meta/$PKGNAME.conffiles_static 644" "./$meta/$PKGNAME.list 644" "./$meta/$PKGNAME.rusers 644")
    want=$( (tree_modes "$w/ipk-root"; echo "$extra") | LC_ALL=C sort)
    got=$(tree_modes "$w/apk-root")
    if [ "$got" = "$want" ]; then
        pass "files: exactly the ipk's paths and modes, plus /$meta/$PKGNAME.{list,conffiles,conffiles_static,rusers}"
    else
        bad "files: paths and modes differ from the ipk's"
        diff <(echo "$want") <(echo "$got") | sed 's/^/       /' || true
    fi
    check "files: the same bytes as the ipk's" test "$(tree_hashes "$w/ipk-root")" = \
        "$(tree_hashes "$w/apk-root" | grep -v "^\./$meta/")"
    check "every path owned by root:root" \
        test -z "$(grep -E '^ +(user|group):' "$dump" | grep -v -E ': root$')"
    check "every mtime is SOURCE_DATE_EPOCH ($(sed -n 's/^SourceDateEpoch: //p' "$w/ipk/control"))" \
        test "$(grep -E '^ +mtime:' "$dump" | sort -u | awk '{ print $2 }')" = "$(sed -n 's/^SourceDateEpoch: //p' "$w/ipk/control")"
    check "$meta/$PKGNAME.list: every file and link of the package but the metadata" test \
        "$(cat "$w/apk-root/$meta/$PKGNAME.list")" = "$(cd "$w/ipk-root" && find . -type f,l -printf '/%P\n' | LC_ALL=C sort)"
    check "$meta/$PKGNAME.conffiles: the Makefile's conffiles" test \
        "$(cat "$w/apk-root/$meta/$PKGNAME.conffiles")" = "$(printf '/etc/config/orderspot\n/etc/orderspot/')"
    check "$meta/$PKGNAME.conffiles_static: /etc/config/orderspot with its sha256" test \
        "$(cat "$w/apk-root/$meta/$PKGNAME.conffiles_static")" = \
        "/etc/config/orderspot $(sha256sum <"$w/ipk-root/etc/config/orderspot" | cut -d' ' -f1)"
    check "$meta/$PKGNAME.rusers: the Makefile's USERID, for add_group_and_user" \
        test "$(cat "$w/apk-root/$meta/$PKGNAME.rusers")" = orderspot:orderspot
    check "keep.d keeps the database directory (from conffiles)" \
        test "$(cat "$w/apk-root/lib/upgrade/keep.d/$PKGNAME")" = /etc/orderspot/

    # scripts, composed from the ipk's as package-pack.mk does
    s=$w/scripts
    scripts_of "$pkg" "$s"
    check "scripts: exactly post-install, post-upgrade, pre-deinstall, post-deinstall" \
        test "$(ls "$s" | paste -sd' ')" = "post-deinstall post-install post-upgrade pre-deinstall"
    for f in "$s"/*; do
        check "$(basename "$f"): sh -n" sh -n "$f"
        check "$(basename "$f"): busybox ash -n" busybox ash -n "$f"
    done
    check "post-install: default_postinst (exported pkgname, add_group_and_user), then the ipk's postinst part" test \
        "$(cat "$s/post-install")" = "$(printf '%s\n' '#!/bin/sh' '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0' \
            '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0' '. ${IPKG_INSTROOT}/lib/functions.sh' \
            'export root="${IPKG_INSTROOT}"' "export pkgname=\"$PKGNAME\"" add_group_and_user default_postinst
            sed '1d' "$w/ipk/postinst-pkg")"
    check "post-upgrade: PKG_UPGRADE=1, then post-install" \
        test "$(cat "$s/post-upgrade")" = "$(printf '#!/bin/sh\nexport PKG_UPGRADE=1\n'; sed 1d "$s/post-install")"
    check "pre-deinstall: default_prerm" test "$(sed -n '$p' "$s/pre-deinstall")" = default_prerm
    check "post-deinstall: the ipk's postrm" cmp -s "$s/post-deinstall" "$w/ipk/postrm"
    check "post-deinstall: exits on an upgrade (PKG_UPGRADE=1) before changing anything" \
        sh -c 'r=$(PKG_UPGRADE=1 PATH=/nonexistent /bin/sh "$1" 2>&1) && [ -z "$r" ]' _ "$s/post-deinstall"

    # reproducible, and the next release for the upgrade below
    mkdir -p "$w/again$BIN_SUB/$ARCH" "$w/next$BIN_SUB/$ARCH"
    cp "$w/ipk-root/usr/bin/orderspot" "$w/again$BIN_SUB/$ARCH/orderspot"
    cp "$w/ipk-root/usr/bin/orderspot" "$w/next$BIN_SUB/$ARCH/orderspot"
    epoch=$(sed -n 's/^SourceDateEpoch: //p' "$w/ipk/control")
    if SOURCE_DATE_EPOCH=$epoch DIST=$w/again CARGO_TARGET_DIR=$w/target \
        scripts/build-ipk.sh --no-build "${HTTPS_FLAG[@]}" "$ARCH" >/dev/null; then
        check "packaging again gives the same bytes" cmp -s "$pkg" "$w/again/$(basename "$pkg")"
    else
        bad "packaging again failed"
    fi
    next=$w/next/$PKGNAME-$UPSTREAM-r$((RELEASE + 1))_$ARCH.apk
    SOURCE_DATE_EPOCH=$epoch DIST=$w/next CARGO_TARGET_DIR=$w/target \
        ORDERSPOT_PKG_RELEASE=$((RELEASE + 1)) scripts/build-ipk.sh --no-build "${HTTPS_FLAG[@]}" "$ARCH" >/dev/null ||
        bad "packaging release $((RELEASE + 1)) failed"

    # --- install, upgrade, remove in a scratch root ---
    r=$w/root
    scratch_root "$r"
    stubs=$w/stubs
    mkstub "$stubs" router-base 1-r1 --info "provides:kmod-nft-core kmod-nft-fib kmod-nft-nat nftables"
    mkstub "$stubs" opennds 1-r1
    check "apk --initdb: the stand-in for the router's packages (kmod-nft-*, nftables) installs" \
        logged "$w/base.log" apk_in "$r" --initdb add "$stubs/router-base.apk"
    apk_in "$r" add "$stubs/opennds.apk" >/dev/null
    check "install refused while opennds is installed (conflict)" \
        sh -c '! "$@" >/dev/null 2>&1' _ "$APK" --root "$r" --arch "$ARCH" --no-cache --allow-untrusted add "$pkg"
    check "... nothing of it unpacked" test ! -e "$r/usr/bin/orderspot"
    apk_in "$r" del opennds >/dev/null
    rm -f "$r/calls"

    check "apk add --allow-untrusted installs it" logged "$w/add.log" apk_in "$r" add "$pkg"
    check "installed: every file of the package with its mode and bytes (uci-defaults applied and removed)" installed_as "$r" "$w/apk-root"
    check "post-install ran: default_postinst applied uci-defaults, enabled and started the service; postinst reloaded dnsmasq" \
        calls_are "$r" "add_group_and_user pkgname=$PKGNAME" "default_postinst pkgname=$PKGNAME root= upgrade=" \
        "uci -q get orderspot.main.portal_host" "uci -q get orderspot.main.network" \
        "uci -q get firewall.orderspot.path" "uci -q get network.lan.ipaddr" "uci commit dhcp" \
        "uci-defaults /etc/uci-defaults/99-orderspot" "enable /etc/init.d/orderspot" "start /etc/init.d/orderspot" \
        "dnsmasq reload" "uci -q get orderspot.main.network"
    check "post-install told the owner how to choose the hotspot network" grep -q "nothing is intercepted until you create" "$w/add.log"
    check "uci-defaults removed after it ran" test ! -e "$r/etc/uci-defaults/99-orderspot"

    # the owner's edits and data, then the next release
    sed -i "s/option venue_name ''/option venue_name 'Food Court'/" "$r/etc/config/orderspot"
    mkdir -p "$r/etc/orderspot"
    echo orders >"$r/etc/orderspot/orderspot.db"
    rm -f "$r/calls"
    check "apk add of release $((RELEASE + 1)) upgrades it" logged "$w/upgrade.log" apk_in "$r" add "$next"
    check "upgrade: release $((RELEASE + 1)) installed" grep -qx "V:$UPSTREAM-r$((RELEASE + 1))" <(sed -n "/^P:$PKGNAME\$/,/^\$/p" "$r/lib/apk/db/installed")
    check "upgrade: post-upgrade ran with PKG_UPGRADE=1 (start, no enable), no removal script" \
        calls_are "$r" "add_group_and_user pkgname=$PKGNAME" "default_postinst pkgname=$PKGNAME root= upgrade=1" \
        "uci -q get orderspot.main.portal_host" "uci -q get orderspot.main.network" \
        "uci -q get firewall.orderspot.path" "uci -q get network.lan.ipaddr" "uci commit dhcp" \
        "uci-defaults /etc/uci-defaults/99-orderspot" "start /etc/init.d/orderspot" \
        "dnsmasq reload" "uci -q get orderspot.main.network"
    check "upgrade: the owner's /etc/config/orderspot is kept" grep -q "option venue_name 'Food Court'" "$r/etc/config/orderspot"
    check "upgrade: the package's config is beside it as /etc/config/orderspot.apk-new" \
        cmp -s "$r/etc/config/orderspot.apk-new" "$w/apk-root/etc/config/orderspot"
    check "upgrade: the database is untouched" test "$(cat "$r/etc/orderspot/orderspot.db")" = orders

    rm -f "$r/calls"
    check "apk del removes it" logged "$w/del.log" apk_in "$r" del "$PKGNAME"
    check "removal: pre-deinstall stopped and disabled the service, post-deinstall took back uci-defaults' changes" \
        calls_are "$r" "default_prerm pkgname=$PKGNAME upgrade=" "disable /etc/init.d/orderspot" "stop /etc/init.d/orderspot" \
        "nft delete table inet orderspot" "uci -q delete firewall.orderspot" "uci commit firewall" \
        "uci -q delete dhcp.orderspot_portal" "uci show dhcp" "uci commit dhcp" "dnsmasq reload"
    check "removal: no file of the package is left but the owner's edited config" \
        gone_but "$r" "$w/apk-root" /etc/config/orderspot
    check "removal: no .apk-new left, the database stays" \
        test ! -e "$r/etc/config/orderspot.apk-new" -a "$(cat "$r/etc/orderspot/orderspot.db")" = orders
    check "removal: apk knows only the stand-in package" test "$(sed -n 's/^P://p' "$r/lib/apk/db/installed")" = router-base

    # The two variants, one after the other in either order: never both.
    if [ "$PKGNAME" != orderspot ]; then
        plain=$DIST/orderspot-${VERSION}_$ARCH.apk
        plain_bin=$DIST/$ARCH/orderspot
        variants() { sed -n 's/^P://p' "$r/lib/apk/db/installed" | grep -vx router-base | paste -sd' ' -; }
        # one_variant <package> <binary>: only it is installed, with its binary
        one_variant() {
            [ "$(variants)" = "$1" ] && cmp -s "$r/usr/bin/orderspot" "$2" ||
                { echo "    installed: $(variants)"; return 1; }
        }
        if [ ! -f "$plain" ] || [ ! -f "$plain_bin" ]; then
            bad "no $plain (and $plain_bin) to install beside it (scripts/build-ipk.sh $ARCH)"
        else
            https_bin=$w/ipk-root/usr/bin/orderspot
            check "orderspot installs" logged "$w/plain.log" apk_in "$r" add "$plain"
            sed -i "s/option venue_name ''/option venue_name 'Food Court'/" "$r/etc/config/orderspot"
            check "adding $PKGNAME where orderspot is installed is refused (conflict)" \
                sh -c '! "$@" >"$0" 2>&1 && grep -q "conflicts: orderspot-https" "$0"' "$w/switch.log" \
                "$APK" --root "$r" --arch "$ARCH" --no-cache --allow-untrusted add "$pkg"
            check "... orderspot stays, alone, with its binary" one_variant orderspot "$plain_bin"
            check "switching: apk del orderspot, then apk add $PKGNAME" \
                sh -c '"$@" del orderspot >/dev/null 2>&1 && "$@" add "$0" >/dev/null 2>&1' "$pkg" \
                "$APK" --root "$r" --arch "$ARCH" --no-cache --allow-untrusted
            https_alone() { one_variant "$PKGNAME" "$https_bin" && [ -f "$r/usr/share/orderspot/https" ]; }
            check "... $PKGNAME alone, with its binary and the HTTPS marker" https_alone
            check "... the owner's config and the database kept" \
                test "$(grep -c "option venue_name 'Food Court'" "$r/etc/config/orderspot")" = 1 -a \
                "$(cat "$r/etc/orderspot/orderspot.db")" = orders
            check "adding orderspot where $PKGNAME is installed is refused (conflict)" \
                sh -c '! "$@" >"$0" 2>&1 && grep -q "conflicts: orderspot-https" "$0"' "$w/switch2.log" \
                "$APK" --root "$r" --arch "$ARCH" --no-cache --allow-untrusted add "$plain"
            check "... $PKGNAME stays, alone, with its binary" one_variant "$PKGNAME" "$https_bin"
        fi
    fi

    echo "  size: apk $(stat -c %s "$pkg") bytes, ipk $(stat -c %s "$ipk") bytes"
done

if [ $FAILS -gt 0 ]; then
    echo "apk tests: $FAILS FAILED"
    exit 1
fi
echo "apk tests: all passed"
