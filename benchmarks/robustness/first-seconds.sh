#!/usr/bin/env bash
# The first seconds after a start: each variant's server started fresh and alone (one at a time), STARTS (6) times,
# variants interleaved (start 1 of each, then start 2 of each, ...), under issue 11's load (mlp JSON, CONNECTIONS
# (64) connections, every body different). Per start: the first ROUND (10 s) after ready, then ROUND more of load,
# then a steady ROUND; and issue 11's first-10 s target on that start alone (first p99 <= 2 x the steady p99). Then
# each variant's medians over its starts, and how many starts met the target.
# SLICES=1: the first 10 s as ten 1 s wrk runs instead, each second's req/s and p99 printed (where they go).
#
#   ./benchmarks/robustness/first-seconds.sh                                  # default vs bare
#   VARIANTS="default bare pgo-off tc-default" STARTS=3 ./benchmarks/robustness/first-seconds.sh
#   SLICES=1 STARTS=2 ./benchmarks/robustness/first-seconds.sh
#
# Variants: benchmarks/robustness/variants.sh. Environment: VARIANTS (default bare), STARTS, ROUND (10s),
# CONNECTIONS, PORT (18530), OUT_DIR (keep raw outputs), SKIP_BUILD=1. Needs dotnet, wrk, curl, bc.
# Exit status 1 when a run saw socket errors or non-2xx responses.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"
begin_run robustness-first dotnet wrk curl bc
source "$ROOT/benchmarks/robustness/variants.sh"
read -r -a NAMES <<<"${VARIANTS:-default bare}"
STARTS="${STARTS:-6}"
URL="http://127.0.0.1:${PORT:-18530}"
build_release src/Gateway

ROWS=()
declare -A SUMMARY
for start in $(seq "$STARTS"); do
    for name in "${NAMES[@]}"; do
        variant "$name"
        variant_models "$WORK/models-$name"
        port_free "${URL##*:}"
        log "start $start: $name ${ENV_ARGS[*]} ${SERVER_ARGS[*]}"
        launched=$(date +%s.%N)
        env "${ENV_ARGS[@]}" dotnet "$GATEWAY_DLL" --models "$WORK/models-$name" --urls "$URL" "${SERVER_ARGS[@]}" >"$WORK/$name.$start.log" 2>&1 &
        pid=$!
        track "$pid"
        wait_ready "$URL" "$pid" "$WORK/$name.$start.log"
        ready=$(printf '%.1f' "$(echo "$(date +%s.%N) - $launched" | bc)")
        out="$WORK/$name.$start"
        if [[ "${SLICES:-0}" == 1 ]]; then
            cells=""
            for s in $(seq "$(seconds "$ROUND")"); do
                run_wrk "$out.s$s.txt" "$MIXED" "$URL$INFER_PATH" "$CONNECTIONS" 1s
                cells="$cells | $(printf '%.0f' "$(rps "$out.s$s.txt")") / $(p99_ms "$out.s$s.txt")"
            done
            ROWS+=("| $start | $name | $ready$cells |")
        else
            run_wrk "$out.first.txt" "$MIXED" "$URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
            run_wrk "$out.between.txt" "$MIXED" "$URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
            run_wrk "$out.steady.txt" "$MIXED" "$URL$INFER_PATH" "$CONNECTIONS" "$ROUND"
            first_rps=$(printf '%.0f' "$(rps "$out.first.txt")"); first_p99=$(p99_ms "$out.first.txt")
            steady_rps=$(printf '%.0f' "$(rps "$out.steady.txt")"); steady_p99=$(p99_ms "$out.steady.txt")
            met=$(awk -v f="$first_p99" -v s="$steady_p99" 'BEGIN { print (f <= 2 * s) ? "met" : "missed" }')
            ROWS+=("| $start | $name | $ready | $first_rps | $first_p99 | $steady_rps | $steady_p99 | $met |")
            SUMMARY[$name]+="$first_rps $first_p99 $steady_rps $steady_p99 $met"$'\n'
        fi
        kill_wait "$pid"
    done
done

echo
report_header
echo "wrk -t 2 -c $CONNECTIONS --latency, benchmarks/robustness/mlp_mixed.lua, every body different; each start a fresh server alone"
echo
if [[ "${SLICES:-0}" == 1 ]]; then
    header="| start | variant | ready after (s)"; rule="|---|---|---:"
    for s in $(seq "$(seconds "$ROUND")"); do header="$header | second $s req/s / p99 (ms)"; rule="$rule|---:"; done
    echo "$header |"; echo "$rule|"
    printf '%s\n' "${ROWS[@]}"
else
    echo "| start | variant | ready after (s) | first $ROUND req/s | p99 (ms) | steady req/s | p99 (ms) | first p99 <= 2 x steady p99 |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "| variant | median first req/s | median first p99 (ms) | median steady req/s | median steady p99 (ms) | target met |"
    echo "|---|---:|---:|---:|---:|---:|"
    for name in "${NAMES[@]}"; do
        rows="${SUMMARY[$name]}"
        col() { printf '%s' "$rows" | awk -v c="$1" 'NF { print $c }' | median; }
        echo "| $name | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(printf '%s' "$rows" | grep -c ' met$') of $STARTS |"
    done
fi
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw outputs: $WORK"; fi
report_errors
