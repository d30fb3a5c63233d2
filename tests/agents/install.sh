#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Install the real AI coding agents the tests in tests/agents drive, exactly as
# pinned in tests/agents/package.json + package-lock.json (the only place their
# versions are written), into a cache directory outside the repository:
#
#   $SL_AGENTS_CACHE/<key>/node_modules     (default /var/cache/scopelock-tests/agents)
#
# <key> is derived from the two pin files, so a re-run with the same pins is a
# no-op and a change of pins installs beside the old tree. Also creates the
# unprivileged user `agent` (useradd -m) the tests run the agents as.
# This is the only step of the test command that reaches a network (the npm
# registry); the tests themselves stay on loopback.
#
# usage: tests/agents/install.sh          install (or find) the agents; prints the directory
#        tests/agents/install.sh --dir    print the directory the pins map to (no install)
# Exit 0 when the agents are installed; 1 with a message naming what failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${SL_AGENTS_CACHE:-/var/cache/scopelock-tests/agents}
key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
dir=$cache/$key
stamp=$dir/installed.json
errfile=$cache/last-error.txt

say() { echo "agents: $*" >&2; }
die() {
	say "INSTALL FAILED: $*"
	mkdir -p "$cache" 2>/dev/null && printf '%s\n' "$*" >"$errfile" 2>/dev/null || true
	exit 1
}

if [ "${1:-}" = "--dir" ]; then
	echo "$dir"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "must run as root (creates the user 'agent' and $cache)"

# the user the agents run as
if ! id agent >/dev/null 2>&1; then
	useradd -m -s /bin/sh agent || die "useradd -m agent failed"
	say "created the unprivileged user 'agent'"
fi

if [ -f "$stamp" ]; then
	rm -f "$errfile"
	echo "$dir"
	exit 0
fi

# node >= 20 runs Gemini CLI (Claude Code and Codex are native executables);
# npm installs the lock
command -v node >/dev/null 2>&1 ||
	die "node is missing: install Node.js 20 or newer with npm (Debian: apt-get install nodejs npm; Debian 12's nodejs is 18, too old for Gemini CLI)"
nodever=$(node -p 'process.versions.node' 2>/dev/null) || die "node does not run ($(command -v node))"
[ "${nodever%%.*}" -ge 20 ] 2>/dev/null ||
	die "node $nodever at $(command -v node) is too old: @google/gemini-cli needs node >= 20 (engines), install Node.js 20 or newer"
command -v npm >/dev/null 2>&1 ||
	die "npm is missing (it comes with Node.js; Debian: apt-get install npm)"

mkdir -p "$cache"
chmod 755 "$cache" "$(dirname "$cache")" 2>/dev/null || true
exec 9>"$cache/.lock"
flock 9
if [ -f "$stamp" ]; then # installed by a concurrent run while we waited
	rm -f "$errfile"
	echo "$dir"
	exit 0
fi

registry=$(npm config get registry 2>/dev/null || echo "the npm registry")
say "installing the pinned agents from $registry into $dir"
new=$(mktemp -d "$cache/.new-$key-XXXXXX")
trap 'rm -rf "$new"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$new/"
t0=$(date +%s.%N)
# --ignore-scripts: nothing from the packages runs at install time (Claude
# Code's postinstall only copies its native binary over a stub: the tests run
# the native binary directly); npm ci fails when the lock does not match.
if ! (cd "$new" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
	--fetch-retries=1 --fetch-timeout=60000 --cache "$cache/npm-cache") >"$new/npm.log" 2>&1; then
	cp "$new/npm.log" "$cache/last-npm.log"
	code=$(sed -n 's/^npm error code \(.*\)/\1/p' "$new/npm.log" | head -n1)
	req=$(grep -m1 -o 'request to .*' "$new/npm.log" || true)
	case "$code" in
	ECONNREFUSED | ENOTFOUND | ETIMEDOUT | EAI_AGAIN | ECONNRESET | ENETUNREACH | EHOSTUNREACH | \
		*CERT* | *TLS* | ERR_SOCKET_TIMEOUT)
		die "the npm registry $registry is unreachable ($code${req:+: $req}); the agent tests cannot run without it (whole log: $cache/last-npm.log)" ;;
	esac
	die "npm ci from $registry failed (${code:-no error code}${req:+: $req}); whole log: $cache/last-npm.log"
fi
t1=$(date +%s.%N)

nm=$new/node_modules
claude=$nm/@anthropic-ai/claude-code-linux-x64/claude
codex=$nm/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex
gemini=$nm/@google/gemini-cli/bundle/gemini.js
for f in "$claude" "$codex" "$gemini"; do
	[ -f "$f" ] || die "npm ci succeeded but $f is missing (platform $(uname -m): only linux x86_64 is supported)"
done
pin() { node -p "require('$here/package.json').dependencies['$1']"; }
got() { node -p "require('$nm/$1/package.json').version"; }
for p in @anthropic-ai/claude-code @openai/codex @google/gemini-cli; do
	[ "$(got $p)" = "$(pin $p)" ] || die "$p installed as $(got $p), pinned $(pin $p)"
done
chmod -R a+rX "$new"
secs=$(awk "BEGIN{printf \"%.1f\", $t1 - $t0}")
cat >"$new/installed.json" <<EOF
{"key": "$key", "seconds": $secs, "node": "$nodever", "registry": "$registry",
 "claude_code": "$(pin @anthropic-ai/claude-code)", "codex": "$(pin @openai/codex)",
 "gemini_cli": "$(pin @google/gemini-cli)"}
EOF
rm -rf "$dir"
mv "$new" "$dir"
trap - EXIT
rm -f "$errfile" "$dir/npm.log"
rm -rf "$cache/npm-cache" # 260 MB of tarballs, not needed once installed
say "installed in ${secs}s: $dir"
echo "$dir"
