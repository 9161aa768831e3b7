#!/usr/bin/env bash
# Model multiplexing, measured from outside (issue 12 item 2). Four models (m1..m4: copies of mlp under
# four names in a temporary repository, prediction cache off so every request runs its model), requests
# cycling over all four with the load tool, open loop at RATE (20) req/s for DURATION (30s), no warm-up
# (every request is counted), m1 weighted HOT_WEIGHT (3) to 1 for each of m2..m4, interleaved evenly:
# the load tool's smooth weighted round robin gives m1 m2 m1 m3 m4 m1, again and again (m3 and m4 one after the
# other, which plain LRU answered by evicting m1). With Inference:MaxResidentModels 2, m1 stays resident (LRU-2:
# used twice in each cycle) and every other request finds its model evicted, loads it and evicts the previous one:
# the worst case
# for the other slot. Two runs, one after the other, on fresh servers:
#  1. no limit (every version resident, as by default);
#  2. --Inference:MaxResidentModels 2, while a sampler reads POST /v2/repository/index and /metrics every
#     SAMPLE_S (0.2) seconds.
# Reports failures (non-2xx and transport errors), the most versions resident the index and
# sg_resident_models showed, loads and evictions during the run, the load time, and m1's p50 (the
# resident model) in both runs beside the others'. HOT_WEIGHT=1 cycles evenly (nothing stays resident).
#
#   ./benchmarks/multiplex/run.sh
#   DURATION=10s ./benchmarks/multiplex/run.sh
#
# Environment: RATE (20), DURATION (30s), HOT_WEIGHT (3), SAMPLE_S (0.2), PORT (18600), OUT_DIR (keep the
# reports, samples and logs), SKIP_BUILD=1. Needs dotnet and curl. Exit status 1 when the limited run had a
# failure or showed more than 2 resident; 0 otherwise. On a shared machine the p50s are noisy: compare
# them within one run of this script.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

RATE="${RATE:-20}"
DURATION="${DURATION:-30s}"
HOT_WEIGHT="${HOT_WEIGHT:-3}"
SAMPLE_S="${SAMPLE_S:-0.2}"
PORT="${PORT:-18600}"
URL="http://127.0.0.1:${PORT}"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
LOADTOOL_DLL="$ROOT/loadtests/bin/Release/net10.0/ServingGateway.LoadTool.dll"
MAX_RESIDENT=2

begin_run multiplex-bench dotnet curl
build_release src/Gateway loadtests
[[ -f "$LOADTOOL_DLL" ]] || { log "no $LOADTOOL_DLL"; exit 2; }

MODELS="$WORK/models"
for m in m1 m2 m3 m4; do
    mkdir -p "$MODELS/$m/1"
    ln -sf "$ROOT/models/mlp/1/model.onnx" "$MODELS/$m/1/model.onnx"
    printf '{\n  "max_batch_size": 64,\n  "instances": 2,\n  "cache": {"enable": false}\n}\n' >"$MODELS/$m/config.json"
done

cat >"$WORK/scenario.json" <<EOF
{
  "url": "$URL",
  "openRate": $RATE,
  "duration": "$DURATION",
  "warmup": "0s",
  "noProgress": true,
  "models": [
    { "model": "m1", "weight": $HOT_WEIGHT },
    { "model": "m2", "weight": 1 },
    { "model": "m3", "weight": 1 },
    { "model": "m4", "weight": 1 }
  ]
}
EOF

# metric NAME [FILE]: the sum of a metric's samples in a /metrics text (its failure outcome left out).
metric() { awk -v m="$1" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[{ ]/ && !/outcome="failure"/ { s += $NF } END { printf "%.0f", s + 0 }' "$2"; }
# p50 of one model from the load tool's per-model table (report.md): | model | requests | errors | p50 | p99 | max |
p50_of() { awk -F'|' -v m="$2" '$2 ~ "^ *" m " *$" { gsub(/ /, "", $5); print $5; exit }' "$1/report.md"; }
errors_of() { awk -F'"errors": ' 'NF > 1 { split($2, a, ","); print a[1]; exit }' "$1/summary.json"; }
finished_of() { awk -F'"finished": ' 'NF > 1 { split($2, a, ","); print a[1]; exit }' "$1/summary.json"; }

# run NAME ARGS...: a fresh server with ARGS, the load tool against it, the sampler beside it.
run() {
    local name="$1"
    shift
    port_free "$PORT"
    log "run $name: server ${*:-(no limit)}; $RATE req/s for $DURATION"
    dotnet "$GATEWAY_DLL" --models "$MODELS" --urls "$URL" "$@" >"$WORK/$name.gateway.log" 2>&1 &
    local pid=$!
    track "$pid"
    wait_ready "$URL" "$pid" "$WORK/$name.gateway.log"
    curl -fs "$URL/metrics" >"$WORK/$name.metrics.before"

    : >"$WORK/$name.samples"
    (
        while true; do
            local resident indexed
            indexed="$(curl -fs -X POST "$URL/v2/repository/index" | { grep -o '"resident":true' || true; } | wc -l)" || indexed=-1
            resident="$(curl -fs "$URL/metrics" | awk '/^sg_resident_models / { print $2 }')" || resident=-1
            echo "$indexed ${resident:--1}" >>"$WORK/$name.samples"
            sleep "$SAMPLE_S"
        done
    ) &
    local sampler=$!
    track "$sampler"

    timeout 300 dotnet "$LOADTOOL_DLL" run --scenario "$WORK/scenario.json" --report-dir "$WORK/$name" >"$WORK/$name.loadtool.txt" 2>&1 \
        || log "load tool exit $? (see $WORK/$name.loadtool.txt)"
    kill_wait "$sampler"
    curl -fs "$URL/metrics" >"$WORK/$name.metrics.after"
    kill_wait "$pid"
    [[ -f "$WORK/$name/summary.json" ]] || { log "no report for $name:"; cat "$WORK/$name.loadtool.txt" >&2; exit 1; }
}

run unlimited
run limited --Inference:MaxResidentModels "$MAX_RESIDENT"

L="$WORK/limited"
U="$WORK/unlimited"
MAX_INDEXED="$(awk 'BEGIN { m = 0 } { if ($1 > m) m = $1 } END { print m }' "$WORK/limited.samples")"
MAX_GAUGE="$(awk 'BEGIN { m = 0 } { if ($2 > m) m = $2 } END { print m }' "$WORK/limited.samples")"
SAMPLES="$(wc -l <"$WORK/limited.samples")"
LOADS=$(($(metric sg_model_loads_total "$WORK/limited.metrics.after") - $(metric sg_model_loads_total "$WORK/limited.metrics.before")))
EVICTIONS=$(($(metric sg_model_evictions_total "$WORK/limited.metrics.after") - $(metric sg_model_evictions_total "$WORK/limited.metrics.before")))
LOAD_FAILURES="$(awk '/^sg_model_loads_total\{.*outcome="failure"/ { s += $NF } END { printf "%.0f", s + 0 }' "$WORK/limited.metrics.after")"
LOAD_SUM="$(awk '/^sg_model_load_duration_seconds_sum/ { print $2 }' "$WORK/limited.metrics.after")"
LOAD_COUNT="$(awk '/^sg_model_load_duration_seconds_count/ { print $2 }' "$WORK/limited.metrics.after")"
MEAN_LOAD_MS="$(awk -v s="$LOAD_SUM" -v c="$LOAD_COUNT" 'BEGIN { if (c > 0) printf "%.1f", 1000 * s / c; else print "n/a" }')"

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine) (shared machine: other work may run beside it)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "Load tool: open loop $RATE req/s for $DURATION, no warm-up, m1:m2:m3:m4 = $HOT_WEIGHT:1:1:1 interleaved; 4 copies of mlp, cache off"
echo
echo "| run | requests | failures | m1 p50 (ms) | m2 p50 | m3 p50 | m4 p50 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for r in unlimited limited; do
    echo "| $r | $(finished_of "$WORK/$r") | $(errors_of "$WORK/$r") | $(p50_of "$WORK/$r" m1) | $(p50_of "$WORK/$r" m2) | $(p50_of "$WORK/$r" m3) | $(p50_of "$WORK/$r" m4) |"
done
echo
echo "Limited run (MaxResidentModels $MAX_RESIDENT): most resident in $SAMPLES samples: index $MAX_INDEXED, sg_resident_models $MAX_GAUGE;"
echo "loads during the run $LOADS (failed loads since start $LOAD_FAILURES), evictions $EVICTIONS, mean load time $MEAN_LOAD_MS ms (sg_model_load_duration_seconds, start-up loads included)"
echo "m1 p50 limited / unlimited: $(ratio "$(p50_of "$L" m1)" "$(p50_of "$U" m1)")"

STATUS=0
if [[ "$(errors_of "$L")" != 0 ]]; then log "FAIL: the limited run had failures"; STATUS=1; fi
if ((MAX_INDEXED > MAX_RESIDENT)) || awk -v g="$MAX_GAUGE" -v m="$MAX_RESIDENT" 'BEGIN { exit !(g > m) }'; then
    log "FAIL: more than $MAX_RESIDENT resident"; STATUS=1
fi
if ((SAMPLES == 0)); then log "FAIL: no samples"; STATUS=1; fi
exit "$STATUS"
