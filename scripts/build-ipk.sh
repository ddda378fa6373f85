#!/usr/bin/env bash
# Packages the static binaries as OpenWrt .ipk files in dist/:
#
#   scripts/build-ipk.sh mipsel_24kc     # dist/orderspot_<version>_mipsel_24kc.ipk
#   scripts/build-ipk.sh all             # every architecture scripts/build.sh knows
#   scripts/build-ipk.sh --no-build all  # package the binaries already in dist/
#
# Builds each binary first (scripts/build.sh; cargo makes that quick when
# nothing changed). The package is what opkg reads and what OpenWrt's own
# scripts/ipkg-build writes: a gzip'd tar (not ar) of ./debian-binary,
# ./data.tar.gz and ./control.tar.gz. Its contents come from openwrt/Makefile,
# the SDK recipe, so both ways of building give the same package: the files
# and modes of the install section, Depends, Conflicts, conffiles, description,
# and the postinst/postrm parts; postinst and prerm call default_postinst and
# default_prerm from /lib/functions.sh as every OpenWrt package does
# (uci-defaults, enable and start; stop and disable).
#
# Reproducible: sorted names, owner and group 0 (numeric), every mtime set to
# SOURCE_DATE_EPOCH (default: the time of the last git commit), gzip -n, and
# zopfli (deterministic gzip-format output) for data.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MK=openwrt/Makefile
DIST=${DIST:-$ROOT/dist}
WORK=${CARGO_TARGET_DIR:-$ROOT/target}/ipk

die() { echo "build-ipk.sh: $*" >&2; exit 1; }

# block [name]: the text of `define Package/orderspot[/name]` with make's $$
# turned back into $.
block() {
    awk -v start="define Package/orderspot${1:+/$1}" '
        $0 == start { on = 1; next }
        on && $0 == "endef" { exit }
        on { gsub(/\$\$/, "$"); print }' "$MK"
}

mk_var() { # mk_var NAME: a simple `NAME:=value` of the Makefile
    sed -n "s/^$1:=//p" "$MK" | head -n1
}

pkg_version() {
    local v r
    v=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
    r=$(mk_var PKG_RELEASE)
    [ -n "$v" ] && [ -n "$r" ] || die "cannot read the version from Cargo.toml and $MK"
    echo "$v-$r"
}

epoch() {
    if [ -n "${SOURCE_DATE_EPOCH-}" ]; then
        echo "$SOURCE_DATE_EPOCH"
    elif git log -1 --format=%ct >/dev/null 2>&1; then
        git log -1 --format=%ct
    else
        die "set SOURCE_DATE_EPOCH (no git history to take the time from)"
    fi
}

# reproducible_tar <dir> <members...>: gzip'd tar on stdout
reproducible_tar() {
    local dir=$1
    shift
    (cd "$dir" && tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
        --mtime="@$EPOCH" -cf - "$@") | gzip -9n
}

# The same, compressed with zopfli: plain gzip format any gunzip (and opkg)
# reads, about 4% smaller than gzip -9 (~50 KB on the binary), deterministic.
reproducible_tar_zopfli() {
    local dir=$1 tmp
    shift
    tmp=$(mktemp "$WORK/tar.XXXXXX")
    (cd "$dir" && tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
        --mtime="@$EPOCH" -cf - "$@") >"$tmp"
    zopfli --i5 -c "$tmp"
    rm -f "$tmp"
}

# Fills <root> from the Makefile's install section.
install_files() {
    local arch=$1 root=$2 line cmd src dst mode
    while read -r line; do
        [ -n "$line" ] || continue
        read -r cmd src dst <<<"$line"
        case $cmd in
            '$(INSTALL_DIR)')
                install -d -m 0755 "$root/${src#\$(1)/}"
                continue
                ;;
            '$(INSTALL_BIN)') mode=0755 ;;
            '$(INSTALL_DATA)') mode=0644 ;;
            '$(INSTALL_CONF)') mode=0600 ;;
            *) die "$MK: cannot mirror this install line: $line" ;;
        esac
        case $src in
            '$(PKG_INSTALL_DIR)/bin/orderspot') src=$DIST/$arch/orderspot ;;
            ./files/*) src=openwrt/${src#./} ;;
            *) die "$MK: unknown source in: $line" ;;
        esac
        [ -f "$src" ] || die "missing $src (needed by: $line)"
        install -m "$mode" "$src" "$root/${dst#\$(1)/}"
    done < <(block install | sed 's/^[[:space:]]*//')
}

build_one() {
    local arch=$1 version pkg stage data ctl out size
    version=$(pkg_version)
    pkg=$(mk_var PKG_NAME)
    [ -f openwrt/files/orderspot.nft ] ||
        die "openwrt/files/orderspot.nft (the captive portal's nftables rules) is missing"
    [ -x "$DIST/$arch/orderspot" ] || die "no binary at $DIST/$arch/orderspot (run scripts/build.sh $arch)"

    stage=$WORK/$arch
    rm -rf "$stage"
    data=$stage/data
    ctl=$stage/control
    mkdir -p "$data" "$ctl"
    chmod 0755 "$data" "$ctl"
    install_files "$arch" "$data"

    # control.tar.gz
    local depends conflicts desc
    depends=$(block '' | sed -n 's/^[[:space:]]*DEPENDS:=//p' | tr ' ' '\n' |
        grep -v -e '^\$(' -e '^@' -e '^$' | sed 's/^+//' | paste -sd, - | sed 's/,/, /g')
    conflicts=$(block '' | sed -n 's/^[[:space:]]*CONFLICTS:=//p' | xargs | sed 's/ /, /g')
    desc=$(block description | sed 's/^[[:space:]]*//')
    {
        echo "Package: $pkg"
        echo "Version: $version"
        [ -z "$depends" ] || echo "Depends: $depends"
        [ -z "$conflicts" ] || echo "Conflicts: $conflicts"
        echo "Source: package/$pkg"
        echo "SourceName: $pkg"
        echo "License: $(mk_var PKG_LICENSE)"
        echo "Section: $(block '' | sed -n 's/^[[:space:]]*SECTION:=//p')"
        echo "SourceDateEpoch: $EPOCH"
        echo "Maintainer: $(mk_var PKG_MAINTAINER)"
        echo "Architecture: $arch"
        echo "Installed-Size: $(reproducible_tar "$data" . | gzip -dc | wc -c)"
        echo "Description: $(head -n1 <<<"$desc")"
        tail -n +2 <<<"$desc" | sed 's/^/ /'
    } >"$ctl/control"
    block conffiles | sed '/^[[:space:]]*$/d' >"$ctl/conffiles"
    local f
    while read -r f; do
        [ -f "$data$f" ] || die "conffile $f is not in the package"
    done <"$ctl/conffiles"
    # As OpenWrt's package-pack.mk writes them.
    cat >"$ctl/postinst" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
    cat >"$ctl/prerm" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
    block postinst >"$ctl/postinst-pkg"
    block prerm >"$ctl/prerm-pkg"
    block postrm >"$ctl/postrm"
    for f in postinst-pkg prerm-pkg postrm; do
        [ -s "$ctl/$f" ] || rm -f "$ctl/$f"
    done
    chmod 0644 "$ctl/control" "$ctl/conffiles"
    chmod 0755 "$ctl"/post* "$ctl"/pre*

    # The package: the same layout and order as OpenWrt's ipkg-build.
    local pk=$stage/pkg
    mkdir -p "$pk"
    echo "2.0" >"$pk/debian-binary"
    reproducible_tar_zopfli "$data" . >"$pk/data.tar.gz"
    reproducible_tar "$ctl" . >"$pk/control.tar.gz"
    chmod 0644 "$pk"/*
    out=$DIST/${pkg}_${version}_${arch}.ipk
    reproducible_tar "$pk" ./debian-binary ./data.tar.gz ./control.tar.gz >"$out.tmp"
    mv -f "$out.tmp" "$out"
    size=$(stat -c %s "$out")
    printf '    %s: %s bytes (binary %s bytes)\n' "$out" "$size" "$(stat -c %s "$DIST/$arch/orderspot")"
    if [ "$arch" = mips_24kc ] && [ "$size" -gt 1290000 ]; then
        echo "    WARNING: over the size budget for the mips_24kc package (tests/ipk.sh: 1,290,000 bytes)" >&2
    fi
}

BUILD=1
if [ "${1-}" = --no-build ]; then
    BUILD=0
    shift
fi
case ${1-} in
    "" | -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    all) mapfile -t all < <(scripts/build.sh --list); set -- "${all[@]}" ;;
esac
EPOCH=$(epoch)
command -v zopfli >/dev/null || die "zopfli is missing (run scripts/setup-cross.sh)"
mkdir -p "$WORK"
for arch in "$@"; do
    scripts/build.sh --list | grep -qx -- "$arch" || die "unknown architecture '$arch'"
    if [ $BUILD = 1 ]; then scripts/build.sh "$arch"; fi
    echo "==> package $arch"
    build_one "$arch"
done
