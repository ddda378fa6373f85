#!/usr/bin/env bash
# Prints the path of an `apk` (apk-tools v3.0.6, what OpenWrt 25.12 uses),
# building it first when it is not there yet:
#
#   APK=$(scripts/apk-tools.sh)
#
# Built from the vendored source (../shared/vendor/, or $ORDERSPOT_VENDOR;
# checked against its SHA256SUMS) with the options OpenWrt's host build uses,
# into target/apk-tools-3.0.6/ (about 15 s; nothing outside target/). Only
# the package build and its tests run it; nothing of it goes into a package.
# Needs meson, ninja, pkg-config and the OpenSSL and zlib headers
# (scripts/setup-cross.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
APK_TOOLS=apk-tools-3.0.6
VENDOR=${ORDERSPOT_VENDOR:-$ROOT/../shared/vendor}
# Not under $CARGO_TARGET_DIR: tests package again into scratch target dirs.
OUT=$ROOT/target/$APK_TOOLS
APK=$OUT/apk

die() { echo "apk-tools.sh: $*" >&2; exit 1; }

if [ ! -x "$APK" ]; then
    [ -f "$VENDOR/$APK_TOOLS.tar.gz" ] || die "no $VENDOR/$APK_TOOLS.tar.gz (set ORDERSPOT_VENDOR)"
    (cd "$VENDOR" && grep " $APK_TOOLS.tar.gz\$" SHA256SUMS | sha256sum -c --quiet -) ||
        die "$VENDOR/$APK_TOOLS.tar.gz does not match its SHA256SUMS"
    for tool in meson ninja pkg-config; do
        command -v "$tool" >/dev/null || die "$tool is missing (run scripts/setup-cross.sh)"
    done
    rm -rf "$OUT"
    mkdir -p "$OUT"
    tar -xzf "$VENDOR/$APK_TOOLS.tar.gz" -C "$OUT"
    # A static libapk, so the one binary is all there is to keep. VERSION
    # is unset: the source's get-version.sh would take it as apk's version.
    (
        unset VERSION
        cd "$OUT/$APK_TOOLS"
        meson setup "$OUT/build" --default-library=static \
            -Ddocs=disabled -Dhelp=disabled -Dlua=disabled -Dpython=disabled \
            -Dtests=disabled -Dzstd=disabled -Durl_backend=wget -Dcrypto_backend=openssl
        ninja -C "$OUT/build" src/apk
    ) >"$OUT/build.log" 2>&1 || { tail -n 20 "$OUT/build.log" >&2; die "building $APK_TOOLS failed ($OUT/build.log)"; }
    cp "$OUT/build/src/apk" "$APK.tmp"
    mv -f "$APK.tmp" "$APK"
fi
"$APK" --version | grep -q "^apk-tools 3\.0\.6," || die "$APK is not apk-tools 3.0.6"
echo "$APK"
