#!/usr/bin/env bash
# What input drift costs on the request path: one server serving mlp three times, as mlp (drift off),
# mlp_d10 (drift on, sample_ratio 0.1, the default) and mlp_d100 (drift on, every request sampled), none with
# the prediction cache; wrk sends varied JSON requests (mlp_random.lua) to each in turn, ROUNDS times
# interleaved, so a change of the machine's load hits the three alike. The figure to read is each drift
# model's req/s over mlp's in the same round.
#
#   ./benchmarks/drift/run.sh                       # from anywhere; runs from the repository root
#   ROUNDS=5 DURATION=10s CONNECTIONS=8 ./benchmarks/drift/run.sh
#
# Environment: DURATION (wrk -d per run, default 10s), WARMUP (per model, default 5s), ROUNDS (default 3),
# CONNECTIONS (default 8), GATEWAY_PORT (18010), OUT_DIR (keep raw wrk output and the server log there),
# SKIP_BUILD=1 (use the existing Release build). Needs: dotnet, wrk, curl. Listens on 127.0.0.1 only.
# Exit status 1 when any run saw socket errors or non-2xx responses.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-8}"
GATEWAY_PORT="${GATEWAY_PORT:-18010}"
GATEWAY_URL="http://127.0.0.1:${GATEWAY_PORT}"
SCRIPT="$ROOT/benchmarks/drift/mlp_random.lua"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
MODELS_UNDER_TEST=(mlp mlp_d10 mlp_d100)

source "$ROOT/benchmarks/lib.sh"
begin_run drift-bench dotnet wrk curl
build_release src/Gateway

MODELS="$WORK/models"
for name in "${MODELS_UNDER_TEST[@]}"; do
    mkdir -p "$MODELS/$name/1"
    ln -sf "$ROOT/models/mlp/1/model.onnx" "$MODELS/$name/1/model.onnx"
done
echo '{"max_batch_size": 64, "instances": 2}' >"$MODELS/mlp/config.json"
echo '{"max_batch_size": 64, "instances": 2, "drift": {"enable": true, "sample_ratio": 0.1, "window": 1000}}' >"$MODELS/mlp_d10/config.json"
echo '{"max_batch_size": 64, "instances": 2, "drift": {"enable": true, "sample_ratio": 1, "window": 1000}}' >"$MODELS/mlp_d100/config.json"

port_free "$GATEWAY_PORT"
log "starting ServingGateway on $GATEWAY_URL serving ${MODELS_UNDER_TEST[*]}"
dotnet "$GATEWAY_DLL" --models "$MODELS" --urls "$GATEWAY_URL" >"$WORK/gateway.log" 2>&1 &
track $!
wait_ready "$GATEWAY_URL" "$!" "$WORK/gateway.log"

for name in "${MODELS_UNDER_TEST[@]}"; do
    log "warming up $name ($WARMUP)"
    run_wrk "$WORK/warmup.$name.txt" "$SCRIPT" "$GATEWAY_URL/v2/models/$name/infer" "$CONNECTIONS" "$WARMUP"
done

ROWS=()
for round in $(seq "$ROUNDS"); do
    for name in "${MODELS_UNDER_TEST[@]}"; do
        log "round $round: $name ($DURATION, $CONNECTIONS connections)"
        run_wrk "$WORK/$name.r$round.txt" "$SCRIPT" "$GATEWAY_URL/v2/models/$name/infer" "$CONNECTIONS" "$DURATION"
    done
    base="$WORK/mlp.r$round.txt"
    ROWS+=("| $round | $(wrk_cells "$base") | $(wrk_cells "$WORK/mlp_d10.r$round.txt") | $(ratio "$(rps "$WORK/mlp_d10.r$round.txt")" "$(rps "$base")") | $(wrk_cells "$WORK/mlp_d100.r$round.txt") | $(ratio "$(rps "$WORK/mlp_d100.r$round.txt")" "$(rps "$base")") |")
done

# The drift models really were sampled and compared: their windows, from the drift endpoint.
for name in mlp_d10 mlp_d100; do
    curl -fs --max-time 5 "$GATEWAY_URL/v2/models/$name/versions/1/drift" \
        | grep -o '"live":{[^}]*}\|"sampled_rows":[0-9]*\|"dropped_samples":[0-9]*' | tr '\n' ' ' | sed "s/^/$name: /"
    echo
done >"$WORK/drift.txt"

echo
report_header
echo "wrk: -t 2 -c $CONNECTIONS -d $DURATION --latency, mlp_random.lua; warm-up $WARMUP per model; $ROUNDS rounds, models in turn"
echo
echo "| round | drift off req/s | p50 (ms) | p99 (ms) | sample_ratio 0.1 req/s | p50 (ms) | p99 (ms) | ratio | sample_ratio 1 req/s | p50 (ms) | p99 (ms) | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
cat "$WORK/drift.txt"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server log: $WORK"; fi
report_errors
