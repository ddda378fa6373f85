#!/usr/bin/env bash
# What the bytes of the router binary are: prints a Markdown report of the
# real binary and package sizes and the cost of each library and crate.
#
#   scripts/size-report.sh                 # mips_24kc (the size budget's target)
#   scripts/size-report.sh mipsel_24kc     # any architecture scripts/build.sh knows
#
# Two builds, both with scripts/build.sh's cross set-up:
#   - the shipped one (scripts/build-ipk.sh): binary and ipk sizes and the
#     binary's sections, the figures tests/ipk.sh's budget checks;
#   - the same build unstripped, in target/size-report/. Its symbol table,
#     matched against the symbols of the C libraries linked in, gives the
#     size of each (SQLite, musl, compiler-rt, ...) and of all Rust code;
#     cargo-bloat (cargo install cargo-bloat) splits the Rust code by crate
#     from the symbols' paths. Its figures are estimates: generic code is
#     counted in the crate that instantiates it, so orderspot's includes
#     much of hyper, tokio and serde.
# Both are release builds: about 5 minutes each on 2 cores, less when cargo
# has them cached.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCH=${1:-mips_24kc}
DIST=${DIST:-$ROOT/dist}
REPORT_DIR=$ROOT/target/size-report

die() { echo "size-report.sh: $*" >&2; exit 1; }
command -v cargo-bloat >/dev/null || die "cargo-bloat is missing: cargo install cargo-bloat"
scripts/build.sh --list | grep -qx -- "$ARCH" || die "unknown architecture '$ARCH'"

# The shipped binary and package.
scripts/build-ipk.sh "$ARCH" >&2
bin=$DIST/$ARCH/orderspot
ipk=$(ls -t "$DIST"/orderspot_*_"$ARCH".ipk | head -n1)

# The unstripped twin.
mkdir -p "$REPORT_DIR"
json=$REPORT_DIR/$ARCH-bloat.json
CARGO_TARGET_DIR=$REPORT_DIR CARGO_PROFILE_RELEASE_STRIP=false \
    scripts/build.sh --cargo "$ARCH" bloat --crates -n 0 --message-format json >"$json"
rust_target=$(awk -v a="$ARCH" '$1 == a { print $2 }' <(sed -n '/^TARGETS="/,/^"/p' scripts/build.sh))
unstripped=$REPORT_DIR/$rust_target/release/orderspot

echo "## $ARCH, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
printf '| file | bytes |\n|---|---|\n'
printf '| binary (stripped, as shipped) | %s |\n' "$(stat -c %s "$bin")"
printf '| ipk | %s |\n' "$(stat -c %s "$ipk")"
size -A "$bin" | awk '$1 ~ /^\.(text|rodata|data|eh_frame|eh_frame_hdr)$/ { printf "| section %s | %s |\n", $1, $2 }'
echo

# Every symbol of the unstripped binary, attributed to the library that
# defines a symbol of that name: SQLite's archive, and the C runtime Zig
# built (musl, its own libc parts, compiler-rt, libunwind); mangled names
# are Rust's. Exact up to a static C function whose name two libraries share.
echo "Code and constants by library (from the symbol table):"
echo
printf '| library | `.text` KiB | `.rodata` KiB |\n|---|---|---|\n'
libs=()
for a in "$REPORT_DIR"/"$rust_target"/release/build/libsqlite3-sys-*/out/libsqlite3.a \
    "$REPORT_DIR"/cross/zig-cache/o/*/lib{c,zigc,compiler_rt,unwind,ubsan_rt}.a; do
    [ -f "$a" ] && libs+=("$a")
done
python3 - "$unstripped" "${libs[@]}" <<'PY'
import re, subprocess, sys
def symbols(path):
    out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            yield parts[3], int(parts[1], 16), parts[2].lower(), parts[0]
        elif len(parts) == 3 and not parts[0].endswith(":"):
            yield parts[2], None, parts[1].lower(), parts[0]
names = {
    "libsqlite3.a": "SQLite (C, bundled by libsqlite3-sys)",
    "libc.a": "musl libc (built by Zig)",
    "libzigc.a": "Zig's libc parts",
    "libcompiler_rt.a": "compiler-rt (Zig)",
    "libunwind.a": "libunwind (Zig)",
    "libubsan_rt.a": "UBSan runtime (Zig)",
}
owner = {}
for lib in sys.argv[2:]:
    label = names[lib.rsplit("/", 1)[-1]]
    for name, _, _, _ in symbols(lib):
        owner.setdefault(name, label)
sizes, seen = {}, set()
for name, size, kind, address in symbols(sys.argv[1]):
    # Functions merged by LLVM keep every name, at one address.
    if not size or kind not in "tr" or address in seen:
        continue
    seen.add(address)
    if name in owner:
        label = owner[name]
    elif re.match(r"_ZN|_R|__rust|rust_", name):
        label = "Rust: std and every crate"
    else:
        label = "other"
    row = sizes.setdefault(label, {"t": 0, "r": 0})
    row[kind] += size
sections = {}
for line in subprocess.run(["size", "-A", sys.argv[1]], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[0] in (".text", ".rodata"):
        sections[parts[0][1]] = int(parts[1])
sizes["without a symbol: literals, embedded templates, CSS, JS, catalogues"] = {
    k: sections.get(k, 0) - sum(row[k] for row in sizes.values()) for k in "tr"
}
for label, row in sorted(sizes.items(), key=lambda kv: -kv[1]["t"] - kv[1]["r"]):
    print(f"| {label} | {row['t'] / 1024:.1f} | {row['r'] / 1024:.1f} |")
PY
echo

echo "Rust code by crate (cargo-bloat, estimates; its [Unknown] is the C code):"
echo
printf '| crate | `.text` KiB |\n|---|---|\n'
python3 - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
for crate in sorted(data["crates"], key=lambda c: -c["size"]):
    if crate["size"] >= 2048:
        print(f"| {crate['name']} | {crate['size'] / 1024:.1f} |")
PY
