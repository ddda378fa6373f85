# shellcheck shell=bash
# Sourced by the scripts that build OrderSpot with its trimmed SQLite:
# SQLITE_FLAGS, the LIBSQLITE3_FLAGS for libsqlite3-sys, from
# openwrt/sqlite-options: its "-" lines, its "grammar" lines, and a marker
# naming the generated grammar (openwrt/sqlite-grammar) by its hash, which
# tells scripts/sqlite-cc to splice that grammar in and makes cargo build
# SQLite again when it changes. `sqlite_host_env` exports them with
# scripts/sqlite-cc as the host's C compiler, for cargo test and friends.
# SQLITE_GRAMMAR_OPTIONS: the options openwrt/sqlite-grammar is generated
# for, every SQLITE_OMIT_ option and the "grammar" lines.
SQLITE_GRAMMAR_OPTIONS=$(
    grep '^-DSQLITE_OMIT_' openwrt/sqlite-options
    sed -n 's/^grammar //p' openwrt/sqlite-options
)
SQLITE_GRAMMAR_OPTIONS=$(echo $SQLITE_GRAMMAR_OPTIONS)
SQLITE_FLAGS=$(
    grep -- '^-' openwrt/sqlite-options
    sed -n 's/^grammar //p' openwrt/sqlite-options
    echo "-DORDERSPOT_SQLITE_GRAMMAR=$(cat openwrt/sqlite-grammar/* | sha256sum | cut -c1-16)"
)
SQLITE_FLAGS=$(echo $SQLITE_FLAGS)

sqlite_host_env() {
    export LIBSQLITE3_FLAGS="$SQLITE_FLAGS" CC="$PWD/scripts/sqlite-cc"
}
