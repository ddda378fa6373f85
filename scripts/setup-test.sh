#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: Chromium and its
# WebDriver (chromedriver) for tests/browser.rs, and bindfs for tests/flash.rs
# (a FUSE mount without shared mmap, like a router's JFFS2), zbarimg and rsvg-convert
# for the QR tests (tests/tables.rs decodes the SVGs the server draws), the sqlite3 CLI
# for tests/crash.rs's integrity check, and python3-fusepy for
# tests/lossyfs.py (tests/power_loss.rs). Idempotent: does
# nothing when all are already installed, and refreshes the package lists only when the
# packages cannot be found in them. Needs root (or sudo) to install.
set -euo pipefail

packages=(chromium chromium-driver bindfs zbar-tools librsvg2-bin sqlite3 python3-fusepy)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-test: ${packages[*]} already installed"
    exit 0
fi

# Without a way to install, the browser and flash tests skip themselves
# with a notice; only CI (ORDERSPOT_REQUIRE_BROWSER=1) must have them.
cannot_install() {
    echo "setup-test: $1; the headless-Chromium and flash tests will be skipped" >&2
    if [ "${ORDERSPOT_REQUIRE_BROWSER:-}" = "1" ]; then
        exit 1
    fi
    exit 0
}

if ! command -v apt-get >/dev/null 2>&1; then
    cannot_install "apt-get not found; install ${missing[*]} yourself"
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        cannot_install "need root or sudo to install ${missing[*]}"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# apt-get update only when the lists do not know every package yet.
needs_update=0
for p in "${missing[@]}"; do
    candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        needs_update=1
    fi
done
if [ "$needs_update" -eq 1 ]; then
    echo "setup-test: apt-get update"
    "${SUDO[@]}" apt-get update -q
fi

echo "setup-test: installing ${missing[*]}"
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    # Stale lists (a superseded security update) make the download fail: refresh once and retry.
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
