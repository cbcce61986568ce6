#!/usr/bin/env bash
# The shipped configurations of examples/simulate against the HPA at u=0.6,
# scored on history they were not chosen on: every public trace replayed
# whole, only its last HOLDOUT (0.3) of points scored (`scaled simulate
# --score-from`), at the startup delays of each file's class (CLASSES
# below). Prints the table of docs/startup.md ("How each file does"), or
# with `cells` one row per file, trace and delay (docs/appendix/startup-sweeps.md).
#
#   hack/fixed-files.sh                  # the table, every file
#   hack/fixed-files.sh cells            # one row per file, trace and delay
#   FILES="recommended-1m recommended-10m" STARTUPS="3m" hack/fixed-files.sh cells
#
# Each run's scores are kept in CACHE (bin/fixed-files, one line per run,
# keyed by the config's content, the trace, the delay and the first time
# scored), so a second call rereads them; `rm -r bin/fixed-files` measures
# again (about 100 runs; a forecasting config on the World Cup takes 10 to
# 40 s). JOBS runs in parallel (default 2). Needs bash, jq and Go. Not run
# by make test.
set -euo pipefail

cd "$(dirname "$0")/.."
TRACES_DIR=${SCALED_TRACES:-testdata/traces}
TRACES=${TRACES:-nasa_http_aug95 worldcup98 saskatchewan_http_1995}
HOLDOUT=${HOLDOUT:-0.3}
CACHE=${CACHE:-bin/fixed-files}
JOBS=${JOBS:-2}
BIN=${BIN:-bin/scaled}
MODE=${1:-tables}

# file | its class, as the docs state it | the startup delays measured for it
CLASSES=(
	"recommended-1m|S < 3 min|1m 90s 2m"
	"recommended-10m|S >= 3 min|3m 5m 6m 10m"
	"recommended|any S|1m 3m 10m"
	"predictive-lean|S = 1 min (it plans for 1 min)|1m"
	"reactive|any S|1m"
	"step|any S|1m"
)

command -v jq >/dev/null || { echo "fixed-files: jq is required" >&2; exit 1; }
case $MODE in tables | cells) ;; *) echo "fixed-files: $MODE: the mode is tables or cells" >&2; exit 2 ;; esac
go build -o "$BIN" ./cmd/scaled
mkdir -p "$CACHE"

# score_from TRACE: the time of the first point of the trace's last HOLDOUT,
# the first point after its first (1 - HOLDOUT) of points, in RFC 3339.
score_from() {
	local ts
	ts=$(awk -F, -v h="$HOLDOUT" 'NR > 1 {t[++n] = $1} END {print t[int(n * (1 - h)) + 1]}' "$1")
	date -u -d "@$ts" +%Y-%m-%dT%H:%M:%SZ
}

# cell FILE TRACE S: the run's cache file, measured if absent: one line of
# the file's violating fraction, the HPA's, the file's cost in replica-hours,
# the HPA's, the file's scale actions, the HPA's, over the ticks scored.
cell() {
	local cfg="examples/simulate/$1.yaml" trace="$TRACES_DIR/$2.csv" from key out
	from=$(score_from "$trace")
	key=$(sha256sum <"$cfg" | cut -c1-12)
	out="$CACHE/$1-$key-$2-$3-$from.tsv"
	if [ ! -s "$out" ]; then
		nice "$BIN" simulate --config "$cfg" --trace "$trace" --startup-delay "$3" --hpa-targets 0.6 \
			--score-from "$from" --format json |
			jq -r '(.hpa_reference[] | select(.target == 0.6) | .score) as $h | .scaled as $x
				| [$x.violating_request_fraction, $h.violating_request_fraction, $x.cost_replica_hours,
				   $h.cost_replica_hours, $x.scale_actions, $h.scale_actions] | @tsv' >"$out.tmp"
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

# The runs, JOBS at a time; the failures are reported at the end.
want=()
for c in "${CLASSES[@]}"; do
	IFS='|' read -r file class delays <<<"$c"
	[ -z "${FILES:-}" ] || [[ " $FILES " == *" $file "* ]] || continue
	for trace in $TRACES; do
		for S in ${STARTUPS:-$delays}; do
			want+=("$file $trace $S")
		done
	done
done
failed=0
running=0
for w in "${want[@]}"; do
	# shellcheck disable=SC2086 # three words
	cell $w >/dev/null &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || failed=$((failed + 1))
		running=$((running - 1))
	fi
done
while [ "$running" -gt 0 ]; do
	wait -n || failed=$((failed + 1))
	running=$((running - 1))
done
[ "$failed" = 0 ] || { echo "fixed-files: $failed run(s) failed" >&2; exit 1; }

# One TSV line per run: file, class, trace, S, then the cache line.
tsv=$(for w in "${want[@]}"; do
	read -r file trace S <<<"$w"
	class=$(printf '%s\n' "${CLASSES[@]}" | awk -F'|' -v f="$file" '$1 == f {print $2}')
	printf '%s\t%s\t%s\t%s\t%s\n' "$file" "$class" "$trace" "$S" "$(cat "$(cell "$file" "$trace" "$S")")"
done)

# The awk helpers: a violating fraction, its ratio to the HPA's, a cost ratio.
AWK_FMT='
function frac(v) { return v == 0 ? "0" : (v < 0.0001 ? sprintf("%.3e", v) : sprintf("%.4f", v)) }
function vratio(v, h) { return h == 0 ? (v == 0 ? 1 : 1e9) : v / h }
# vx: a violating fraction against that of the HPA: their ratio, or both
# where the HPA one is too small for a ratio to mean much (below 1e-5).
function vx(v, h) {
	if (v == 0) return "0 x"
	if (h < 1e-5) return frac(v) ", the HPA " frac(h)
	return sprintf(v / h > 0.995 && v / h < 1.005 ? "%.3f x" : "%.2f x", v / h)
}
function short(t) { sub(/_http.*/, "", t); return t == "worldcup98" ? "World Cup" : (t == "nasa" ? "NASA" : "Saskatchewan") }
'

if [ "$MODE" = cells ]; then
	echo "| file | trace | S | violating fraction | the HPA's | cost, x the HPA's | scale actions, x the HPA's | worse on both axes |"
	echo "|---|---|---|---:|---:|---:|---:|---|"
	awk -F'\t' "$AWK_FMT"'{
		both = ($5 > $6 && $7 > $8) ? "**yes**" : ""
		printf "| `%s.yaml` | %s | %s | %s | %s | %.3f | %.2f | %s |\n", $1, $3, $4, frac($5), frac($6), $7 / $8, $9 / $10, both
	}' <<<"$tsv"
	exit 0
fi

# The tables: per file, its best and worst cell on each axis, and where it
# is worse than the HPA on both.
echo "| file | for | measured at S = | violating fraction vs the HPA's: best; worst | cost vs the HPA's: best; worst | worse than the HPA on both axes |"
echo "|---|---|---|---|---|---|"
awk -F'\t' "$AWK_FMT"'
	!($1 in seen) { seen[$1] = 1; order[++n] = $1; class[$1] = $2 }
	!(($1 " " $4) in seenS) { seenS[$1 " " $4] = 1; delays[$1] = delays[$1] (delays[$1] == "" ? "" : ", ") $4 }
	{
		where = short($3) " " $4
		r = vratio($5, $6); c = $7 / $8
		if (!($1 in vbest) || r < vbest[$1]) { vbest[$1] = r; vbestc[$1] = vx($5, $6) " (" where ")" }
		if (!($1 in vworst) || r > vworst[$1]) { vworst[$1] = r; vworstc[$1] = vx($5, $6) " (" where ")" }
		if (!($1 in cbest) || c < cbest[$1]) { cbest[$1] = c; cbestc[$1] = sprintf("%.3f x (%s)", c, where) }
		if (!($1 in cworst) || c > cworst[$1]) { cworst[$1] = c; cworstc[$1] = sprintf("%.3f x (%s)", c, where) }
		if ($5 > $6 && $7 > $8) both[$1] = both[$1] (both[$1] == "" ? "" : ", ") where
	}
	END {
		for (i = 1; i <= n; i++) {
			f = order[i]
			printf "| `%s.yaml` | %s | %s | %s; %s | %s; %s | %s |\n", f, class[f], delays[f], vbestc[f], vworstc[f], cbestc[f], cworstc[f], (both[f] == "" ? "never" : "**" both[f] "**")
		}
	}' <<<"$tsv"
