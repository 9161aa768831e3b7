#!/usr/bin/env bash
# Robustness under load (issue 11), side by side in one run: ServingGateway with its default
# configuration (mlp as committed in ./models, cache on) against the HTTP ceiling of this machine
# (benchmarks/HttpCeiling) and against a second ServingGateway with mlp's cache off, mlp JSON at
# CONNECTIONS (64) connections:
#  1. the first ROUND (10 s) after the server reports ready, every body different;
#  2. a WARMUP (5 s) per load, then ROUNDS (3) rounds of ROUND each, interleaved: the ceiling (every body
#     different, as the server's 0% load, so that wrk does the same work for both), the server with every
#     body different (0% repeats), the cache-off server with every body different, the server with 90%
#     byte-identical repeats of a hot set; p99, max and req/s per round, and the server's RSS after each
#     of its 0% rounds;
# then checks the targets of issue 11 and prints PASS or FAIL for each. Every wrk run's distinct bodies
# are new (mlp_mixed.lua's salt): no run repeats an earlier run's bodies.
#
#   ./benchmarks/robustness/run.sh
#   ROUND=30s ./benchmarks/robustness/run.sh
#
# Environment: ROUND (wrk -d per round, default 10s), WARMUP (default 5s), ROUNDS (3), CONNECTIONS (64),
# REPEAT_PERCENT (90), HOT_BODIES (100), GATEWAY_PORT (18500), CEILING_PORT (18501), CACHE_OFF_PORT (18502), OUT_DIR (keep raw
# outputs and logs), SKIP_BUILD=1, GATEWAY_ARGS (extra arguments for the server, e.g. to compare a setting),
# GATEWAY_DLL (another build of the server, e.g. a ReadyToRun publish; default: the Release build of src/Gateway).
# Needs dotnet, wrk, curl. Exit status 1 when a run saw socket errors or non-2xx responses, or a target
# failed; 0 otherwise. Figures on a loaded machine are noisy: read the ratios within one run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

ROUND="${ROUND:-10s}"
WARMUP="${WARMUP:-5s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
export REPEAT_PERCENT="${REPEAT_PERCENT:-90}"
export HOT_BODIES="${HOT_BODIES:-100}"
GATEWAY_PORT="${GATEWAY_PORT:-18500}"
CEILING_PORT="${CEILING_PORT:-18501}"
CACHE_OFF_PORT="${CACHE_OFF_PORT:-18502}"
CACHE_OFF_URL="http://127.0.0.1:${CACHE_OFF_PORT}"
GATEWAY_URL="http://127.0.0.1:${GATEWAY_PORT}"
CEILING_URL="http://127.0.0.1:${CEILING_PORT}"
GATEWAY_DLL="${GATEWAY_DLL:-$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll}"
MIXED="$ROOT/benchmarks/robustness/mlp_mixed.lua"
read -r -a EXTRA_ARGS <<<"${GATEWAY_ARGS:-}"

begin_run robustness-bench dotnet wrk curl
build_release src/Gateway benchmarks/HttpCeiling

# The default configuration: mlp with the committed config.json (cache on), no Cache:* settings.
MODELS="$WORK/models"
mkdir -p "$MODELS/mlp/1"
ln -sf "$ROOT/models/mlp/1/model.onnx" "$MODELS/mlp/1/model.onnx"
cp "$ROOT/models/mlp/config.json" "$MODELS/mlp/config.json"

# The same with mlp's cache off: what the cache costs when nothing repeats.
CACHE_OFF_MODELS="$WORK/models-cache-off"
mkdir -p "$CACHE_OFF_MODELS/mlp/1"
ln -sf "$ROOT/models/mlp/1/model.onnx" "$CACHE_OFF_MODELS/mlp/1/model.onnx"
printf '%s\n  "cache": {"enable": false}\n}\n' "$(sed -e '/"cache"/,$d' "$ROOT/models/mlp/config.json")" >"$CACHE_OFF_MODELS/mlp/config.json"
grep -q '"enable": false' "$CACHE_OFF_MODELS/mlp/config.json" || { log "could not write the cache-off config"; exit 2; }

port_free "$GATEWAY_PORT"
port_free "$CEILING_PORT"
port_free "$CACHE_OFF_PORT"
log "starting ServingGateway on $GATEWAY_URL ${EXTRA_ARGS[*]}"
dotnet "$GATEWAY_DLL" --models "$MODELS" --urls "$GATEWAY_URL" "${EXTRA_ARGS[@]}" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
track "$GATEWAY_PID"
wait_ready "$GATEWAY_URL" "$GATEWAY_PID" "$WORK/gateway.log"

rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$GATEWAY_PID/status"; }
max_ms() { to_ms "$(awk '$1 == "Latency" { print $4; exit }' "$1")"; }
# One row: requests/s, p99 and max in milliseconds.
cells() { echo "$(printf '%.0f' "$(rps "$1")") | $(p99_ms "$1") | $(max_ms "$1")"; }

# --- 1. the first round after ready: nothing has run but the model's own warm-up at load ----------
RSS_READY="$(rss_mb)"
log "first $ROUND after ready, every body different"
REPEAT_PERCENT=0 run_wrk "$WORK/first.txt" "$MIXED" "$GATEWAY_URL$INFER_PATH" "$CONNECTIONS" "$ROUND"

# --- the ceiling, answering the response recorded from the server; the cache-off server -------------
start_http_ceiling "$GATEWAY_URL" "$CEILING_URL"
log "starting ServingGateway with mlp's cache off on $CACHE_OFF_URL"
dotnet "$GATEWAY_DLL" --models "$CACHE_OFF_MODELS" --urls "$CACHE_OFF_URL" "${EXTRA_ARGS[@]}" >"$WORK/gateway-cache-off.log" 2>&1 &
CACHE_OFF_PID=$!
track "$CACHE_OFF_PID"
wait_ready "$CACHE_OFF_URL" "$CACHE_OFF_PID" "$WORK/gateway-cache-off.log"

log "warming up ($WARMUP per load)"
REPEAT_PERCENT=0 run_wrk "$WORK/warmup.ceiling.txt" "$MIXED" "$CEILING_URL$INFER_PATH" "$CONNECTIONS" "$WARMUP"
REPEAT_PERCENT=0 run_wrk "$WORK/warmup.cache-off.txt" "$MIXED" "$CACHE_OFF_URL$INFER_PATH" "$CONNECTIONS" "$WARMUP"
REPEAT_PERCENT=0 run_wrk "$WORK/warmup.distinct.txt" "$MIXED" "$GATEWAY_URL$INFER_PATH" "$CONNECTIONS" "$WARMUP"
run_wrk "$WORK/warmup.repeats.txt" "$MIXED" "$GATEWAY_URL$INFER_PATH" "$CONNECTIONS" "$WARMUP"

# --- 2. rounds, interleaved ---------------------------------------------------------------------
declare -a RSS
for round in $(seq "$ROUNDS"); do
    log "round $round of $ROUNDS: ceiling, server 0% repeats, cache-off server 0% repeats, server $REPEAT_PERCENT% repeats ($ROUND each)"
    REPEAT_PERCENT=0 run_wrk "$WORK/ceiling.$round.txt" "$MIXED" "$CEILING_URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
    REPEAT_PERCENT=0 run_wrk "$WORK/distinct.$round.txt" "$MIXED" "$GATEWAY_URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
    RSS[round]="$(rss_mb)"
    REPEAT_PERCENT=0 run_wrk "$WORK/cache-off.$round.txt" "$MIXED" "$CACHE_OFF_URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
    run_wrk "$WORK/repeats.$round.txt" "$MIXED" "$GATEWAY_URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
done

# --- report and targets ----------------------------------------------------------------------------
FAILED=0
check() { # check DESCRIPTION AWK-CONDITION
    if awk "BEGIN { exit !($2) }"; then echo "- PASS: $1"; else echo "- FAIL: $1"; FAILED=1; fi
}
sum_rps() { local f total=0; for f in "$@"; do total=$(awk -v a="$total" -v b="$(rps "$f")" 'BEGIN { print a + b }'); done; echo "$total"; }

echo
report_header
echo "wrk -t 2 -c $CONNECTIONS -d $ROUND --latency, benchmarks/robustness/mlp_mixed.lua; warm-up $WARMUP per load;"
echo "server: default configuration (models/mlp/config.json, cache on) ${EXTRA_ARGS[*]}; RSS at ready $RSS_READY MB"
echo
echo "| round | ceiling req/s | p99 (ms) | max (ms) | server 0% req/s | p99 (ms) | max (ms) | RSS after (MB) | cache off 0% req/s | p99 (ms) | max (ms) | server $REPEAT_PERCENT% req/s | p99 (ms) | max (ms) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
echo "| first $ROUND after ready | | | | $(cells "$WORK/first.txt") | | | | | | | |"
for round in $(seq "$ROUNDS"); do
    echo "| $round | $(cells "$WORK/ceiling.$round.txt") | $(cells "$WORK/distinct.$round.txt") | ${RSS[round]} | $(cells "$WORK/cache-off.$round.txt") | $(cells "$WORK/repeats.$round.txt") |"
done
echo
echo "Targets (issue 11):"
for round in $(seq "$ROUNDS"); do
    d="$WORK/distinct.$round.txt"; c="$WORK/ceiling.$round.txt"
    check "round $round: 0% p99 $(p99_ms "$d") ms <= 10 ms" "$(p99_ms "$d") <= 10"
    check "round $round: 0% p99 $(p99_ms "$d") ms <= 3 x ceiling p99 $(p99_ms "$c") ms" "$(p99_ms "$d") <= 3 * $(p99_ms "$c")"
    check "round $round: 0% throughput $(ratio "$(rps "$d")" "$(rps "$c")") x ceiling >= 0.5" "$(rps "$d") >= 0.5 * $(rps "$c")"
done
check "RSS after round $ROUNDS (${RSS[ROUNDS]} MB) within 100 MB of round 1 (${RSS[1]} MB)" "${RSS[ROUNDS]} - ${RSS[1]} <= 100 && ${RSS[1]} - ${RSS[ROUNDS]} <= 100"
DISTINCT_RPS="$(sum_rps "$WORK"/distinct.*.txt)"
CACHE_OFF_RPS="$(sum_rps "$WORK"/cache-off.*.txt)"
mean_p99() { local f total=0; for f in "$@"; do total=$(awk -v a="$total" -v b="$(p99_ms "$f")" 'BEGIN { print a + b }'); done; awk -v t="$total" -v n="$#" 'BEGIN { printf "%.2f", t / n }'; }
DISTINCT_P99="$(mean_p99 "$WORK"/distinct.*.txt)"
CACHE_OFF_P99="$(mean_p99 "$WORK"/cache-off.*.txt)"
check "cache on vs off, 0% repeats, all rounds: throughput $(ratio "$DISTINCT_RPS" "$CACHE_OFF_RPS") x cache-off's >= 0.95" "$DISTINCT_RPS >= 0.95 * $CACHE_OFF_RPS"
check "cache on vs off, 0% repeats, mean p99 of the rounds: $DISTINCT_P99 ms <= 1.05 x cache-off's $CACHE_OFF_P99 ms" "$DISTINCT_P99 <= 1.05 * $CACHE_OFF_P99"
REPEATS_RPS="$(sum_rps "$WORK"/repeats.*.txt)"
check "$REPEAT_PERCENT% repeats throughput $(ratio "$REPEATS_RPS" "$DISTINCT_RPS") x the 0% run's >= 1.3" "$REPEATS_RPS >= 1.3 * $DISTINCT_RPS"
check "first $ROUND p99 $(p99_ms "$WORK/first.txt") ms <= 2 x round $ROUNDS p99 $(p99_ms "$WORK/distinct.$ROUNDS.txt") ms" \
    "$(p99_ms "$WORK/first.txt") <= 2 * $(p99_ms "$WORK/distinct.$ROUNDS.txt")"
echo
curl -fs "$GATEWAY_URL/metrics" | grep -E '^sg_cache_lookups_total\{model="mlp"' | sed 's/^/    /' || true
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors || FAILED=1
exit "$FAILED"
