#!/usr/bin/env bash
# Packages the static binaries for OpenWrt in dist/: an .ipk for opkg (up to
# 24.10) and an .apk for apk-tools v3 (25.12 and later) per architecture:
#
#   scripts/build-ipk.sh mipsel_24kc     # dist/orderspot_<version>_mipsel_24kc.ipk
#                                        # dist/orderspot-<apk version>_mipsel_24kc.apk
#   scripts/build-ipk.sh all             # every architecture scripts/build.sh knows
#   scripts/build-ipk.sh --no-build all  # package the binaries already in dist/
#   scripts/build-ipk.sh --https mips_24kc  # the orderspot-https variant:
#                 # dist/orderspot-https_<version>_mips_24kc.ipk and .apk, its
#                 # binary (cargo feature https) in dist/https/mips_24kc/
#
# Builds each binary first (scripts/build.sh; cargo makes that quick when
# nothing changed). Both packages' contents come from openwrt/Makefile, the
# SDK recipe, so both ways of building give the same packages: the files and
# modes of the install section, Depends, Conflicts, Provides, USERID (Require-User),
# conffiles (files in the
# package; any other path listed there becomes /lib/upgrade/keep.d/orderspot,
# as package-pack.mk does), description, and the postinst/prerm/postrm parts.
#
# The ipk is what opkg reads and what OpenWrt's own scripts/ipkg-build writes:
# a gzip'd tar (not ar) of ./debian-binary, ./data.tar.gz and
# ./control.tar.gz; postinst and prerm call default_postinst and default_prerm
# from /lib/functions.sh as every OpenWrt package does (uci-defaults, enable
# and start; stop and disable).
#
# The apk is written by `apk mkpkg` (scripts/apk-tools.sh builds apk-tools
# 3.0.6 from ../shared/vendor/) composed as include/package-pack.mk composes
# it for apk: version <version>-r<release>; the ipk's files plus
# /lib/apk/packages/orderspot.{list,conffiles,conffiles_static,rusers}; post-install
# is default_postinst then the postinst part, post-upgrade the same with
# PKG_UPGRADE=1, pre-deinstall default_prerm then the prerm part,
# post-deinstall the postrm part; PROVIDES as versioned provides
# (name=<version>), which apk installs only one package of, as package-pack.mk
# writes them. One addition: package-pack.mk never passes CONFLICTS to
# mkpkg; here they become apk's conflict dependencies (!name), so 25.12
# refuses the other captive portals as opkg does (but a name the package
# provides: orderspot-https and orderspot exclude each other by that).
#
# Reproducible: sorted names, owner and group 0 (numeric), every mtime set to
# SOURCE_DATE_EPOCH (default: the time of the last git commit), gzip -n, and
# zopfli (deterministic gzip-format output) for data.tar.gz; apk mkpkg
# honours SOURCE_DATE_EPOCH too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MK=openwrt/Makefile
DIST=${DIST:-$ROOT/dist}
WORK=${CARGO_TARGET_DIR:-$ROOT/target}/ipk

die() { echo "build-ipk.sh: $*" >&2; exit 1; }

# The package being made (--https: orderspot-https) and where its binaries are.
PKG=orderspot
BIN_DIST=$DIST

# raw NAME: the text of `define NAME` with make's $$ turned back into $.
raw() {
    awk -v start="define $1" '
        $0 == start { on = 1; next }
        on && $0 == "endef" { exit }
        on { gsub(/\$\$/, "$"); print }' "$MK"
}

# expand NAME: raw NAME with each line that is `$(call Package/X[,...])` or
# `$(Package/X)` replaced by the text of Package/X (how the variant reuses
# orderspot's parts).
expand() {
    local line
    while IFS= read -r line; do
        if [[ $line =~ ^\$\((call\ )?(Package/[^,\)]*)(,.*)?\)$ ]]; then
            expand "${BASH_REMATCH[2]}"
        else
            printf '%s\n' "$line"
        fi
    done < <(raw "$1")
}

# block [part]: the text of `define Package/$PKG[/part]`, or of the part it
# is set to (`Package/$PKG/part = $(Package/orderspot/part)`).
block() {
    local name="Package/$PKG${1:+/$1}" other
    if grep -qxF "define $name" "$MK"; then
        expand "$name"
        return
    fi
    other=$(sed -n "s|^$name = \$(\(Package/[^)]*\))\$|\1|p" "$MK")
    [ -z "$other" ] || expand "$other"
}

mk_var() { # mk_var NAME: a simple `NAME:=value` of the Makefile
    sed -n "s/^$1:=//p" "$MK" | head -n1
}

pkg_field() { # pkg_field NAME: `NAME:=value` of define Package/$PKG
    block '' | sed -n "s/^[[:space:]]*$1:=//p"
}

# The package names of DEPENDS (not the $(...) variables or @conditions),
# one a line, and of CONFLICTS and PROVIDES.
depends_names() { pkg_field DEPENDS | tr ' ' '\n' | grep -v -e '^\$(' -e '^@' -e '^$' | sed 's/^+//'; }
conflicts_names() { pkg_field CONFLICTS | tr ' ' '\n' | sed '/^$/d'; }
provides_names() { pkg_field PROVIDES | tr ' ' '\n' | sed '/^$/d'; }

pkg_version() {
    local v r
    v=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
    # tests/apk.sh builds the next release with ORDERSPOT_PKG_RELEASE to
    # test an upgrade.
    r=${ORDERSPOT_PKG_RELEASE:-$(mk_var PKG_RELEASE)}
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
            '$(PKG_INSTALL_DIR)/bin/orderspot') src=$BIN_DIST/$arch/orderspot ;;
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
    pkg=$PKG
    grep -qxF "define Package/$pkg" "$MK" || die "$MK defines no package $pkg"
    [ -f openwrt/files/orderspot.nft ] ||
        die "openwrt/files/orderspot.nft (the captive portal's nftables rules) is missing"
    [ -x "$BIN_DIST/$arch/orderspot" ] || die "no binary at $BIN_DIST/$arch/orderspot (run scripts/build.sh $arch)"

    stage=$WORK/$pkg/$arch
    rm -rf "$stage"
    data=$stage/data
    ctl=$stage/control
    mkdir -p "$data" "$ctl"
    chmod 0755 "$data" "$ctl"
    install_files "$arch" "$data"
    # Conffiles that are no file of the package (the database directory)
    # are kept by sysupgrade through keep.d, as package-pack.mk does.
    local keep f
    keep=$(block conffiles | sed '/^[[:space:]]*$/d' | while read -r f; do
        [ -f "$data$f" ] || echo "$f"
    done)
    if [ -n "$keep" ]; then
        install -d -m 0755 "$data/lib/upgrade/keep.d"
        echo "$keep" >"$data/lib/upgrade/keep.d/$pkg"
        chmod 0644 "$data/lib/upgrade/keep.d/$pkg"
    fi

    # control.tar.gz
    local depends conflicts provides desc url users
    url=$(pkg_field URL)
    users=$(pkg_field USERID)
    depends=$(depends_names | paste -sd, - | sed 's/,/, /g')
    conflicts=$(conflicts_names | paste -sd, - | sed 's/,/, /g')
    provides=$(provides_names | paste -sd, - | sed 's/,/, /g')
    desc=$(block description | sed 's/^[[:space:]]*//')
    {
        echo "Package: $pkg"
        echo "Version: $version"
        [ -z "$depends" ] || echo "Depends: $depends"
        [ -z "$conflicts" ] || echo "Conflicts: $conflicts"
        [ -z "$provides" ] || echo "Provides: $provides"
        [ -z "$users" ] || echo "Require-User: $users"
        echo "Source: package/$(mk_var PKG_NAME)"
        echo "SourceName: $pkg"
        echo "License: $(mk_var PKG_LICENSE)"
        echo "LicenseFiles: $(mk_var PKG_LICENSE_FILES)"
        echo "Section: $(pkg_field SECTION)"
        echo "SourceDateEpoch: $EPOCH"
        [ -z "$url" ] || echo "URL: $url"
        echo "Maintainer: $(mk_var PKG_MAINTAINER)"
        echo "Architecture: $arch"
        echo "Installed-Size: $(reproducible_tar "$data" . | gzip -dc | wc -c)"
        echo "Description: $(head -n1 <<<"$desc")"
        tail -n +2 <<<"$desc" | sed 's/^/ /'
    } >"$ctl/control"
    # The conffiles that are files of the package, sorted, as ipkg-build
    # resolves them.
    block conffiles | sed '/^[[:space:]]*$/d' | while read -r f; do
        [ ! -f "$data$f" ] || echo "$f"
    done | LC_ALL=C sort >"$ctl/conffiles"
    [ -s "$ctl/conffiles" ] || die "no conffile of $MK is a file of the package"
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
    printf '    %s: %s bytes (binary %s bytes)\n' "$out" "$size" "$(stat -c %s "$BIN_DIST/$arch/orderspot")"
    local max_ipk
    max_ipk=$(sed -n "s/^MAX_IPK$([ "$pkg" = orderspot ] || echo _HTTPS)=//p" tests/ipk.sh)
    if [ "$arch" = mips_24kc ] && [ -n "$max_ipk" ] && [ "$size" -gt "$max_ipk" ]; then
        echo "    WARNING: over the size budget for the mips_24kc package (tests/ipk.sh: $max_ipk bytes)" >&2
    fi

    build_apk "$arch" "$stage"
}

# build_apk <arch> <stage>: the .apk from the ipk's staged files and scripts,
# composed as package-pack.mk does when CONFIG_USE_APK is set.
build_apk() {
    local arch=$1 stage=$2 pkg version idir adir meta out f
    pkg=$PKG
    version=$(pkg_version)
    version=${version%-*}-r${version##*-}
    idir=$stage/apk-root
    adir=$stage/apk-scripts
    meta=$idir/lib/apk/packages
    cp -a "$stage/data" "$idir"
    mkdir -p "$adir" "$meta"
    chmod 0755 "$idir/lib/apk" "$meta"

    # post-install: default_postinst (uci-defaults, enable, start), then the
    # package's postinst part; post-upgrade: the same with PKG_UPGRADE=1.
    {
        echo '#!/bin/sh'
        echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
        echo '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0'
        echo '. ${IPKG_INSTROOT}/lib/functions.sh'
        echo 'export root="${IPKG_INSTROOT}"'
        echo "export pkgname=\"$pkg\""
        echo 'add_group_and_user'
        echo 'default_postinst'
        [ ! -f "$stage/control/postinst-pkg" ] || sed '/^\s*#!/d' "$stage/control/postinst-pkg"
    } >"$adir/post-install"
    {
        echo '#!/bin/sh'
        echo 'export PKG_UPGRADE=1'
        sed '/^\s*#!/d' "$adir/post-install"
    } >"$adir/post-upgrade"
    {
        echo '#!/bin/sh'
        echo '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0'
        echo '. ${IPKG_INSTROOT}/lib/functions.sh'
        echo 'export root="${IPKG_INSTROOT}"'
        echo "export pkgname=\"$pkg\""
        echo 'default_prerm'
        [ ! -f "$stage/control/prerm-pkg" ] || sed '/^\s*#!/d' "$stage/control/prerm-pkg"
    } >"$adir/pre-deinstall"
    local scripts=(--script "post-install:$adir/post-install" --script "post-upgrade:$adir/post-upgrade"
        --script "pre-deinstall:$adir/pre-deinstall")
    if [ -f "$stage/control/postrm" ]; then
        sed -z 's/^\s*#!/#!/' "$stage/control/postrm" >"$adir/post-deinstall"
        scripts+=(--script "post-deinstall:$adir/post-deinstall")
    fi

    # The file list default_postinst and default_prerm read, then the
    # conffiles as listed and those that are files with their sha256
    # (sysupgrade's list of conffiles on apk systems).
    (cd "$idir" && find . -type f,l -printf '/%P\n' | LC_ALL=C sort) >"$stage/$pkg.list"
    mv "$stage/$pkg.list" "$meta/$pkg.list"
    block conffiles | sed '/^[[:space:]]*$/d' >"$meta/$pkg.conffiles"
    # The users add_group_and_user creates (USERID; opkg reads Require-User).
    local users
    users=$(pkg_field USERID)
    [ -z "$users" ] || echo "$users" >"$meta/$pkg.rusers"
    while read -r f; do
        [ ! -f "$idir$f" ] || echo "$f $(sha256sum <"$idir$f" | cut -d' ' -f1)"
    done <"$meta/$pkg.conffiles" >"$meta/$pkg.conffiles_static"
    chmod 0644 "$meta"/*

    local depends provides=() desc
    depends=$({ depends_names; conflicts_names | grep -vxF -f <(provides_names; echo) | sed 's/^/!/'; } | paste -sd' ' -)
    [ -z "$(provides_names)" ] ||
        provides=(--info "provides:$(provides_names | sed "s/\$/=$version/" | paste -sd' ' -)")
    desc=$(block description | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//')
    out=$DIST/${pkg}-${version}_${arch}.apk
    rm -f "$out"
    # Owned by root on the router: apk records owners by name, so the files
    # must belong to uid 0 when packed (a user namespace when not root).
    local as_root=()
    [ "$(id -u)" = 0 ] || as_root=(unshare --map-root-user)
    SOURCE_DATE_EPOCH=$EPOCH "${as_root[@]}" "$APK" mkpkg \
        --info "name:$pkg" \
        --info "version:$version" \
        --info "description:$desc" \
        --info "arch:$arch" \
        --info "license:$(mk_var PKG_LICENSE)" \
        --info "origin:package/$(mk_var PKG_NAME)" \
        --info "url:$(pkg_field URL)" \
        --info "maintainer:$(mk_var PKG_MAINTAINER)" \
        "${scripts[@]}" \
        --info "depends:$depends" \
        "${provides[@]}" \
        --files "$idir" \
        --output "$out" || die "apk mkpkg failed for $arch"
    printf '    %s: %s bytes\n' "$out" "$(stat -c %s "$out")"
}

BUILD=1
while [ $# -gt 0 ]; do
    case $1 in
        --no-build) BUILD=0 ;;
        --https) PKG=orderspot-https BIN_DIST=$DIST/https ;;
        *) break ;;
    esac
    shift
done
case ${1-} in
    "" | -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    all) mapfile -t all < <(scripts/build.sh --list); set -- "${all[@]}" ;;
esac
EPOCH=$(epoch)
command -v zopfli >/dev/null || die "zopfli is missing (run scripts/setup-cross.sh)"
APK=$(scripts/apk-tools.sh) || die "no apk-tools to write the .apk (scripts/apk-tools.sh)"
mkdir -p "$WORK"
for arch in "$@"; do
    scripts/build.sh --list | grep -qx -- "$arch" || die "unknown architecture '$arch'"
    if [ $BUILD = 1 ]; then
        if [ "$PKG" = orderspot ]; then
            scripts/build.sh "$arch"
        else
            DIST=$BIN_DIST ORDERSPOT_CARGO_FLAGS="--features https ${ORDERSPOT_CARGO_FLAGS-}" scripts/build.sh "$arch"
        fi
    fi
    echo "==> package $PKG $arch"
    build_one "$arch"
done
