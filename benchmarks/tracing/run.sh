#!/usr/bin/env bash
# What tracing costs on mlp: server A has no Telemetry exporter (tracing off: no listener, no span started); server B
# exports OTLP/HTTP to a local sink (otlp_sink.py) and is switched between 1% and 100% of new traces through
# POST /v2/trace/setting before each of its runs. wrk sends varied JSON requests (no traceparent) to A, B at 1% and
# B at 100% in turn, ROUNDS times interleaved, so a change of the machine's load hits the three alike. The figures to
# read are B's req/s over A's in the same round. Neither server caches (mlp's default: no cache).
#
#   ./benchmarks/tracing/run.sh                       # from anywhere; runs from the repository root
#   ROUNDS=5 DURATION=10s CONNECTIONS=8 ./benchmarks/tracing/run.sh
#
# BASELINE_DLL=path/to/ServingGateway.dll adds a fourth server, that build without tracing (e.g. the commit before
# tracing came in, built with `dotnet build -c Release` in a worktree), measured in the same rounds: "tracing off"
# over it is what the tracing code costs when no exporter is set (BASELINE_PORT, default 18023).
#
# PIN=1 pins the servers to core 0 and wrk and the sink to core 1 (taskset), so that what a server can do is bounded
# by its own CPU, not by the load generator's or the sink's (which run elsewhere in production). Every run also
# reports the server's own CPU time per 1000 requests (utime + stime from /proc, before and after the run): the cost
# of tracing to the server itself, whatever else shares the machine.
#
# Environment: DURATION (wrk -d per run, default 10s), WARMUP (per server, default 30s: pinned to one core, a
# server's JIT tiering needs 20-30 s of load to settle), ROUNDS (default 3), CONNECTIONS (default 8), OFF_PORT
# (18020), TRACED_PORT (18021), SINK_PORT (18022), OUT_DIR (keep raw wrk output and the server logs there),
# SKIP_BUILD=1 (use the existing Release build). Needs: dotnet, wrk, curl, python3.
# Listens on 127.0.0.1 only. Exit status 1 when any run saw socket errors or non-2xx responses.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-30s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-8}"
OFF_PORT="${OFF_PORT:-18020}"
TRACED_PORT="${TRACED_PORT:-18021}"
SINK_PORT="${SINK_PORT:-18022}"
BASELINE_PORT="${BASELINE_PORT:-18023}"
BASELINE_DLL="${BASELINE_DLL:-}"
BASELINE_URL="http://127.0.0.1:${BASELINE_PORT}"
OFF_URL="http://127.0.0.1:${OFF_PORT}"
TRACED_URL="http://127.0.0.1:${TRACED_PORT}"
SCRIPT="$ROOT/benchmarks/drift/mlp_random.lua"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"

source "$ROOT/benchmarks/lib.sh"
begin_run tracing-bench dotnet wrk curl python3
build_release src/Gateway

for port in "$OFF_PORT" "$TRACED_PORT" "$SINK_PORT"; do port_free "$port"; done
SERVER_PIN=()
SIDE_PIN=()
if [[ "${PIN:-0}" == 1 ]]; then
    command -v taskset >/dev/null || { log "taskset not found (util-linux)"; exit 2; }
    SERVER_PIN=(taskset -c 0)
    SIDE_PIN=(taskset -c 1)
    WRK_PREFIX=(taskset -c 1)
fi
"${SIDE_PIN[@]}" python3 "$ROOT/benchmarks/tracing/otlp_sink.py" "$SINK_PORT" >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
track $SINK_PID

log "starting ServingGateway without tracing on $OFF_URL"
"${SERVER_PIN[@]}" dotnet "$GATEWAY_DLL" --models "$ROOT/models" --urls "$OFF_URL" >"$WORK/off.log" 2>&1 &
OFF_PID=$!
track $!
wait_ready "$OFF_URL" "$!" "$WORK/off.log"
log "starting ServingGateway exporting to the sink on $TRACED_URL"
"${SERVER_PIN[@]}" dotnet "$GATEWAY_DLL" --models "$ROOT/models" --urls "$TRACED_URL" \
    --Telemetry:OtlpEndpoint "http://127.0.0.1:$SINK_PORT" --Telemetry:SampleRatio 0.01 >"$WORK/traced.log" 2>&1 &
TRACED_PID=$!
track $!
wait_ready "$TRACED_URL" "$!" "$WORK/traced.log"

if [[ -n "$BASELINE_DLL" ]]; then
    port_free "$BASELINE_PORT"
    log "starting the baseline build $BASELINE_DLL on $BASELINE_URL"
    dotnet "$BASELINE_DLL" --models "$ROOT/models" --urls "$BASELINE_URL" >"$WORK/baseline.log" 2>&1 &
    track $!
    wait_ready "$BASELINE_URL" "$!" "$WORK/baseline.log"
    run_wrk "$WORK/warmup.baseline.txt" "$SCRIPT" "$BASELINE_URL/v2/models/mlp/infer" "$CONNECTIONS" "$WARMUP"
fi

sample() { # trace_rate: one new trace in N
    curl -fs --max-time 5 -H 'Content-Type: application/json' -d "{\"trace_level\": [\"TIMESTAMPS\"], \"trace_rate\": \"$1\"}" \
        "$TRACED_URL/v2/trace/setting" >/dev/null
}

log "warming up ($WARMUP each)"
run_wrk "$WORK/warmup.off.txt" "$SCRIPT" "$OFF_URL/v2/models/mlp/infer" "$CONNECTIONS" "$WARMUP"
sample 1
run_wrk "$WORK/warmup.traced.txt" "$SCRIPT" "$TRACED_URL/v2/models/mlp/infer" "$CONNECTIONS" "$WARMUP"

# measured OUT PID URL: one wrk run against URL, with PID's CPU ms per 1000 requests written to OUT.cpu.
measured() { run_wrk_cpu "$2" "$1" "$SCRIPT" "$3/v2/models/mlp/infer" "$CONNECTIONS" "$DURATION"; }
cpu() { cat "$1.cpu"; }

ROWS=()
CPU_ROWS=()
BASE_ROWS=()
for round in $(seq "$ROUNDS"); do
    if [[ -n "$BASELINE_DLL" ]]; then
        log "round $round: the baseline build ($DURATION, $CONNECTIONS connections)"
        run_wrk "$WORK/baseline.r$round.txt" "$SCRIPT" "$BASELINE_URL/v2/models/mlp/infer" "$CONNECTIONS" "$DURATION"
    fi
    log "round $round: tracing off ($DURATION, $CONNECTIONS connections)"
    measured "$WORK/off.r$round.txt" "$OFF_PID" "$OFF_URL"
    log "round $round: 1% of requests traced"
    sample 100
    measured "$WORK/p1.r$round.txt" "$TRACED_PID" "$TRACED_URL"
    log "round $round: every request traced"
    sample 1
    measured "$WORK/p100.r$round.txt" "$TRACED_PID" "$TRACED_URL"
    CPU_ROWS+=("| $round | $(cpu "$WORK/off.r$round.txt") | $(cpu "$WORK/p1.r$round.txt") | $(ratio "$(cpu "$WORK/off.r$round.txt")" "$(cpu "$WORK/p1.r$round.txt")") | $(cpu "$WORK/p100.r$round.txt") | $(ratio "$(cpu "$WORK/off.r$round.txt")" "$(cpu "$WORK/p100.r$round.txt")") |")
    base="$WORK/off.r$round.txt"
    if [[ -n "$BASELINE_DLL" ]]; then
        BASE_ROWS+=("| $round | $(wrk_cells "$WORK/baseline.r$round.txt") | $(wrk_cells "$base") | $(ratio "$(rps "$base")" "$(rps "$WORK/baseline.r$round.txt")") |")
    fi
    ROWS+=("| $round | $(wrk_cells "$base") | $(wrk_cells "$WORK/p1.r$round.txt") | $(ratio "$(rps "$WORK/p1.r$round.txt")" "$(rps "$base")") | $(wrk_cells "$WORK/p100.r$round.txt") | $(ratio "$(rps "$WORK/p100.r$round.txt")" "$(rps "$base")") |")
done

# The spans really went out: the sink's count (it prints on SIGTERM).
kill -TERM "$SINK_PID"
wait "$SINK_PID" 2>/dev/null || true

echo
report_header
echo "wrk: -t 2 -c $CONNECTIONS -d $DURATION --latency, mlp_random.lua; warm-up $WARMUP per server; $ROUNDS rounds, in turn$([[ "${PIN:-0}" == 1 ]] && echo "; servers pinned to core 0, wrk and the sink to core 1")"
echo
echo "| round | tracing off req/s | p50 (ms) | p99 (ms) | 1% traced req/s | p50 (ms) | p99 (ms) | ratio | 100% traced req/s | p50 (ms) | p99 (ms) | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "The server's own CPU per 1000 requests (ms; ratio: off over traced, what its capacity would be beside tracing off's):"
echo
echo "| round | tracing off CPU ms/1000 | 1% traced | ratio | 100% traced | ratio |"
echo "|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${CPU_ROWS[@]}"
echo
if [[ -n "$BASELINE_DLL" ]]; then
    echo "Tracing off against the baseline build ($BASELINE_DLL):"
    echo
    echo "| round | baseline req/s | p50 (ms) | p99 (ms) | tracing off req/s | p50 (ms) | p99 (ms) | ratio |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${BASE_ROWS[@]}"
    echo
fi
cat "$WORK/sink.log"
# The spans that reached the sink per recorded request: every request of the 100% runs and the traced warm-up, and one
# in a hundred of the 1% runs. Below the spans a request makes (docs/BENCHMARKS.md), the rest were dropped by
# OpenTelemetry's batch processor, whose queue is full whenever the exporter waits on the sink.
recorded="$(cat "$WORK"/warmup.traced.txt "$WORK"/p100.r*.txt | awk '/requests in/ { n += $1 } END { print n }')"
recorded="$(cat "$WORK"/p1.r*.txt | awk -v n="$recorded" '/requests in/ { n += $1 / 100 } END { printf "%d", n }')"
spans="$(sed -n 's/.* \([0-9]*\) spans$/\1/p' "$WORK/sink.log")"
awk -v s="${spans:-0}" -v n="$recorded" 'BEGIN { printf "spans received per recorded request: %.2f (%d spans, about %d recorded requests)\n", s / n, s, n }'
if grep -qi "exception\|fail" "$WORK/traced.log"; then echo "the traced server logged errors: see $WORK/traced.log"; fi
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors
