#!/usr/bin/env bash
# Builds OpenWrt's real `uci` CLI from ../shared/vendor (libubox + uci, see
# its README) into a cache directory and prints the path of the binary:
#
#   UCI=$(scripts/setup-uci.sh)
#   "$UCI" -c /tmp/config show network
#
# Installs the Debian build tools first when they are missing (as root:
# build-essential cmake pkg-config libjson-c-dev). Builds once per source
# hash, in about 20 s; later calls only print the path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=${ORDERSPOT_VENDOR:-$PWD/../shared/vendor}
[ -f "$VENDOR/uci.tar.gz" ] && [ -f "$VENDOR/libubox.tar.gz" ] ||
    { echo "setup-uci.sh: no libubox.tar.gz and uci.tar.gz in $VENDOR" >&2; exit 1; }

hash=$(cat "$VENDOR/libubox.tar.gz" "$VENDOR/uci.tar.gz" | sha256sum | cut -c1-16)
CACHE=${ORDERSPOT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orderspot}/uci-$hash
if [ -x "$CACHE/bin/uci" ]; then
    echo "$CACHE/bin/uci"
    exit 0
fi

missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -e /usr/include/json-c/json.h ] || missing+=(libjson-c-dev)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

(cd "$VENDOR" && sha256sum -c --ignore-missing --quiet SHA256SUMS) >&2
work=$(mktemp -d /tmp/orderspot-uci-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
tar -xzf "$VENDOR/libubox.tar.gz" -C "$work"
tar -xzf "$VENDOR/uci.tar.gz" -C "$work"
prefix=$work/prefix
{
    cmake -S "$work/libubox" -B "$work/libubox/build" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DBUILD_LUA=OFF -DBUILD_EXAMPLES=OFF
    cmake --build "$work/libubox/build" -j 2
    cmake --install "$work/libubox/build"
    cmake -S "$work/uci" -B "$work/uci/build" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="-I$prefix/include" \
        -DBUILD_LUA=OFF -DBUILD_STATIC=ON
    cmake --build "$work/uci/build" -j 2
} >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }

# The static CLI needs nothing from the build prefix at run time.
mkdir -p "$CACHE/bin"
install -m 0755 "$work/uci/build/uci" "$CACHE/bin/uci.tmp"
mv -f "$CACHE/bin/uci.tmp" "$CACHE/bin/uci"
echo "$CACHE/bin/uci"
