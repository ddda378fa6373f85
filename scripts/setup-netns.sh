#!/usr/bin/env bash
# Installs what tests/netns.sh and tests/hotspot.sh need on a Debian machine
# (as root): iproute2 (ip netns, veth, bridge), nftables, dig, curl, python3,
# and busybox (the hotspot script runs in the router's ash).
set -euo pipefail
missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v nft >/dev/null || missing+=(nftables)
command -v dig >/dev/null || missing+=(dnsutils)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
command -v busybox >/dev/null || missing+=(busybox)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
