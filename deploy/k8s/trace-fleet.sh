#!/usr/bin/env bash
# trace-fleet.sh: flip (or show) tracing on every sipwire pod at once.
#
# Each sipwire pod has its own trace switch; this runs `sipwire trace` against
# every running pod that matches a label selector and reports each pod's answer.
#
#   deploy/k8s/trace-fleet.sh on|off|status [-n NAMESPACE] [-l SELECTOR]
#                             [-c CONTAINER] [-m exec|port-forward]
#
# Modes:
#   exec (default)  `kubectl exec POD -- /sipwire trace on`: the binary in the pod
#                   talks to its own API on 127.0.0.1:8080 with the token the pod
#                   already has (SIPWIRE_WEB_TOKEN from the Secret). Needs the
#                   pods/exec permission; no token and no sipwire binary locally.
#   port-forward    `kubectl port-forward pod/POD :8080` per pod, then the local
#                   `sipwire trace -api http://127.0.0.1:PORT on`. Needs pods/portforward,
#                   a local sipwire binary (SIPWIRE_BIN, default: sipwire on PATH)
#                   and SIPWIRE_WEB_TOKEN in the local environment.
#
# The change lasts for the life of each pod; a pod started later takes trace_on
# from the ConfigMap. For a lasting change, edit trace_on there and roll out.
#
# Environment: KUBECTL (default kubectl), SIPWIRE_BIN (default sipwire).
# Exit status: 0 when every pod answered, 1 when any pod failed, 2 on bad usage.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2
	exit 2
}

action="${1:-}"
case "$action" in
on | off | status) shift ;;
*) usage ;;
esac

namespace=""
selector="app.kubernetes.io/name=sipwire"
container="sipwire"
mode="exec"
while getopts ":n:l:c:m:" opt; do
	case "$opt" in
	n) namespace="$OPTARG" ;;
	l) selector="$OPTARG" ;;
	c) container="$OPTARG" ;;
	m) mode="$OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
case "$mode" in
exec | port-forward) ;;
*) usage ;;
esac

kubectl_cmd=("${KUBECTL:-kubectl}")
if [[ -n "$namespace" ]]; then
	kubectl_cmd+=(--namespace "$namespace")
fi
sipwire_bin="${SIPWIRE_BIN:-sipwire}"

# `sipwire trace` prints the state; `sipwire trace on|off` sets it.
state_args=()
if [[ "$action" != status ]]; then
	state_args+=("$action")
fi

# Running pods only: a pending pod has no API to talk to yet.
mapfile -t pods < <("${kubectl_cmd[@]}" get pods --selector "$selector" \
	--field-selector status.phase=Running \
	--output 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')
if [[ ${#pods[@]} -eq 0 ]]; then
	echo "trace-fleet: no running pod matches $selector" >&2
	exit 1
fi

# run_exec POD: the pod's own binary, against its own loopback API.
run_exec() {
	"${kubectl_cmd[@]}" exec "$1" --container "$container" -- /sipwire trace "${state_args[@]}"
}

# run_port_forward POD: a port-forward on a free local port for the time of one call.
run_port_forward() {
	local pod="$1" log pf port="" tries=0 rc=0
	if [[ -z "${SIPWIRE_WEB_TOKEN:-}" ]]; then
		echo "SIPWIRE_WEB_TOKEN is not set" >&2
		return 1
	fi
	log="$(mktemp)"
	"${kubectl_cmd[@]}" port-forward "pod/$pod" ":8080" >"$log" 2>&1 &
	pf=$!
	# kubectl prints "Forwarding from 127.0.0.1:PORT -> 8080" once it listens.
	while [[ -z "$port" && $tries -lt 100 ]] && kill -0 "$pf" 2>/dev/null; do
		port="$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$log" | head -n 1)"
		tries=$((tries + 1))
		[[ -n "$port" ]] || sleep 0.1
	done
	if [[ -z "$port" ]]; then
		cat "$log" >&2
		rc=1
	else
		# Flags before the positional argument: Go's flag parsing stops at the first one.
		"$sipwire_bin" trace -api "http://127.0.0.1:$port" "${state_args[@]}" || rc=$?
	fi
	kill "$pf" 2>/dev/null || true
	wait "$pf" 2>/dev/null || true
	rm -f "$log"
	return "$rc"
}

runner=run_exec
if [[ "$mode" == port-forward ]]; then
	runner=run_port_forward
fi

failed=0
for pod in "${pods[@]}"; do
	if out="$("$runner" "$pod" 2>&1)"; then
		echo "$pod: $out"
	else
		echo "$pod: FAILED: $out" >&2
		failed=$((failed + 1))
	fi
done

echo "trace-fleet: ${#pods[@]} pod(s), $failed failed" >&2
[[ $failed -eq 0 ]]
