#!/usr/bin/env bash
# sipwire load benchmark, one command:  sudo bash deploy/bench/run.sh [flags]
#
# Installs SIPp (sip-tester) and Kamailio from Debian when missing, builds
# sipwire and the benchmark driver (this folder, Go), and runs the driver in
# a network namespace of its own. The report goes to deploy/bench/results.md
# (and stdout); logs and SIPp statistics to a folder under /tmp.
# Flags go to the driver: -quick (a 3-minute smoke run), -forwarders a,b,c,d,
# -rounds N, -no-ramp, -out FILE; see `go run ./deploy/bench -h`.
# sudo SIPWIRE_BEFORE=<git revision> bash run.sh also builds sipwire at that revision for the
# forwarders "X:before" (-forwarders a,b-tcp,a:before,b-tcp:before): a change
# measured against the code before it, in the same run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root (apt-get, unshare -n, namespace sysctls): sudo bash $0 $*" >&2
	exit 1
fi

missing=()
command -v sipp >/dev/null || missing+=(sip-tester)
command -v kamailio >/dev/null || missing+=(kamailio) # siptrace.so is part of it
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v sysctl >/dev/null || missing+=(procps)
if [ ${#missing[@]} -gt 0 ]; then
	echo "run.sh: installing ${missing[*]}" >&2
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# sudo's secure_path usually lacks Go.
if ! command -v go >/dev/null; then
	for g in /usr/local/go/bin /usr/lib/go/bin "${SUDO_USER:+$(getent passwd "$SUDO_USER" | cut -d: -f6)/go/bin}"; do
		[ -n "$g" ] && [ -x "$g/go" ] && PATH="$g:$PATH" && break
	done
fi
command -v go >/dev/null || { echo "run.sh: Go (1.26) is needed to build sipwire" >&2; exit 1; }

work=$(mktemp -d /tmp/sipwire-bench.XXXXXX)
echo "run.sh: building into $work" >&2
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/sipwire" ./cmd/sipwire && go build -o "$work/bench" ./deploy/bench)
version=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
before=()
if [ -n "${SIPWIRE_BEFORE:-}" ]; then
	mkdir "$work/before-src"
	git -C "$repo" archive "$SIPWIRE_BEFORE" | tar -x -C "$work/before-src"
	(cd "$work/before-src" && CGO_ENABLED=0 go build -o "$work/sipwire-before" ./cmd/sipwire)
	before=(-sipwire-before "$work/sipwire-before" -sipwire-before-version "$(git -C "$repo" rev-parse --short "$SIPWIRE_BEFORE")")
fi

# The namespace has its own loopback, ports and TIME_WAIT table: -t tn
# leaves thousands of client ports in TIME_WAIT, and the fixed ports
# (5060, 5070, 9060, 4318, 8080) cannot clash with the machine's.
exec unshare -n -- bash -c '
	ip link set lo up
	sysctl -q -w net.ipv4.tcp_max_tw_buckets=4096 net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
	exec "$@"' bench \
	"$work/bench" -bench-dir "$here" -sipwire "$work/sipwire" -work "$work" -out "$here/results.md" \
	-sipwire-version "$version" -command "sudo ${SIPWIRE_BEFORE:+SIPWIRE_BEFORE=$SIPWIRE_BEFORE }bash deploy/bench/run.sh${*:+ $*}" "${before[@]}" "$@"
