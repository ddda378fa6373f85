#!/usr/bin/env bash
# CI for the router builds: installs the cross tools, cross-builds mips_24kc
# (big-endian; its sizes are the budget) and mipsel_24kc (little-endian),
# packages both as ipk (opkg) and apk (apk-tools v3, OpenWrt 25.12), runs
# the qemu smoke test of each binary and the package tests (tests/ipk.sh;
# tests/apk.sh: install, upgrade and removal with the real apk), and the same
# for the orderspot-https variant of mips_24kc (scripts/build-ipk.sh --https:
# the binary again with the https feature, about 4 minutes more on 2 cores,
# its qemu smoke test, tests/ipk.sh and tests/apk.sh --https, about 2).
# Idempotent; caches nothing outside target/ and dist/ beyond what
# scripts/setup-cross.sh installs. About 5 minutes on 2 cores from a cold
# target/, about 3 when nothing changed.
#
#   scripts/ci-cross.sh                              # mips_24kc mipsel_24kc
#   ORDERSPOT_CI_ARCHES=all scripts/ci-cross.sh      # the whole matrix (~12 min)
#   ORDERSPOT_CI_ARCHES="mipsel_24kc" scripts/ci-cross.sh
#   ORDERSPOT_CI_HTTPS_ARCHES="" scripts/ci-cross.sh   # without the https variant
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
t0=$SECONDS

arches=${ORDERSPOT_CI_ARCHES:-mips_24kc mipsel_24kc}
[ "$arches" = all ] && arches=$(scripts/build.sh --list | tr '\n' ' ')
https_arches=${ORDERSPOT_CI_HTTPS_ARCHES-mips_24kc}

echo "=== ci-cross: setup"
bash scripts/setup-cross.sh

echo "=== ci-cross: build and package: $arches"
# shellcheck disable=SC2086
bash scripts/build-ipk.sh $arches

if [ -n "$https_arches" ]; then
    echo "=== ci-cross: build and package orderspot-https: $https_arches"
    # shellcheck disable=SC2086
    bash scripts/build-ipk.sh --https $https_arches
fi

for arch in $arches; do
    echo "=== ci-cross: qemu smoke test $arch"
    bash scripts/smoke.sh "$arch"
done
for arch in $https_arches; do
    echo "=== ci-cross: qemu smoke test orderspot-https $arch"
    bash scripts/smoke.sh "$arch" "dist/https/$arch/orderspot"
done

echo "=== ci-cross: package tests"
# shellcheck disable=SC2086
ORDERSPOT_REQUIRE_IPK=1 bash tests/ipk.sh $arches
# shellcheck disable=SC2086
ORDERSPOT_REQUIRE_APK=1 bash tests/apk.sh $arches
if [ -n "$https_arches" ]; then
    # shellcheck disable=SC2086
    ORDERSPOT_REQUIRE_IPK=1 bash tests/ipk.sh --https $https_arches
    # shellcheck disable=SC2086
    ORDERSPOT_REQUIRE_APK=1 bash tests/apk.sh --https $https_arches
fi

echo "=== ci-cross: passed ($arches; orderspot-https: ${https_arches:-none}) in $((SECONDS - t0)) s"
