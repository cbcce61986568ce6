#!/usr/bin/env bash
# One row of the startup-delay sweeps in docs/appendix/startup-sweeps.md: a
# predictive policy over a target-tracking floor, written from the settings
# below, simulated on every trace at every startup delay, each cell read
# against the HPA reference at u=0.6 at the same delay.
#
#   hack/startup-sweep.sh                         # the defaults below
#   Q=0.95 FLOOR=0 hack/startup-sweep.sh           # another setting
#   STARTUPS="3m 10m" TRACES="nasa_http_aug95" hack/startup-sweep.sh
#
# Settings (environment): Q quantile, SMOOTH, SPREAD, MODEL, MINH
# (min_history), REFIT (refit_every), LEAD, RAMP (0: off), HEADROOM, SURPRISE
# (surprise_ratio), FLOOR (1: the target-tracking floor, 0: none), U (its
# target), TUP and TDOWN (tolerances), WIN (scale-down stabilisation
# window), HOLD (scale-down startup_hold), UPWIN (scale-up stabilisation
# window), PTUP and PTDOWN (the predictive policy's tolerance). The predictive policy plans for
# the scaler's startup delay, the model's --startup-delay. Needs jq and Go; the
# traces default as in hack/bench-sim.sh. Not run by make test.
set -euo pipefail

cd "$(dirname "$0")/.."
SCALED_TRACES=${SCALED_TRACES:-testdata/traces}
: "${Q:=0.9}" "${SMOOTH:=5m}" "${SPREAD:=auto}" "${MODEL:=auto}" "${MINH:=1h}" "${REFIT:=1h}" "${LEAD:=15s}"
: "${RAMP:=0s}" "${HEADROOM:=0}" "${SURPRISE:=1.5}" "${FLOOR:=1}" "${U:=0.6}" "${TUP:=0.04}" "${TDOWN:=0.15}" "${WIN:=7m}" "${HOLD:=0}" "${UPWIN:=0s}" "${PTUP:=0}" "${PTDOWN:=0}"
STARTUPS=${STARTUPS:-1m 3m 10m}
TRACES=${TRACES:-nasa_http_aug95 worldcup98 saskatchewan_http_1995}
BIN=${BIN:-bin/scaled-sweep}
go build -o "$BIN" ./cmd/scaled
command -v jq >/dev/null || { echo "startup-sweep: jq is required" >&2; exit 1; }

cfg=$(mktemp --suffix=.yaml)
trap 'rm -f "$cfg"' EXIT
{
	cat <<EOF
interval: 15s
scalers:
  - name: web
    target: {kind: log}
    signals:
      - {name: demand, query: 'sum(rate(http_requests_total[1m]))'}
      - {name: utilisation, query: 'avg(cpu_utilisation)'}
    policies:
      - name: forecast
        type: predictive
        predictive:
          signal: demand
          capacity_per_replica: 7.0
          lead: $LEAD
          quantile: $Q
          smooth: $SMOOTH
          spread: $SPREAD
          model: $MODEL
          min_history: $MINH
          refit_every: $REFIT
          ramp: $RAMP
          headroom: $HEADROOM
          surprise_ratio: $SURPRISE
          tolerance: {up: $PTUP, down: $PTDOWN}
EOF
	if [ "$FLOOR" = 1 ]; then
		cat <<EOF
      - name: cpu
        type: target_tracking
        target_tracking: {signal: utilisation, target_type: utilization, target: $U}
EOF
	fi
	cat <<EOF
    bounds: {min: 1, max: 1000}
    behavior:
      scale_up: {tolerance: $TUP, stabilization_window: $UPWIN}
      scale_down: {tolerance: $TDOWN, stabilization_window: $WIN, startup_hold: $HOLD}
EOF
} >"$cfg"

printf '| Q=%s SMOOTH=%s SPREAD=%s MODEL=%s MINH=%s LEAD=%s RAMP=%s HEADROOM=%s SURPRISE=%s FLOOR=%s U=%s TUP=%s TDOWN=%s WIN=%s HOLD=%s UPWIN=%s PTUP=%s PTDOWN=%s |' \
	"$Q" "$SMOOTH" "$SPREAD" "$MODEL" "$MINH" "$LEAD" "$RAMP" "$HEADROOM" "$SURPRISE" "$FLOOR" "$U" "$TUP" "$TDOWN" "$WIN" "$HOLD" "$UPWIN" "$PTUP" "$PTDOWN"
for trace in $TRACES; do
	for S in $STARTUPS; do
		"$BIN" simulate --config "$cfg" --trace "$SCALED_TRACES/$trace.csv" --startup-delay "$S" --format json |
			jq -r '(.hpa_reference[] | select(.target == 0.6) | .score) as $h | .scaled as $s
				| " \($s.violating_request_fraction * 1e4 | round / 1e4) (\(if $h.violating_request_fraction > 0 then ($s.violating_request_fraction / $h.violating_request_fraction * 100 | round / 100 | tostring) + "x" else "-" end)) / \($s.cost_vs_oracle * 1000 | round / 1000) / \($s.scale_actions) |"' |
			tr -d '\n'
	done
done
echo
