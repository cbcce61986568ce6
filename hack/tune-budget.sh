#!/usr/bin/env bash
# How scaled tune's result improves with its budget (docs/benchmarks.md,
# "scaled tune on the public traces"): one cell of hack/tune-cells.sh
# (tune on the first 70 % of a trace, score on the last 30 %) at each
# budget.
#
#   hack/tune-budget.sh                                   # NASA at 3m
#   TRACE=worldcup98 S=1m BUDGETS="10s 60s" hack/tune-budget.sh
#
# Prints one markdown row per budget: candidates evaluated, the held-out
# part of the tune's own split, and the last 30 % of the whole trace
# against the HPA at u=0.6. Needs jq. Not run by make test.
set -euo pipefail

cd "$(dirname "$0")/.."
SCALED_TRACES=${SCALED_TRACES:-testdata/traces}
TRACE=${TRACE:-nasa_http_aug95}
S=${S:-3m}
BUDGETS=${BUDGETS:-10s 30s 60s 300s}
SEED=${SEED:-1}
BIN=${BIN:-bin/scaled}
OUT=${OUT:-$(mktemp -d)}
go build -o "$BIN" ./cmd/scaled
command -v jq >/dev/null || { echo "tune-budget: jq is required" >&2; exit 1; }

full="$SCALED_TRACES/$TRACE.csv"
rows=$(($(wc -l <"$full") - 1))
keep=$((rows * 70 / 100))
head -n $((keep + 1)) "$full" >"$OUT/first70.csv"
from=$(date -u -d "@$(sed -n "$((keep + 2))p" "$full" | cut -d, -f1)" +%Y-%m-%dT%H:%M:%SZ)
echo "| budget | candidates | wall time | chosen | last 30 %: violations, cost vs the HPA |"
echo "|---|---|---|---|---|"
for B in $BUDGETS; do
	"$BIN" tune --trace "$OUT/first70.csv" --startup-delay "$S" --budget "$B" --seed "$SEED" \
		--out "$OUT/tuned-$B.yaml" --allow-worse --format json >"$OUT/tune-$B.json"
	"$BIN" simulate --config "$OUT/tuned-$B.yaml" --trace "$full" --startup-delay "$S" --score-from "$from" \
		--hpa-targets 0.6 --format json >"$OUT/score-$B.json"
	jq -r -s --arg B "$B" '.[0] as $t | .[1].scaled as $s | .[1].hpa_reference[0].score as $h |
		"| \($B) | \($t.evaluations) | \($t.seconds) s | \($t.chosen.family) | " +
		"\($s.violating_request_fraction / $h.violating_request_fraction * 1000 | round / 1000) x, \($s.cost_replica_hours / $h.cost_replica_hours * 1000 | round / 1000) x |"' \
		"$OUT/tune-$B.json" "$OUT/score-$B.json"
done
echo "(files in $OUT)" >&2
