#!/usr/bin/env bash
# Where the tail comes from: ServingGateway (default configuration, as benchmarks/robustness/run.sh
# starts it) under mlp JSON at CONNECTIONS (64) connections, every body different, while dotnet-counters
# records the runtime's counters (System.Runtime: GC, thread pool, lock contention, JIT) once a second.
# Prints wrk's figures and, per counter, its mean, max and last value over the run (docs/PERFORMANCE.md).
#
#   dotnet tool install --tool-path /tmp/sg-tools dotnet-counters
#   DOTNET_COUNTERS=/tmp/sg-tools/dotnet-counters ./benchmarks/robustness/counters.sh
#   GATEWAY_ENV="DOTNET_gcServer=1" ./benchmarks/robustness/counters.sh     # compare a runtime setting
#
# Environment: DURATION (default 20s), WARMUP (5s), CONNECTIONS (64), REPEAT_PERCENT (0), PORT (18510),
# DOTNET_COUNTERS (the tool; default: dotnet-counters on PATH), GATEWAY_ENV (VAR=VALUE ... for the server),
# GATEWAY_ARGS (extra server arguments), OUT_DIR (keep raw outputs), SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
export REPEAT_PERCENT="${REPEAT_PERCENT:-0}"
PORT="${PORT:-18510}"
URL="http://127.0.0.1:$PORT"
COUNTERS="${DOTNET_COUNTERS:-dotnet-counters}"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
read -r -a EXTRA_ARGS <<<"${GATEWAY_ARGS:-}"
read -r -a EXTRA_ENV <<<"${GATEWAY_ENV:-}"

begin_run counters-bench dotnet wrk curl "$COUNTERS"
build_release src/Gateway

MODELS="$WORK/models"
mkdir -p "$MODELS/mlp/1"
ln -sf "$ROOT/models/mlp/1/model.onnx" "$MODELS/mlp/1/model.onnx"
cp "$ROOT/models/mlp/config.json" "$MODELS/mlp/config.json"

port_free "$PORT"
log "starting ServingGateway on $URL ${EXTRA_ENV[*]} ${EXTRA_ARGS[*]}"
env "${EXTRA_ENV[@]}" dotnet "$GATEWAY_DLL" --models "$MODELS" --urls "$URL" "${EXTRA_ARGS[@]}" >"$WORK/gateway.log" 2>&1 &
PID=$!
track "$PID"
wait_ready "$URL" "$PID" "$WORK/gateway.log"

log "warming up ($WARMUP)"
run_wrk "$WORK/warmup.txt" benchmarks/robustness/mlp_mixed.lua "$URL$INFER_PATH" "$CONNECTIONS" "$WARMUP"

log "recording counters while wrk runs ($DURATION)"
"$COUNTERS" collect -p "$PID" --refresh-interval 1 --format csv -o "$WORK/counters.csv" \
    --counters System.Runtime >"$WORK/counters.log" 2>&1 &
COUNTERS_PID=$!
track "$COUNTERS_PID"
sleep 2
run_wrk "$WORK/load.txt" benchmarks/robustness/mlp_mixed.lua "$URL$INFER_PATH" "$CONNECTIONS" "$DURATION"
kill -INT "$COUNTERS_PID" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$COUNTERS_PID" 2>/dev/null || break; sleep 0.2; done

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the run"
echo "Server: ${EXTRA_ENV[*]:-default runtime settings} ${EXTRA_ARGS[*]}; wrk -t 2 -c $CONNECTIONS -d $DURATION, $REPEAT_PERCENT% repeats"
echo "wrk: $(printf '%.0f' "$(rps "$WORK/load.txt")") req/s, p50 $(to_ms "$(pct "$WORK/load.txt" 50)") ms, p99 $(to_ms "$(pct "$WORK/load.txt" 99)") ms, max $(to_ms "$(awk '$1 == "Latency" { print $4; exit }' "$WORK/load.txt")") ms"
echo
echo "| counter | mean | max | last |"
echo "|---|---:|---:|---:|"
# CSV: Timestamp,Provider,Counter Name,Counter Type,Mean/Increment
awk -F, 'NR > 1 && $5 != "" {
    name = $3; v = $5 + 0
    if (!(name in n)) order[++count] = name
    n[name]++; sum[name] += v; if (!(name in max) || v > max[name]) max[name] = v; last[name] = v
} END {
    for (i = 1; i <= count; i++) { k = order[i]; printf "| %s | %.4g | %.4g | %.4g |\n", k, sum[k] / n[k], max[k], last[k] }
}' "$WORK/counters.csv"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw outputs: $WORK"; fi
report_errors
