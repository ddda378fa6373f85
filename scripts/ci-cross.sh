#!/usr/bin/env bash
# CI for the router builds: installs the cross tools, cross-builds mips_24kc
# (big-endian; its sizes are the budget) and mipsel_24kc (little-endian),
# packages both as ipk (opkg) and apk (apk-tools v3, OpenWrt 25.12), runs
# the qemu smoke test of each binary and the package tests (tests/ipk.sh;
# tests/apk.sh: install, upgrade and removal with the real apk).
# Idempotent; caches nothing outside target/ and dist/ beyond what
# scripts/setup-cross.sh installs. About 5 minutes on 2 cores from a cold
# target/, about 3 when nothing changed.
#
#   scripts/ci-cross.sh                              # mips_24kc mipsel_24kc
#   ORDERSPOT_CI_ARCHES=all scripts/ci-cross.sh      # the whole matrix (~12 min)
#   ORDERSPOT_CI_ARCHES="mipsel_24kc" scripts/ci-cross.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
t0=$SECONDS

arches=${ORDERSPOT_CI_ARCHES:-mips_24kc mipsel_24kc}
[ "$arches" = all ] && arches=$(scripts/build.sh --list | tr '\n' ' ')

echo "=== ci-cross: setup"
bash scripts/setup-cross.sh

echo "=== ci-cross: build and package: $arches"
# shellcheck disable=SC2086
bash scripts/build-ipk.sh $arches

for arch in $arches; do
    echo "=== ci-cross: qemu smoke test $arch"
    bash scripts/smoke.sh "$arch"
done

echo "=== ci-cross: package tests"
# shellcheck disable=SC2086
ORDERSPOT_REQUIRE_IPK=1 bash tests/ipk.sh $arches
# shellcheck disable=SC2086
ORDERSPOT_REQUIRE_APK=1 bash tests/apk.sh $arches

echo "=== ci-cross: passed ($arches) in $((SECONDS - t0)) s"
