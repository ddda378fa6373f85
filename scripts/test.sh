#!/usr/bin/env bash
# Runs every test of the crate: unit tests, HTTP integration tests against the
# real binary, and the headless-Chromium page test. Installs what the tests
# need on a fresh Debian machine first (Chromium and its driver).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test.sh
cargo test --all-targets "$@"
