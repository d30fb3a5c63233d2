#!/bin/sh
# Build scopelock and start scopelockd in the foreground with the shipped
# default policy and the default paths (audit log in /var/log/scopelock,
# socket /run/scopelock/scopelock.sock). Extra arguments go to scopelockd.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh build
make -s
exec ./bin/scopelockd --policy policies/default.yaml "$@"
