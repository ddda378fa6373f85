#!/usr/bin/env bash
# The release source tarball the SDK feed Makefile (openwrt/Makefile) fetches
# by PKG_SOURCE and checks by PKG_HASH, as every feed package does:
#
#   scripts/release-tarball.sh            # dist/orderspot-<version>.tar.gz of HEAD, prints its sha256
#   scripts/release-tarball.sh v1.2.0     # of that tag or commit
#   scripts/release-tarball.sh --update   # the same, then writes PKG_VERSION, PKG_HASH and the
#                                         # commit (ORDERSPOT_COMMIT) into openwrt/Makefile
#   scripts/release-tarball.sh --check    # the tarball of ORDERSPOT_COMMIT has PKG_HASH
#
# Reproducible: `git archive` of a commit (every entry's mtime is the
# commit's time, owner 0) through `gzip -9n` (no name, no time stamp), so
# the same commit always gives the same bytes. Without openwrt/Makefile: the
# Makefile carries the tarball's hash and so cannot be inside it (it lives in
# the feed; everything else of openwrt/ the build does not read from the
# tarball either, but stays for reference).
#
# No vendored crates: the feed's rust-package.mk runs `cargo install
# --locked` with CARGO_HOME in the SDK's dl/ directory, so cargo fetches the
# crates Cargo.lock pins (each checked by the lock file's sha256) like any
# other download, and caches them there for offline rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
MK=openwrt/Makefile
DIST=${DIST:-$PWD/dist}

die() { echo "release-tarball.sh: $*" >&2; exit 1; }

mode=print
case ${1-} in
    --update) mode=update; shift ;;
    --check) mode=check; shift ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
rev=${1:-HEAD}
if [ $mode = check ]; then
    rev=$(sed -n 's/^ORDERSPOT_COMMIT:=//p' "$MK")
    [ -n "$rev" ] || die "$MK names no ORDERSPOT_COMMIT"
fi
commit=$(git rev-parse --verify "$rev^{commit}") || die "no commit '$rev'"
version=$(git show "$commit:Cargo.toml" | sed -n 's/^version *= *"\(.*\)"/\1/p' | head -n1)
[ -n "$version" ] || die "no version in Cargo.toml of $commit"

mkdir -p "$DIST"
out=$DIST/orderspot-$version.tar.gz
git archive --format=tar --prefix="orderspot-$version/" "$commit" -- . ":(exclude)$MK" |
    gzip -9n >"$out.tmp"
mv -f "$out.tmp" "$out"
hash=$(sha256sum "$out" | cut -d' ' -f1)

case $mode in
    print) echo "$hash  $out" ;;
    update)
        sed -i -e "s/^PKG_VERSION:=.*/PKG_VERSION:=$version/" \
            -e "s/^PKG_HASH:=.*/PKG_HASH:=$hash/" \
            -e "s/^ORDERSPOT_COMMIT:=.*/ORDERSPOT_COMMIT:=$commit/" "$MK"
        echo "$hash  $out (written to $MK)"
        ;;
    check)
        want=$(sed -n 's/^PKG_HASH:=//p' "$MK")
        [ "$(sed -n 's/^PKG_VERSION:=//p' "$MK")" = "$version" ] ||
            die "$MK: PKG_VERSION is not $version (Cargo.toml of $commit)"
        [ "$hash" = "$want" ] || die "$MK: PKG_HASH $want, but the tarball of $commit has $hash"
        echo "$hash  $out matches $MK"
        ;;
esac
