#!/usr/bin/env bash
# Builds helm at a pinned version from the Go module proxy (helm.sh/helm/v4
# has no replace directives, so `go install` builds it: 3 min of CPU, 26 min
# of wall time measured on 2 cores shared with other builds) and caches it outside the repository in
#   ${SCALED_HELM_CACHE:-$HOME/.cache/scaled/helm}/<version>/helm
# Needs only Go. Idempotent: a second run only checks the binary.
#
#   hack/helm/install.sh           build unless cached; print the binary's path on the last line
#   hack/helm/install.sh --check   print the path if it is built, else exit 1 (builds nothing)
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v4.3.2}
CACHE_ROOT=${SCALED_HELM_CACHE:-$HOME/.cache/scaled/helm}
OUT=$CACHE_ROOT/$HELM_VERSION
BIN=$OUT/helm
NICE=${NICE:-nice -n 10}
. "$(dirname "$0")/../lib/go-install.sh"

major=${HELM_VERSION%%.*}
# helm reads its own version from this variable; go install leaves the
# default (only major.minor) otherwise.
go_install_pinned "${1:-}" hack/helm "helm $HELM_VERSION" "$BIN" \
	"helm $HELM_VERSION is not built: run hack/helm/install.sh (or make helm)" \
	"helm.sh/helm/$major/cmd/helm@$HELM_VERSION" \
	"-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION"
"$BIN" version --short >&2
echo "$BIN"
