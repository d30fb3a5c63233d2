#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and run each for a bounded time over its seed corpus.
#
#   tests/fuzz/run.sh [SECONDS]      default 60 seconds per target
#
# Needs clang and libclang-rt-14-dev (libFuzzer, sanitizer runtimes),
# libyaml-dev, libssl-dev, libjansson-dev, and for reqdec libnghttp2-dev,
# libbrotli-dev, libzstd-dev, libhttp-parser-dev; for requests (the daemon's
# requests room, linked with .output/libscopelockd.a, built first with make)
# the daemon's build dependencies. FUZZ_TARGETS="reqdec" runs
# only the targets named. Exits non-zero when a target
# crashes, leaks, times out on an input, or fails to build; the input that
# did it is kept as .output/fuzz/<target>/crash-* (or leak-*, timeout-*).
# Seeds: tests/fuzz/corpus/<target>/ (read only); inputs found while running
# go to tests/fuzz/corpus-run/<target>/ (ignored by git).
set -eu

secs=${1:-60}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]  (a whole number of seconds, default 60)" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
CLANG=${CLANG:-clang}
targets=${FUZZ_TARGETS:-"policy globs verify jwriter proto reqdec checkpoint credfind credpos ingest requests"}

command -v "$CLANG" >/dev/null 2>&1 || {
	echo "fuzz: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
}

CFLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror \
	-Iinclude -Iuser/lib -Iuser/daemon"
LIBS="$(pkg-config --libs yaml-0.1 libcrypto jansson 2>/dev/null || echo -lyaml -lcrypto -ljansson)"

# library sources each target needs
srcs_policy="user/lib/policy.c user/lib/policy_schema.c user/lib/policy_envs.c \
	user/lib/policy_rules.c user/lib/policy_names.c user/lib/policy_errors.c \
	user/lib/policy_labels.c user/lib/policy_secrets.c user/lib/policy_yaml.c \
	user/lib/policy_outputs.c user/lib/policy_globs.c user/lib/util.c \
	user/lib/log.c"
# the wildcard-glob DFA against the reference matcher
srcs_globs="user/lib/policy_globs.c user/lib/policy_labels.c user/lib/policy_errors.c \
	user/lib/util.c user/lib/log.c"
srcs_verify="$(ls user/lib/audit*.c) user/lib/util.c user/lib/log.c user/lib/jsonbytes.c"
srcs_jwriter="user/lib/jwriter.c user/lib/jsonbytes.c"
srcs_proto="user/lib/proto.c user/lib/util.c user/lib/log.c"
srcs_checkpoint="user/lib/checkpoint.c $srcs_verify"
srcs_credfind="user/lib/credfind.c"
srcs_credpos="user/lib/credpos.c user/lib/redact.c"
# the daemon's decoders of ring buffer records (the ingest room, no other room)
srcs_ingest="user/daemon/ingest_exec.c user/daemon/ingest_file.c user/daemon/ingest_net.c \
	user/daemon/ingest_tls.c user/lib/jwriter.c user/lib/jsonbytes.c"
srcs_reqdec="$(ls user/lib/reqdec*.c) user/lib/jwriter.c user/lib/jsonbytes.c"
LIBS="$LIBS -lz $(pkg-config --libs libnghttp2 libbrotlidec libzstd 2>/dev/null ||
	echo -lnghttp2 -lbrotlidec -lzstd) -lhttp_parser -lpcre2-8 -lm"
# the requests room: it and the decoder instrumented, the other rooms and the
# library linked from the daemon's archives (built by make)
srcs_requests="user/daemon/requests.c $srcs_reqdec"
archives_requests=".output/libscopelockd.a .output/libscopelock.a"
libs_requests="$(pkg-config --libs libbpf libseccomp capstone libsystemd 2>/dev/null ||
	echo -lbpf -lseccomp -lcapstone -lsystemd) -lelf -lpthread"
cflags_requests="-Iuser/daemon -I.output"
dict_requests=reqdec

fail=0
for t in $targets; do
	out=.output/fuzz/$t
	run=tests/fuzz/corpus-run/$t
	seeds=tests/fuzz/corpus/$t
	mkdir -p "$out" "$run"
	eval "srcs=\$srcs_$t"
	eval "archives=\${archives_$t:-}"
	eval "libs=\${libs_$t:-}"
	eval "cflags=\${cflags_$t:-}"
	if [ -n "$archives" ] && ! make -s $archives; then
		echo "fuzz $t: make $archives failed" >&2
		fail=1
		continue
	fi
	echo "== fuzz $t: build"
	# shellcheck disable=SC2086
	if ! "$CLANG" $CFLAGS $cflags "tests/fuzz/fuzz_$t.c" $srcs $archives $LIBS $libs \
		-o "$out/fuzz_$t"; then
		echo "fuzz $t: build failed" >&2
		fail=1
		continue
	fi
	eval "dname=\${dict_$t:-$t}"
	dict=
	[ -f "tests/fuzz/$dname.dict" ] && dict="-dict=tests/fuzz/$dname.dict"
	echo "== fuzz $t: ${secs}s over $seeds"
	# shellcheck disable=SC2086
	if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$out/" $dict \
		"$run" "$seeds"; then
		echo "fuzz $t: FAILED (see $out/ for the input)" >&2
		fail=1
	else
		echo "fuzz $t: OK"
	fi
done
exit $fail
