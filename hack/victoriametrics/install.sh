#!/usr/bin/env bash
# Builds VictoriaMetrics single-node at a pinned version from the Go module
# proxy (github.com/VictoriaMetrics/VictoriaMetrics has no replace directives,
# so `go install` builds it: 264 s of wall time and 62 s of CPU cold, measured
# on 2 cores shared with other builds; later versions need a newer Go than the
# project's) and caches it outside the repository in
#   ${SCALED_VICTORIAMETRICS_CACHE:-$HOME/.cache/scaled/victoriametrics}/<version>/victoria-metrics
# Needs only Go. Idempotent: a second run only checks the binary.
#
#   hack/victoriametrics/install.sh           build unless cached; print the binary's path on the last line
#   hack/victoriametrics/install.sh --check   print the path if it is built, else exit 1 (builds nothing)
set -euo pipefail

VM_VERSION=${VM_VERSION:-v1.151.0}
CACHE_ROOT=${SCALED_VICTORIAMETRICS_CACHE:-$HOME/.cache/scaled/victoriametrics}
OUT=$CACHE_ROOT/$VM_VERSION
BIN=$OUT/victoria-metrics
NICE=${NICE:-nice -n 10}
. "$(dirname "$0")/../lib/go-install.sh"

# The binary prints this as its version (-version, /metrics vm_app_version).
go_install_pinned "${1:-}" hack/victoriametrics "victoria-metrics $VM_VERSION" "$BIN" \
	"victoria-metrics $VM_VERSION is not built: run hack/victoriametrics/install.sh (or make victoriametrics)" \
	"github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$VM_VERSION" \
	"-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-$VM_VERSION"
"$BIN" -version >&2
echo "$BIN"
