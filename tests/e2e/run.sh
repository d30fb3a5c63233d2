#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# scopelock end-to-end tests: real kernel, root, a real daemon per test.
# usage: tests/e2e/run.sh [-k NAME_SUBSTRING]... [-j JOBS] [--keep] [--list] [--pending]
# `make e2e` builds first and runs this. Installs the Debian packages of the
# clients the tests drive when their binaries are missing; the runner installs
# the real agents (tests/agents/install.sh) when an agent test is selected.
set -u
cd "$(dirname "$0")/../.." || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "e2e: must run as root (BPF, cgroups)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

missing=()
for pair in /usr/bin/curl:curl /usr/bin/git:git /usr/bin/node:nodejs \
	/usr/bin/openssl:openssl /usr/bin/python3:python3; do
	[ -x "${pair%%:*}" ] || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "e2e: installing missing packages: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq "${missing[@]}" >&2 ||
		echo "e2e: apt-get install ${missing[*]} failed; the tests that need them will fail" >&2
fi

if [ ! -x /usr/bin/python3 ]; then
	echo "e2e: /usr/bin/python3 is missing (apt-get install -y python3)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

exec /usr/bin/python3 tests/e2e/lib/runner.py "$@"
