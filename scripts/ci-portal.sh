#!/usr/bin/env bash
# CI (as root): the captive portal's end-to-end test in network namespaces.
# A skip is a failure here. Takes well under a minute after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-netns.sh
cargo build --bin orderspot
ORDERSPOT_REQUIRE_NETNS=1 bash tests/netns.sh
