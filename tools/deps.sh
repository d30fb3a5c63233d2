#!/bin/sh
# Install the Debian 12 packages scopelock needs, only those missing.
#   tools/deps.sh build   compiler, libbpf, bpftool and the libraries
#   tools/deps.sh test    build + unit/e2e/fuzz test tools and TLS clients
#   tools/deps.sh bench   test + the peer tools benchmarks compare against
set -eu

build="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libjansson-dev libyaml-dev libssl-dev libseccomp-dev libnghttp2-dev libbrotli-dev libzstd-dev
libhttp-parser-dev libcapstone-dev libpcre2-dev libsystemd-dev libcurl4-openssl-dev help2man lowdown"
test="$build clang-format zstd libcmocka-dev libclang-rt-14-dev curl git nodejs openssl python3 ca-certificates
iproute2 procps golang-go python3-websockets python3-prometheus-client
bash-completion zsh groff-base man-db systemd libgnutls28-dev rsyslog
dpkg-dev debhelper lintian debootstrap"
bench="$test auditd libbpf-tools hyperfine"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
