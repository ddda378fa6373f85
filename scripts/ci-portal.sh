#!/usr/bin/env bash
# CI (as root): the captive portal's end-to-end test in network namespaces,
# and the hotspot set-up against the real uci with fw4-style rules
# (tests/hotspot.sh). A skip is a failure here. Takes well under a minute
# after the builds (uci: about 20 s, once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-netns.sh
cargo build --bin orderspot
ORDERSPOT_REQUIRE_NETNS=1 bash tests/netns.sh
ORDERSPOT_UCI=$(bash scripts/setup-uci.sh) ORDERSPOT_REQUIRE_NETNS=1 bash tests/hotspot.sh
