#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# scopelock bench (not a test): the overhead of scopelockd on open, fork+exec,
# connect and HTTPS loops, side by side with auditd and libbpf-tools, in one
# run, printed as ratios to the unmonitored baseline. Raw results go to
# bench/results/<timestamp>.json. Run as root from anywhere:
#
#   bench/run.sh            # about 6-8 minutes
#   bench/run.sh --quick    # about 2 minutes
#   bench/run.sh --help     # every option
#
# Installs the Debian packages it needs (tools/deps.sh bench), builds
# scopelock (make) unless --no-build, builds the workloads into
# bench/results/.build with cc -O2, then runs bench/bench.py.
set -eu
cd "$(dirname "$0")/.."

build=1
for a in "$@"; do
	case "$a" in
	-h | --help) exec python3 bench/bench.py --help ;;
	--no-build) build=0 ;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (the daemon, auditd and the BPF tools need it)" >&2
	exit 1
fi
tools/deps.sh bench
if [ "$build" = 1 ]; then
	make -s all || {
		echo "bench: make failed: nothing measured" >&2
		exit 1
	}
fi

out=bench/results/.build
mkdir -p "$out"
cflags="-O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Ibench/workloads"
for w in openloop forkexec connloop tcpsink; do
	# shellcheck disable=SC2086
	cc $cflags -o "$out/$w" "bench/workloads/$w.c"
done
for w in tlsloop tlsserver; do
	# shellcheck disable=SC2086
	cc $cflags -o "$out/$w" "bench/workloads/$w.c" -lssl -lcrypto
done

exec python3 bench/bench.py "$@"
