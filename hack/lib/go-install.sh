# Sourced by the install scripts of tools built from the Go module proxy
# (hack/helm, hack/victoriametrics). Needs only Go.
#
# go_install_pinned MODE TAG WHAT BIN HINT PACKAGE LDFLAGS
#   MODE     the calling script's first argument: --check only looks
#   TAG      the prefix of progress lines, e.g. hack/helm
#   WHAT     the tool and its version, e.g. "helm v4.3.2"
#   BIN      where the binary is cached; its name is the package's last element
#   HINT     what --check says when the binary is not built
#   PACKAGE  the package with its @version, for go install
#   LDFLAGS  its link flags
# With --check: prints BIN if it is built and exits 0, else prints HINT and
# exits 1. Otherwise builds PACKAGE into BIN unless it is there already.
go_install_pinned() {
	local mode=$1 tag=$2 what=$3 bin=$4 hint=$5 pkg=$6 ldflags=$7
	local out start
	out=$(dirname "$bin")
	if [ "$mode" = --check ]; then
		[ -x "$bin" ] || { echo "$hint" >&2; exit 1; }
		echo "$bin"
		exit 0
	fi
	if [ ! -x "$bin" ]; then
		mkdir -p "$out"
		start=$(date +%s)
		printf '[%s] building %s into %s (cold: minutes)\n' "$tag" "$what" "$out" >&2
		GOBIN=$out/tmp CGO_ENABLED=0 GOFLAGS=-buildvcs=false ${NICE:-nice -n 10} go install -trimpath -ldflags "$ldflags" "$pkg"
		mv "$out/tmp/$(basename "$bin")" "$bin"
		rmdir "$out/tmp"
		printf '[%s] built in %d s\n' "$tag" "$(($(date +%s) - start))" >&2
	fi
}
