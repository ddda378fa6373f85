#!/usr/bin/env bash
# How much free flash each package in dist/ needs (the table in
# openwrt/README.md, "Free space"):
#
#   scripts/flash-need.sh              # every dist/orderspot_<version>_*.ipk
#   scripts/flash-need.sh mips_24kc    # just these architectures
#
# Columns: the download (ipk, apk; it goes to /tmp, which is RAM); what opkg
# demands free before it installs (Installed-Size, the unpacked bytes: opkg
# refuses when /overlay has less); and what the files really take on a
# JFFS2 overlay (NOR-flash routers), which compresses every 4 KiB page on its
# own: estimated by compressing each page with LZMA and with zlib, plus
# JFFS2's 68-byte node header per page.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST:-$PWD/dist}
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
release=$(sed -n 's/^PKG_RELEASE:=//p' openwrt/Makefile)

shopt -s nullglob
if [ $# -gt 0 ]; then
    ipks=()
    for a in "$@"; do ipks+=("$DIST/orderspot_${version}-${release}_$a.ipk"); done
else
    ipks=("$DIST/orderspot_${version}-${release}_"*.ipk)
fi
[ ${#ipks[@]} -gt 0 ] || { echo "flash-need.sh: no packages in $DIST (scripts/build-ipk.sh <arch>)" >&2; exit 1; }

printf '| arch | ipk | apk | opkg demands free (Installed-Size) | on JFFS2 (LZMA / zlib pages) |\n|---|---|---|---|---|\n'
for ipk in "${ipks[@]}"; do
    [ -f "$ipk" ] || { echo "flash-need.sh: missing $ipk" >&2; exit 1; }
    arch=$(basename "$ipk" .ipk)
    arch=${arch#orderspot_"$version-${release}"_}
    apk=$DIST/orderspot-${version}-r${release}_$arch.apk
    python3 - "$ipk" "$apk" "$arch" <<'PY'
import io, lzma, os, sys, tarfile, zlib
ipk, apk, arch = sys.argv[1:]
outer = tarfile.open(ipk)
control = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./control.tar.gz").read()))
fields = dict(l.split(": ", 1) for l in control.extractfile("./control").read().decode().splitlines() if ": " in l)
data = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./data.tar.gz").read()))
page, node = 4096, 68
lz = zl = 0
for m in data.getmembers():
    if not m.isfile():
        continue
    b = data.extractfile(m).read()
    for i in range(0, len(b), page):
        p = b[i:i + page]
        raw = lzma.compress(p, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1, "preset": 6, "dict_size": 65536}])
        lz += min(len(raw), len(p)) + node
        zl += min(len(zlib.compress(p, 9)), len(p)) + node
mb = lambda n: f"{n / 1e6:.2f} MB"
apk_size = mb(os.path.getsize(apk)) if os.path.exists(apk) else "-"
print(f"| `{arch}` | {mb(os.path.getsize(ipk))} | {apk_size} | {mb(int(fields['Installed-Size']))} | {mb(lz)} / {mb(zl)} |")
PY
done
