#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60),
# starting from its committed seeds in fuzz/seeds/TARGET; new inputs go to
# a scratch directory, so the committed corpus stays small. A crash stops
# the script and leaves its input in fuzz/artifacts/TARGET/.
#
# `cargo fuzz run TARGET` works on these targets too; this script builds
# them the way cargo fuzz does (libFuzzer, sanitizer coverage, --cfg
# fuzzing, debug assertions and overflow checks) with plain cargo, so CI
# need not build cargo-fuzz itself (about 5.5 minutes here). The
# address sanitizer is left out: the crate forbids `unsafe`.
# RUSTC_BOOTSTRAP=1 lets this stable toolchain take the nightly flags.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

# The router's trimmed SQLite, as in scripts/test.sh.
. scripts/sqlite-env.sh
sqlite_host_env
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cdebug-assertions -Coverflow-checks"
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --manifest-path fuzz/Cargo.toml --release --bins --target "$host"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^orderspot-fuzz$')
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $targets; do
    mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
    echo "fuzz.sh: $target for ${seconds}s"
    # The progress lines are left out; the fuzzer's own status decides.
    if ! "fuzz/target/$host/release/$target" "$scratch/$target" "fuzz/seeds/$target" \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 2>&1 |
        { grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|.*panicked|.*Test unit written)' || true; }; then
        echo "fuzz.sh: $target failed; its input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "fuzz.sh: every target ran ${seconds}s without a failure"
