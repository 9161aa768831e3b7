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
# NEW_PORT (18302), OUT_DIR, PIN (1: both servers on core 0 and wrk on core 1, taskset, so that each build's
# figure is bounded by its own CPU rather than by wrk's share of two cores). mlp is served as the HTTP harness
# serves it (64 rows, 2 instances, no cache). Each row also gives each server's CPU time per request over its run.
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
SERVER_PIN=()
if [[ "${PIN:-0}" == 1 ]]; then
    command -v taskset >/dev/null || { log "taskset not found (util-linux)"; exit 2; }
    SERVER_PIN=(taskset -c 0)
    WRK_PREFIX=(taskset -c 1)
fi
MODELS="$WORK/models"
mlp_repository "$MODELS"
for build in OLD NEW; do
    dll="${build}_DLL"; url="${build}_URL"
    port_free "${!url##*:}"
    log "starting $build (${!dll}) on ${!url}"
    "${SERVER_PIN[@]}" dotnet "${!dll}" --models "$MODELS" --urls "${!url}" >"$WORK/$build.log" 2>&1 &
    track $!
    printf -v "${build}_PID" '%s' "$!"
    wait_ready "${!url}" "$!" "$WORK/$build.log"
done
for url in "$OLD_URL" "$NEW_URL"; do run_wrk "$WORK/warmup.txt" "$SCRIPT" "$url$INFER_PATH" "$CONNECTIONS" "$WARMUP"; done

ROWS=()
for round in $(seq "$ROUNDS"); do
    run_wrk_cpu "$OLD_PID" "$WORK/old.r$round.txt" "$SCRIPT" "$OLD_URL$INFER_PATH" "$CONNECTIONS" "$DURATION"
    run_wrk_cpu "$NEW_PID" "$WORK/new.r$round.txt" "$SCRIPT" "$NEW_URL$INFER_PATH" "$CONNECTIONS" "$DURATION"
    ROWS+=("| $round | $(wrk_cells "$WORK/old.r$round.txt") | $(cat "$WORK/old.r$round.txt.cpu") | $(wrk_cells "$WORK/new.r$round.txt") | $(cat "$WORK/new.r$round.txt.cpu") | $(ratio "$(rps "$WORK/new.r$round.txt")" "$(rps "$WORK/old.r$round.txt")") |")
done

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "mlp $MODE, $CONNECTIONS connections, $DURATION per run, warm-up $WARMUP per build; OLD $OLD_DLL, NEW $NEW_DLL$([[ ${#SERVER_PIN[@]} -gt 0 ]] && echo "; servers on core 0, wrk on core 1")"
echo
echo "| round | OLD req/s | p50 (ms) | p99 (ms) | CPU µs/req | NEW req/s | p50 (ms) | p99 (ms) | CPU µs/req | NEW / OLD |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors
