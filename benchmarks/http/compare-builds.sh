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
# TOGETHER (1: both servers on core 0, each in a CPU cgroup of equal weight, loaded at the same time by two wrk on
# core 1; each round's NEW / OLD is then the inverse of their CPU cost a request, measured under the same moment's
# noise. On a shared VM, where a server's CPU per request swings by half from one 8 s run to the next, this holds
# within a few percent where taking turns did not. Needs root for the cgroups; without them the scheduler shares by
# thread, and the script says so.) OLD_ARGS, NEW_ARGS: extra arguments for that server, e.g. the same DLL twice with
# NEW_ARGS="--Telemetry:OtlpEndpoint http://127.0.0.1:4318" to measure a setting.
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
[[ "${TOGETHER:-0}" != 1 ]] || PIN=1
if [[ "${PIN:-0}" == 1 ]]; then
    command -v taskset >/dev/null || { log "taskset not found (util-linux)"; exit 2; }
    SERVER_PIN=(taskset -c 0)
    WRK_PREFIX=(taskset -c 1)
fi
MODELS="$WORK/models"
mlp_repository "$MODELS"
for build in OLD NEW; do
    dll="${build}_DLL"; url="${build}_URL"; extra="${build}_ARGS"
    port_free "${!url##*:}"
    log "starting $build (${!dll}) on ${!url}"
    read -r -a args <<<"${!extra:-}"
    "${SERVER_PIN[@]}" dotnet "${!dll}" --models "$MODELS" --urls "${!url}" "${args[@]}" >"$WORK/$build.log" 2>&1 &
    track $!
    printf -v "${build}_PID" '%s' "$!"
    wait_ready "${!url}" "$!" "$WORK/$build.log"
done

# TOGETHER: each server in a CPU cgroup of its own, equal weight (v2 cpu.weight or v1 cpu.shares), so that the two
# processes, not their threads, share core 0 evenly.
CGROUPS=()
if [[ "${TOGETHER:-0}" == 1 ]]; then
    for build in OLD NEW; do
        pid="${build}_PID"
        if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
            group="/sys/fs/cgroup/sg-compare-$build-$$"
            { echo +cpu >/sys/fs/cgroup/cgroup.subtree_control && mkdir "$group" && echo 100 >"$group/cpu.weight"; } 2>/dev/null || group=""
        else
            group="/sys/fs/cgroup/cpu/sg-compare-$build-$$"
            { mkdir "$group" && echo 1024 >"$group/cpu.shares"; } 2>/dev/null || group=""
        fi
        if [[ -n "$group" ]] && echo "${!pid}" >"$group/cgroup.procs" 2>/dev/null; then
            CGROUPS+=("$group")
        else
            log "no CPU cgroup for $build (not root, or no cpu controller): the scheduler shares core 0 by thread"
        fi
    done
    # The cgroups go once the servers have stopped (stop, on exit, kills them first).
    trap 'stop; for g in "${CGROUPS[@]}"; do rmdir "$g" 2>/dev/null || true; done' EXIT
fi

# measure BUILD TAG DURATION: one wrk run against BUILD (OLD or NEW) into $WORK/old|new.TAG.txt, with its CPU a request.
measure() {
    local pid="${1}_PID" url="${1}_URL"
    run_wrk_cpu "${!pid}" "$WORK/${1,,}.$2.txt" "$SCRIPT" "${!url}$INFER_PATH" "$CONNECTIONS" "$3"
}

# run_round TAG DURATION: OLD then NEW in turn, or (TOGETHER) both at once.
run_round() {
    if [[ "${TOGETHER:-0}" != 1 ]]; then
        measure OLD "$1" "$2"
        measure NEW "$1" "$2"
        return
    fi

    # The two run in subshells, whose ERRORS this shell does not see: their outputs are checked after.
    ( measure OLD "$1" "$2" ) & local old=$!
    ( measure NEW "$1" "$2" ) & local new=$!
    wait "$old" && wait "$new" || { log "a wrk run failed"; exit 1; }
    note_errors "$WORK/old.$1.txt"
    note_errors "$WORK/new.$1.txt"
}

run_round warmup "$WARMUP"

ROWS=()
for round in $(seq "$ROUNDS"); do
    run_round "r$round" "$DURATION"
    ROWS+=("| $round | $(wrk_cells "$WORK/old.r$round.txt") | $(cat "$WORK/old.r$round.txt.cpu") | $(wrk_cells "$WORK/new.r$round.txt") | $(cat "$WORK/new.r$round.txt.cpu") | $(ratio "$(rps "$WORK/new.r$round.txt")" "$(rps "$WORK/old.r$round.txt")") |")
done

echo
report_header
echo "mlp $MODE, $CONNECTIONS connections, $DURATION per run, warm-up $WARMUP per build; OLD $OLD_DLL, NEW $NEW_DLL$([[ ${#SERVER_PIN[@]} -gt 0 ]] && echo "; servers on core 0, wrk on core 1")$([[ "${TOGETHER:-0}" == 1 ]] && echo "; both loaded at once, ${#CGROUPS[@]} of 2 servers in equal CPU cgroups")"
echo
echo "| round | OLD req/s | p50 (ms) | p99 (ms) | CPU µs/req | NEW req/s | p50 (ms) | p99 (ms) | CPU µs/req | NEW / OLD |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors
