#!/bin/sh
# Build scopelock and run every test: cmocka unit tests, end-to-end tests on
# the real kernel (root, with the adversarial cases and the real agents of
# tests/agents), and a bounded fuzz run of every fuzz target.
# FUZZ_SECONDS (default 60) bounds the fuzz run.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh test
make -s
status=0
# the real AI coding agents (pinned in tests/agents/package.json) into a cache
# outside the repository; a no-op once installed. If it fails, the agent tests
# are reported as failed by the e2e runner (not retried there).
echo "== agents for tests/agents (npm install, cached)"
tests/agents/install.sh || status=1
export SL_AGENTS_INSTALL_TRIED=1
echo "== clang-format (kernel style)"
make -s format-check || status=1
echo "== the daemon's rooms (tools/depgraph.py)"
make -s depgraph || status=1
echo "== unit tests"
make -s unit || status=1
echo "== end-to-end tests"
SL_E2E_JOBS=${SL_E2E_JOBS:-2} tests/e2e/run.sh || status=1
if [ -x tests/fuzz/run.sh ]; then
	echo "== fuzz (every target in tests/fuzz/run.sh, ${FUZZ_SECONDS:-60}s each)"
	tests/fuzz/run.sh "${FUZZ_SECONDS:-60}" || status=1
fi
exit $status
