#!/usr/bin/env bash
# Two builds of ServingGateway side by side on mlp over HTTP: OLD_DLL and NEW_DLL (each a Release
# ServingGateway.dll, e.g. one built in a worktree at an older commit), both running, wrk sending to one
# and then the other, ROUNDS times interleaved. The figure to read is NEW's req/s over OLD's in each round:
# what a change between the two commits costs or saves, free of the HTTP ceiling's own noise.
#
#   ./benchmarks/http/compare-builds.sh OLD_DLL NEW_DLL
#   MODE=json CONNECTIONS=64 ROUNDS=4 ./benchmarks/http/compare-builds.sh OLD_DLL NEW_DLL
#
# Environment: MODE (binary or json: benchmarks/http/mlp_MODE.lua, default binary), CONNECTIONS (default 8),
# DURATION (per run, default 8s), WARMUP (per build, default 10s), ROUNDS (default 4), OLD_PORT (18301),
# NEW_PORT (18302), OUT_DIR. mlp is served as the HTTP harness serves it (64 rows, 2 instances, no cache).
# Needs: dotnet, wrk, curl. Listens on 127.0.0.1 only. Exit status 1 when any run saw errors.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
[[ $# -eq 2 && -f "$1" && -f "$2" ]] || { echo "usage: $0 OLD_DLL NEW_DLL (two ServingGateway.dll files)" >&2; exit 2; }
OLD_DLL="$1"
NEW_DLL="$2"
MODE="${MODE:-binary}"
CONNECTIONS="${CONNECTIONS:-8}"
DURATION="${DURATION:-8s}"
WARMUP="${WARMUP:-10s}"
ROUNDS="${ROUNDS:-4}"
OLD_URL="http://127.0.0.1:${OLD_PORT:-18301}"
NEW_URL="http://127.0.0.1:${NEW_PORT:-18302}"
SCRIPT="$ROOT/benchmarks/http/mlp_$MODE.lua"
[[ -f "$SCRIPT" ]] || { echo "MODE must be binary or json" >&2; exit 2; }

source "$ROOT/benchmarks/lib.sh"
begin_run compare-builds dotnet wrk curl
MODELS="$WORK/models"
mkdir -p "$MODELS/mlp/1"
ln -sf "$ROOT/models/mlp/1/model.onnx" "$MODELS/mlp/1/model.onnx"
echo '{"max_batch_size": 64, "instances": 2}' >"$MODELS/mlp/config.json"
for build in OLD NEW; do
    dll="${build}_DLL"; url="${build}_URL"
    port_free "${!url##*:}"
    log "starting $build (${!dll}) on ${!url}"
    dotnet "${!dll}" --models "$MODELS" --urls "${!url}" >"$WORK/$build.log" 2>&1 &
    track $!
    wait_ready "${!url}" "$!" "$WORK/$build.log"
done
for url in "$OLD_URL" "$NEW_URL"; do run_wrk "$WORK/warmup.txt" "$SCRIPT" "$url$INFER_PATH" "$CONNECTIONS" "$WARMUP"; done

ROWS=()
for round in $(seq "$ROUNDS"); do
    run_wrk "$WORK/old.r$round.txt" "$SCRIPT" "$OLD_URL$INFER_PATH" "$CONNECTIONS" "$DURATION"
    run_wrk "$WORK/new.r$round.txt" "$SCRIPT" "$NEW_URL$INFER_PATH" "$CONNECTIONS" "$DURATION"
    ROWS+=("| $round | $(wrk_cells "$WORK/old.r$round.txt") | $(wrk_cells "$WORK/new.r$round.txt") | $(ratio "$(rps "$WORK/new.r$round.txt")" "$(rps "$WORK/old.r$round.txt")") |")
done

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "mlp $MODE, $CONNECTIONS connections, $DURATION per run, warm-up $WARMUP per build; OLD $OLD_DLL, NEW $NEW_DLL"
echo
echo "| round | OLD req/s | p50 (ms) | p99 (ms) | NEW req/s | p50 (ms) | p99 (ms) | NEW / OLD |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors
