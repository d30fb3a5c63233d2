#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# make deb: build the Debian package (debian/, dpkg-buildpackage) in a copy
# of the tree, OUT/src (the tree's tracked and new files; the copy's own
# build outputs are kept, so a second build is incremental), then check it
# with lintian (fails on errors and warnings; overrides in
# debian/scopelock.lintian-overrides, each with its reason).
#   tools/mkdeb.sh [OUT]        OUT: .output/deb; the .deb is OUT/scopelock_*.deb
#   DEB_BUILD_OPTIONS=nocheck   skip the unit tests during the build
#   SL_DEB_NO_LINTIAN=1         skip lintian
set -eu
out=${1:-.output/deb}
cd "$(dirname "$0")/.."
for t in dpkg-buildpackage dh lintian git; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "mkdeb: $t not found (tools/deps.sh test installs dpkg-dev, debhelper, lintian)" >&2
		exit 2
	}
done
mkdir -p "$out/src"
out=$(cd "$out" && pwd)
src=$out/src
find "$src" -mindepth 1 -maxdepth 1 ! -name .output ! -name bin -exec rm -rf {} +
git ls-files -z -co --exclude-standard |
	tar -c --null --ignore-failed-read -T - -f - 2>/dev/null | tar -x -C "$src" -f -
rm -f "$out"/scopelock_*.deb "$out"/scopelock_*.changes "$out"/scopelock_*.buildinfo \
	"$out"/scopelock-dbgsym_*.deb
(cd "$src" && dpkg-buildpackage -us -uc -b -nc >"$out/build.log" 2>&1) || {
	tail -40 "$out/build.log" >&2
	echo "mkdeb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
}
deb=$(ls "$out"/scopelock_*_amd64.deb)
if [ -z "${SL_DEB_NO_LINTIAN:-}" ]; then
	lintian --fail-on error,warning --info --display-level '>=warning' "$deb" "$out"/scopelock_*.changes
fi
echo "$deb"
