#!/usr/bin/env bash
# A/B of server variants under issue 11's load (mlp JSON, CONNECTIONS (64) connections, every body
# different), interleaved in one run so that a shared machine's noise falls on every variant alike: all
# variants start at once, then ROUNDS (3) rounds of ROUND (10 s) per variant, in turn. Per round and
# variant: req/s, p99, max, RSS after, and from the server's own /metrics over the round: CPU
# microseconds per request (process_cpu_seconds_total), gen0/gen1/gen2 collections, mean batch rows.
# CPU per request does not depend on how fast the machine let the run go: read it first on a busy machine.
#
#   ./benchmarks/robustness/ab.sh                                  # default vs cache off
#   VARIANTS="default cache-off bloom-small gen0-64mb" ./benchmarks/robustness/ab.sh
#
# Variants: benchmarks/robustness/variants.sh (default, cache-off, admission-always, bloom-small, gen0-64mb,
# tiered-off, pgo-off, tc-default, bare). Environment: VARIANTS, ROUND (10s), WARMUP (5s per variant), ROUNDS (3),
# CONNECTIONS (64), BASE_PORT (18520), OUT_DIR (keep raw outputs), SKIP_BUILD=1, FIRST=1 (before the warm-up, one ROUND per variant right
# after all are ready, in turn: the first seconds after a start; later variants wait idle for the earlier ones).
# Needs dotnet, wrk, curl. Exit status 1 when a run saw socket errors or non-2xx responses.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"
source "$ROOT/benchmarks/robustness/variants.sh"

read -r -a NAMES <<<"${VARIANTS:-default cache-off}"
WARMUP="${WARMUP:-5s}"
ROUNDS="${ROUNDS:-3}"
BASE_PORT="${BASE_PORT:-18520}"

begin_run robustness-ab dotnet wrk curl
build_release src/Gateway

declare -A PID URL
port="$BASE_PORT"
for name in "${NAMES[@]}"; do
    variant "$name"
    models="$WORK/models-$name"
    variant_models "$models"
    URL[$name]="http://127.0.0.1:$port"
    port_free "$port"
    log "starting $name on ${URL[$name]} ${ENV_ARGS[*]} ${SERVER_ARGS[*]}"
    env "${ENV_ARGS[@]}" dotnet "$GATEWAY_DLL" --models "$models" --urls "${URL[$name]}" "${SERVER_ARGS[@]}" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    track "$!"
    port=$((port + 1))
done
for name in "${NAMES[@]}"; do wait_ready "${URL[$name]}" "${PID[$name]}" "$WORK/$name.log"; done

metric() { # metric FILE NAME-REGEX: the value of the first matching sample
    awk -v re="^$2 " '$0 ~ re { print $NF; exit }' "$1"
}
scrape() { curl -fs "${URL[$1]}/metrics" >"$2"; }
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/${PID[$1]}/status"; }

FIRST_ROWS=()
if [[ "${FIRST:-0}" == 1 ]]; then
    for name in "${NAMES[@]}"; do
        log "first $ROUND after ready: $name"
        out="$WORK/first.$name.txt"
        run_wrk "$out" "$MIXED" "${URL[$name]}$INFER_PATH" "$CONNECTIONS" "$ROUND"
        FIRST_ROWS+=("| first | $name | $(printf '%.0f' "$(rps "$out")") | $(to_ms "$(pct "$out" 99)") | $(to_ms "$(awk '$1 == "Latency" { print $4; exit }' "$out")") | $(rss_mb "$name") | | | |")
    done
fi

for name in "${NAMES[@]}"; do
    log "warming up $name ($WARMUP)"
    run_wrk "$WORK/warmup.$name.txt" "$MIXED" "${URL[$name]}$INFER_PATH" "$CONNECTIONS" "$WARMUP"
done

ROWS=()
for round in $(seq "$ROUNDS"); do
    for name in "${NAMES[@]}"; do
        log "round $round: $name ($ROUND)"
        scrape "$name" "$WORK/before.$name.$round.prom"
        out="$WORK/$name.$round.txt"
        run_wrk "$out" "$MIXED" "${URL[$name]}$INFER_PATH" "$CONNECTIONS" "$ROUND"
        scrape "$name" "$WORK/after.$name.$round.prom"
        b="$WORK/before.$name.$round.prom"; a="$WORK/after.$name.$round.prom"
        requests=$(awk '/requests in/ { print $1; exit }' "$out")
        delta() { awk -v x="$(metric "$a" "$1")" -v y="$(metric "$b" "$1")" 'BEGIN { print x - y }'; }
        cpu_us=$(awk -v d="$(delta process_cpu_seconds_total)" -v n="$requests" 'BEGIN { printf "%.1f", d * 1e6 / n }')
        batches=$(delta 'sg_batch_size_count\{model="mlp",version="1"\}')
        rows=$(delta 'sg_batch_size_sum\{model="mlp",version="1"\}')
        mean_rows=$(awk -v r="$rows" -v b="$batches" 'BEGIN { if (b > 0) printf "%.1f", r / b; else print "n/a" }')
        gcs="$(delta 'dotnet_collection_count_total\{generation="0"\}')/$(delta 'dotnet_collection_count_total\{generation="1"\}')/$(delta 'dotnet_collection_count_total\{generation="2"\}')"
        ROWS+=("| $round | $name | $(printf '%.0f' "$(rps "$out")") | $(to_ms "$(pct "$out" 99)") | $(to_ms "$(awk '$1 == "Latency" { print $4; exit }' "$out")") | $(rss_mb "$name") | $cpu_us | $gcs | $mean_rows |")
    done
done

echo
report_header
echo "wrk -t 2 -c $CONNECTIONS -d $ROUND --latency, benchmarks/robustness/mlp_mixed.lua, every body different; warm-up $WARMUP per variant"
echo
echo "| round | variant | req/s | p99 (ms) | max (ms) | RSS after (MB) | CPU µs/request | GCs gen0/1/2 | mean batch rows |"
echo "|---|---|---:|---:|---:|---:|---:|---|---:|"
if [[ ${#FIRST_ROWS[@]} -gt 0 ]]; then printf '%s\n' "${FIRST_ROWS[@]}"; fi
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw outputs: $WORK"; fi
report_errors
