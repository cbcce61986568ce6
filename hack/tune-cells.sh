#!/usr/bin/env bash
# The acceptance table of scaled tune (docs/benchmarks.md, "scaled tune on
# the public traces"): for each public trace and startup delay, tune on the
# first 70 % of the trace, then score the tuned config, recommended.yaml and
# the HPA at u=0.6 on the last 30 % of the ticks of the whole trace, with the
# whole trace replayed (simulate --score-from).
#
#   hack/tune-cells.sh                                  # 9 cells, default budget
#   TRACES=nasa_http_aug95 STARTUPS=3m hack/tune-cells.sh
#   BUDGET=30s hack/tune-cells.sh
#
# Prints one markdown row per cell: violating fraction / cost in
# replica-hours / scale actions of tuned, recommended.yaml and the HPA, the
# tuned config's ratios to the HPA's, the wall time of tune and the load
# average (1 minute) of the machine when tune started and when it ended:
# on a machine shared with other work, tune's budget buys fewer candidates.
# Needs jq.
# Not run by make test.
set -euo pipefail

cd "$(dirname "$0")/.."
SCALED_TRACES=${SCALED_TRACES:-testdata/traces}
STARTUPS=${STARTUPS:-1m 3m 10m}
TRACES=${TRACES:-nasa_http_aug95 worldcup98 saskatchewan_http_1995}
BUDGET=${BUDGET:-60s}
SEED=${SEED:-1}
BIN=${BIN:-bin/scaled}
OUT=${OUT:-$(mktemp -d)}
go build -o "$BIN" ./cmd/scaled
command -v jq >/dev/null || { echo "tune-cells: jq is required" >&2; exit 1; }

echo "| trace | S | tuned | recommended.yaml | HPA u=0.6 | tuned / HPA: violations, cost | chosen (candidates) | tune time | load average |"
echo "|---|---|---|---|---|---|---|---|---|"
for trace in $TRACES; do
	full="$SCALED_TRACES/$trace.csv"
	rows=$(($(wc -l <"$full") - 1))
	keep=$((rows * 70 / 100))
	head -n $((keep + 1)) "$full" >"$OUT/$trace-first70.csv"
	# The first row of the last 30 %: the trace's first tick at or after it.
	from=$(date -u -d "@$(sed -n "$((keep + 2))p" "$full" | cut -d, -f1)" +%Y-%m-%dT%H:%M:%SZ)
	for S in $STARTUPS; do
		tuned="$OUT/$trace-$S-tuned.yaml"
		load0=$(cut -d' ' -f1 /proc/loadavg)
		t0=$(date +%s.%N)
		"$BIN" tune --trace "$OUT/$trace-first70.csv" --startup-delay "$S" --budget "$BUDGET" --seed "$SEED" \
			--out "$tuned" --allow-worse >"$OUT/$trace-$S-tune.txt"
		took=$(echo "$(date +%s.%N) - $t0" | bc)
		load1=$(cut -d' ' -f1 /proc/loadavg)
		chosen="$(grep -o 'chosen: [a-z_]*' "$OUT/$trace-$S-tune.txt" | head -1 | cut -d' ' -f2) ($(grep -o 'searched [0-9]*' "$OUT/$trace-$S-tune.txt" | cut -d' ' -f2))"
		score() {
			"$BIN" simulate --config "$1" --trace "$full" --startup-delay "$S" --score-from "$from" --hpa-targets 0.6 --format json
		}
		score "$tuned" >"$OUT/$trace-$S-tuned.json"
		score examples/simulate/recommended.yaml >"$OUT/$trace-$S-recommended.json"
		jq -r -s --arg trace "$trace" --arg S "$S" --arg took "$took" --arg load "$load0 to $load1" --arg chosen "$chosen" '
			def v: if . < 0.001 and . > 0 then tostring else (. * 100000 | round / 100000 | tostring) end;
			def cell: "\(.violating_request_fraction | v) / \(.cost_replica_hours | floor) / \(.scale_actions)";
			(.[0].hpa_reference[0].score) as $h | .[0].scaled as $t | .[1].scaled as $r |
			"| \($trace) | \($S) | \($t | cell) | \($r | cell) | \($h | cell) | " +
			"\(if $h.violating_request_fraction > 0 then ($t.violating_request_fraction / $h.violating_request_fraction * 1000 | round / 1000 | tostring) else "-" end) x, " +
			"\($t.cost_replica_hours / $h.cost_replica_hours * 1000 | round / 1000) x | \($chosen) | \($took | tonumber | . * 10 | round / 10) s | \($load) |"' \
			"$OUT/$trace-$S-tuned.json" "$OUT/$trace-$S-recommended.json"
	done
done
echo "(files in $OUT)" >&2
