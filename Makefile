# scaled: one command checks everything (`make check`); `make test` is what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOLANGCI_LINT_VERSION ?= v2.15.0
# Integration suites start real components (Prometheus); `make test-short` skips them.
TEST_TAGS ?= integration
# vet and lint read every file, whatever suite it belongs to.
ALL_TAGS  ?= integration kube

.PHONY: build image release-check demo generate test prometheus victoriametrics test-victoriametrics helm chart chart-package test-kube test-short check fmt vet lint tidy-check bench bench-sim bench-fleet rules clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/scaled ./cmd/scaled

# The container image, without a Docker daemon or a registry (hack/image): the
# static binary, CA certificates and a non-root user on an empty base, for
# linux/amd64 and linux/arm64, as an OCI image layout in one tar file. Every
# timestamp is the last commit's, so the same commit gives the same image.
IMAGE_TAR         ?= bin/scaled-image.tar
IMAGE_PLATFORMS   ?= linux/amd64,linux/arm64
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image:
	$(GO) run ./hack/image -out $(IMAGE_TAR) -platforms $(IMAGE_PLATFORMS) \
	  -version $(VERSION) -commit $(COMMIT) -source-date-epoch $(SOURCE_DATE_EPOCH)

# GoReleaser (.goreleaser.yaml) at the version hack/goreleaser/go.mod pins:
# checks the config and builds the release binary for this machine into
# dist/ (20 s once built; building GoReleaser itself takes about 4 minutes of
# CPU the first time, which is why make check runs it and make test does not).
GORELEASER := $(GO) tool -modfile=hack/goreleaser/go.mod goreleaser
release-check:
	$(GORELEASER) check
	$(GORELEASER) build --snapshot --clean --single-target

# The real daemon loop on a recorded trace, on an in-memory target: no
# Prometheus, no cluster.
demo: build
	bin/scaled run --config examples/demo.yaml

# The Scaler CRD, from the Go types and the registered kinds (hack/crdgen);
# hack/crdgen's test fails when the committed files differ.
CRD_FILES := deploy/base/crd-scalers.yaml deploy/helm/scaled/crds/scalers.yaml
generate:
	$(GO) run ./hack/crdgen $(CRD_FILES)

# Everything, under the race detector, including the suites against real
# components. It installs what they need first, and a component that is
# missing fails the suites instead of skipping them. go test starts the
# packages in the order given: test/docs, the longest (the docs' commands on
# the full traces), goes first so that the others run beside it instead of
# after it.
test: prometheus victoriametrics chart test-kube
	SCALED_REQUIRE_PROMETHEUS=1 SCALED_REQUIRE_VICTORIAMETRICS=1 SCALED_REQUIRE_HELM=1 HELM_VERSION=$(HELM_VERSION) $(GO) test -race -tags '$(TEST_TAGS)' -timeout 20m ./test/docs ./...

# Debian's prometheus and promtool, for the integration suites and the alert
# rule tests (idempotent: only checks when they are there).
prometheus:
	sh hack/prometheus/install.sh

# VictoriaMetrics single-node, the second back end the source tests and one
# daemon test run against: built from the module proxy at a pinned version by
# hack/victoriametrics/install.sh and cached in
# ~/.cache/scaled/victoriametrics/<version>, then only checked. Cold (empty Go
# build cache): 264 s of wall time, 62 s of CPU, measured on 2 cores shared
# at a load average of 20-30; 13 s when Go's build cache already has it.
VM_VERSION ?= v1.151.0
victoriametrics:
	VM_VERSION=$(VM_VERSION) bash hack/victoriametrics/install.sh

# The integration suites that start a real Prometheus (internal/promtest),
# each run against VictoriaMetrics instead (SCALED_TEST_BACKEND; tests that
# name their back end, as the source's, still run both). Not part of make
# test, which runs Prometheus and the VictoriaMetrics source tests.
VM_PKGS ?= ./internal/promtest/ ./pkg/sources/ ./pkg/engine/ ./pkg/actuators/ ./cmd/scaled/
test-victoriametrics: prometheus victoriametrics
	SCALED_TEST_BACKEND=victoriametrics SCALED_REQUIRE_VICTORIAMETRICS=1 SCALED_REQUIRE_PROMETHEUS=1 $(GO) test -race -tags integration -timeout 20m $(VM_PKGS)

# helm, built from the module proxy at a pinned version by hack/helm/install.sh
# and cached in ~/.cache/scaled/helm/<version> (3 min of CPU cold).
HELM_VERSION ?= v4.3.2
helm:
	HELM_VERSION=$(HELM_VERSION) bash hack/helm/install.sh

# The chart passes helm lint --strict and packages (into a scratch folder, not
# the tree): a broken chart fails make test.
CHART := deploy/helm/scaled
chart: helm
	@helm=$$(HELM_VERSION=$(HELM_VERSION) bash hack/helm/install.sh --check) && \
	out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	"$$helm" lint --strict $(CHART) && \
	"$$helm" package $(CHART) --destination "$$out"

# The chart packaged for a release, into bin/chart/scaled-<version>.tgz (the
# release workflow attaches it; make chart checks the same in make test).
chart-package: helm
	@helm=$$(HELM_VERSION=$(HELM_VERSION) bash hack/helm/install.sh --check) && \
	"$$helm" lint --strict $(CHART) && \
	"$$helm" package $(CHART) --destination bin/chart

# The suites against a real Kubernetes control plane (kube-apiserver, etcd,
# kube-controller-manager, kube-scheduler, kwok, helm). hack/kube/install.sh
# builds the binaries once into ~/.cache/scaled/kube (about 12 minutes cold on
# 2 cores), then only checks them. Only packages with `kube` test files run
# here; test/kube, the longer, first.
KUBE_PKGS ?= ./test/kube/... ./pkg/actuators/...
test-kube: prometheus helm
	HELM_VERSION=$(HELM_VERSION) bash hack/kube/install.sh
	SCALED_REQUIRE_PROMETHEUS=1 $(GO) test -race -tags kube -timeout 20m $(KUBE_PKGS)

# Unit tests only: fast, no external components.
test-short:
	$(GO) test -short ./...

check: fmt vet lint tidy-check release-check test

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags '$(ALL_TAGS)' ./...

# golangci-lint is built from the module proxy at a pinned version; the
# linters it runs, and why, are in .golangci.yml.
lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run --build-tags '$(ALL_TAGS)' ./...

tidy-check:
	@cp go.mod /tmp/scaled.go.mod.bak && cp go.sum /tmp/scaled.go.sum.bak
	@$(GO) mod tidy && git diff --exit-code go.mod go.sum || (echo "go.mod/go.sum are not tidy: run go mod tidy"; cp /tmp/scaled.go.mod.bak go.mod; cp /tmp/scaled.go.sum.bak go.sum; exit 1)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.out

# A fleet on loopback: a real Prometheus, an exporter with N series and the
# built binary with N scalers in dry run (docs/performance.md). About four
# minutes per N; BENCH_FLEET_FLAGS=--n=50 --warmup=20s --run=30s for a quick look.
BENCH_FLEET_FLAGS ?= --n 1000,10000
bench-fleet: build prometheus
	nice $(GO) run ./hack/benchfleet --bin bin/scaled $(BENCH_FLEET_FLAGS)

# docs/benchmarks.md from `scaled simulate` on every public trace (needs jq;
# traces from testdata/traces, or SCALED_TRACES).
bench-sim:
	hack/bench-sim.sh

# The alert rules have one source, the Helm chart's files/rules.yaml; the
# kustomize component's PrometheusRule is made from it (test/deploy checks
# that it is current).
RULES     := deploy/helm/scaled/files/rules.yaml
RULES_CRD := deploy/components/monitoring/prometheusrule.yaml
rules:
	{ printf '%s\n' '# Made from $(RULES) by `make rules`: edit that file, not this one.' \
	  'apiVersion: monitoring.coreos.com/v1' 'kind: PrometheusRule' 'metadata:' '  name: scaled' 'spec:'; \
	  sed 's/^/  /' $(RULES); } > $(RULES_CRD)

clean:
	rm -rf bin bench.out
