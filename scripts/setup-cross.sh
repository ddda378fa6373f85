#!/usr/bin/env bash
# Installs what cross-building and testing the router binaries needs on a
# fresh Debian machine; idempotent (installs only what is missing) and uses
# only the package registries and the Rust toolchain's own components:
#   - rust-src (the standard library's sources, for -Zbuild-std);
#   - Zig from its PyPI package (ziglang): C compiler for the bundled SQLite,
#     musl libc and linker for every target;
#   - Debian: qemu-user-static (runs MIPS/ARM binaries), binutils-multiarch
#     (objcopy for every architecture), file, zopfli (smaller gzip for the
#     ipk), busybox (ash, the shell of OpenWrt's scripts, for tests/ipk.sh),
#     python3 (smoke test client); meson, ninja-build, pkg-config, libssl-dev,
#     zlib1g-dev (to build apk-tools v3 from ../shared/vendor/, which writes
#     and tests the .apk for OpenWrt 25.12: scripts/apk-tools.sh).
set -euo pipefail

ZIG_VERSION=${ZIG_VERSION:-0.17.1}

# Debian packages
need=()
for p in qemu-user-static binutils-multiarch file zopfli busybox \
    meson ninja-build pkg-config libssl-dev zlib1g-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
command -v python3 >/dev/null || need+=(python3 python3-pip)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup-cross: apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Rust: the standard library's sources for -Zbuild-std
if ! rustup component list --installed 2>/dev/null | grep -qx 'rust-src'; then
    rustup component add rust-src
fi

# Zig from PyPI
if [ "$(python3 -m ziglang version 2>/dev/null)" != "$ZIG_VERSION" ]; then
    echo "setup-cross: pip install ziglang==$ZIG_VERSION"
    python3 -m pip --version >/dev/null 2>&1 || python3 -m ensurepip --upgrade >/dev/null 2>&1 || true
    python3 -m pip install -q "ziglang==$ZIG_VERSION" ||
        python3 -m pip install -q --break-system-packages "ziglang==$ZIG_VERSION"
fi

echo "setup-cross: ready (zig $(python3 -m ziglang version), $(rustc --version)," \
    "$(qemu-mipsel-static --version | head -n1))"
