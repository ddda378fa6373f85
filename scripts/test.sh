#!/usr/bin/env bash
# Runs every test of the crate: unit tests, HTTP integration tests against the
# real binary, and the headless-Chromium page test. Installs what the tests
# need on a fresh Debian machine first (Chromium and its driver).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test.sh
# The tests use the same trimmed SQLite as the router builds, so SQL that
# needs an omitted feature fails here, not on a router.
. scripts/sqlite-env.sh
sqlite_host_env
cargo test --all-targets "$@"
# HTTPS (feature `https`, the orderspot-https package): its own test only,
# the rest of the crate is the same code.
cargo test --features https --test https
