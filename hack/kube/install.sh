#!/usr/bin/env bash
# Installs the Kubernetes peers the `kube` test suites run (internal/kubetest):
#   - etcd from Debian (etcd-server),
#   - kube-apiserver, kube-controller-manager, kube-scheduler built from the Go
#     module proxy (k8s.io/kubernetes plus its staging modules, CGO_ENABLED=0),
#   - kwok (fake nodes) and its default stage configs,
#   - helm (for `helm template` and `helm lint` of deploy/helm/scaled), from
#     hack/helm/install.sh.
# Binaries are cached outside the repository, keyed by version, in
#   ${SCALED_KUBE_CACHE:-$HOME/.cache/scaled/kube}/<version>/
# so only the first run pays for the build (about 12 minutes on 2 cores).
# Idempotent: a second run only prints what is there.
#
# Prints the cache folder on its last line; internal/kubetest finds the same
# folder through SCALED_KUBE_CACHE or the default above.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
STAGING_VERSION=${STAGING_VERSION:-v0.37.2}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE_ROOT=${SCALED_KUBE_CACHE:-$HOME/.cache/scaled/kube}
OUT=$CACHE_ROOT/$KUBE_VERSION
NICE=${NICE:-nice -n 10}

mkdir -p "$OUT"
export CGO_ENABLED=0
export GOFLAGS=-buildvcs=false

log() { printf '[hack/kube] %s\n' "$*" >&2; }

# etcd: Debian's etcd-server works with kube-apiserver 1.37.
if ! command -v etcd >/dev/null 2>&1; then
	log "installing etcd-server (Debian)"
	SUDO=
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
	$SUDO apt-get update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends etcd-server openssl
fi
ln -sf "$(command -v etcd)" "$OUT/etcd"

# Control plane: a scratch module (outside the repository) that requires
# k8s.io/kubernetes and replaces every staging module, as listed in that
# module's own go.mod, with the published module at STAGING_VERSION.
need_build=0
for b in kube-apiserver kube-controller-manager kube-scheduler; do
	[ -x "$OUT/$b" ] || need_build=1
done
if [ "$need_build" = 1 ]; then
	SRC=$OUT/src
	mkdir -p "$SRC"
	start=$(date +%s)
	log "building the control plane $KUBE_VERSION in $SRC (cold: ~12 min)"
	gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	goversion=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -n1)
	{
		echo "module scaled.local/kubebuild"
		echo
		echo "go $goversion"
		echo
		echo "require k8s.io/kubernetes $KUBE_VERSION"
		echo
		echo "replace ("
		sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/src/.*$#\t\1 => \1 '"$STAGING_VERSION"'#p' "$gomod"
		echo ")"
	} >"$SRC/go.mod"
	cat >"$SRC/tools.go" <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
	(cd "$SRC" && GOFLAGS="$GOFLAGS -tags=tools" go mod tidy -e >/dev/null 2>&1 || true)
	for b in kube-apiserver kube-controller-manager kube-scheduler; do
		if [ ! -x "$OUT/$b" ]; then
			log "go build $b"
			(cd "$SRC" && $NICE go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION" -o "$OUT/$b.tmp" "k8s.io/kubernetes/cmd/$b")
			mv "$OUT/$b.tmp" "$OUT/$b"
		fi
	done
	end=$(date +%s)
	log "control plane built in $((end - start)) s"
	echo "$((end - start))" >"$OUT/build-seconds"
fi

# kwok and its default stage configs (kwok refuses to start without them).
if [ ! -x "$OUT/kwok" ]; then
	log "go install kwok $KWOK_VERSION"
	GOBIN=$OUT $NICE go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
# One multi-document file per stage set, without the kustomization files.
stages() {
	for f in "$1"/*.yaml; do
		case "$(basename "$f")" in kustomization.yaml) continue ;; esac
		echo "---"
		cat "$f"
	done
}
if [ ! -f "$OUT/kwok-stages/.v2" ]; then
	dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	mkdir -p "$OUT/kwok-stages"
	stages "$dir/kustomize/stage/node/fast" >"$OUT/kwok-stages/node-fast.yaml"
	stages "$dir/kustomize/stage/node/heartbeat-with-lease" >"$OUT/kwok-stages/node-heartbeat-with-lease.yaml"
	stages "$dir/kustomize/stage/pod/fast" >"$OUT/kwok-stages/pod-fast.yaml"
	touch "$OUT/kwok-stages/.v2"
fi

# helm: built and cached by hack/helm/install.sh at its pinned version;
# linked here for the suites that find their tools in this folder.
helm=$(bash "$(dirname "$0")/../helm/install.sh" | tail -n1)
ln -sf "$helm" "$OUT/helm"

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok helm; do
	[ -x "$OUT/$b" ] || { log "missing $OUT/$b"; exit 1; }
done
"$OUT/kube-apiserver" --version >&2
echo "$OUT"
