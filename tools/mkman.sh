#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Build the man pages from their one source each (no text is written twice):
#   scopelock(1)         help2man on bin/scopelock, with every command's own --help
#   scopelockd(8)        help2man on bin/scopelockd
#   scopelock-policy(5)  lowdown on docs/policy.md
# usage: tools/mkman.sh OUTDIR   (after make; needs help2man and lowdown)
set -eu
out=${1:?usage: tools/mkman.sh OUTDIR}
cd "$(dirname "$0")/.."
for t in help2man lowdown; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "mkman: $t not found (apt-get install $t)" >&2
		exit 2
	}
done
mkdir -p "$out"
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT

# roff-safe, no-fill text of a command's --help
verbatim() {
	printf '.nf\n'
	sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
	printf '.fi\n'
}

{
	printf '[COMMANDS]\n'
	for c in run status metrics tail verify replay report policy approve deny end shutdown \
		checkpoint-setup; do
		printf '.SS %s\n' "$c"
		bin/scopelock "$c" --help | verbatim
	done
	printf '[FILES]\n'
	printf '.TP\n/run/scopelock/scopelock.sock\nthe control socket of scopelockd(8)\n'
	printf '[SEE ALSO]\nscopelockd(8), scopelock-policy(5)\n'
} >"$inc"
help2man --no-info --section 1 --include "$inc" \
	--name "run AI coding agents in kernel-monitored sessions" \
	--version-string "$(bin/scopelock --version | awk '{print $2}')" \
	--output "$out/scopelock.1" bin/scopelock

{
	printf '[FILES]\n'
	printf '.TP\n/var/log/scopelock\nthe audit log, the alerts file and the checkpoints\n'
	printf '.TP\n/var/lib/scopelock/checkpoint.key\nthe checkpoint sealing key\n'
	printf '[SEE ALSO]\nscopelock(1), scopelock-policy(5)\n'
} >"$inc"
help2man --no-info --section 8 --include "$inc" \
	--name "kernel-level monitor and enforcer for AI coding agents" \
	--version-string "$(bin/scopelockd --version | awk '{print $2}')" \
	--output "$out/scopelockd.8" bin/scopelockd

lowdown -s -Tman \
	-M title=scopelock-policy -M section=5 -M source=scopelock \
	-M "date=$(git log -1 --format=%cs -- docs/policy.md 2>/dev/null || date +%F)" \
	docs/policy.md |
	# the document's title becomes the NAME section whatis/apropos read (lexgrog)
	awk '!named && $0 == ".SH" {
		getline t
		if (t == "scopelock policy reference") {
			print ".SH NAME"; print "scopelock-policy \\- " t; print ".SH DESCRIPTION"
			named = 1; next
		}
		print; print t; next
	}
	{ print }' >"$out/scopelock-policy.5"
