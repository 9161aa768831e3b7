#!/usr/bin/env bash
# mlp infer over HTTP (JSON and binary, 1/8/64 connections) against ServingGateway and against the
# HTTP ceiling of this machine: benchmarks/HttpCeiling, a minimal Kestrel app that reads the request
# body and answers with the response recorded from the real server, byte for byte. Both run side by
# side in one run, rows interleaved, so their ratio is the figure to read; absolute numbers are noisy.
#
#   ./benchmarks/http/run.sh                       # from anywhere; runs from the repository root
#   DURATION=30s WARMUP=10s ./benchmarks/http/run.sh
#
# Environment: DURATION (wrk -d per run, default 10s), WARMUP (per server and mode, default 5s),
# CONNECTIONS (default "1 8 64"), MODES (default "json binary"), GATEWAY_PORT (18000),
# CEILING_PORT (18001), OUT_DIR (keep the raw wrk output and server logs there; default: a temp dir
# removed on exit), SKIP_BUILD=1 (use the existing Release builds).
# Needs: dotnet, wrk, curl. Everything listens on 127.0.0.1 only. Exit status 1 when any run saw
# socket errors or non-2xx responses (they are printed), 0 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-1 8 64}"
MODES="${MODES:-json binary}"
GATEWAY_PORT="${GATEWAY_PORT:-18000}"
CEILING_PORT="${CEILING_PORT:-18001}"
GATEWAY_URL="http://127.0.0.1:${GATEWAY_PORT}"
CEILING_URL="http://127.0.0.1:${CEILING_PORT}"
SCRIPTS="$ROOT/benchmarks/http"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"

source "$ROOT/benchmarks/lib.sh"
begin_run http-bench dotnet wrk curl
build_release src/Gateway benchmarks/HttpCeiling

# --- ServingGateway ---------------------------------------------------------------------------
# mlp as in ./models but without the prediction cache: this measures inference over HTTP, not cache hits.
MODELS="$WORK/models"
mlp_repository "$MODELS"

port_free "$GATEWAY_PORT"
port_free "$CEILING_PORT"
log "starting ServingGateway on $GATEWAY_URL serving mlp"
dotnet "$GATEWAY_DLL" --models "$MODELS" --urls "$GATEWAY_URL" >"$WORK/gateway.log" 2>&1 &
track $!
wait_ready "$GATEWAY_URL" "$!" "$WORK/gateway.log"
for _ in $(seq 240); do
    if curl -fs --max-time 2 -X POST "$GATEWAY_URL/v2/repository/index" \
            | grep -o '{[^{}]*"name":"mlp"[^{}]*}' | grep -q '"state":"READY"'; then
        break
    fi
    sleep 0.5
done
curl -fs --max-time 2 -X POST "$GATEWAY_URL/v2/repository/index" \
    | grep -o '{[^{}]*"name":"mlp"[^{}]*}' | grep -q '"state":"READY"' \
    || { log "mlp is not READY in the repository index"; exit 1; }

# --- HttpCeiling, answering the responses recorded from the server --------------------------------
start_http_ceiling "$GATEWAY_URL" "$CEILING_URL"

# --- wrk --------------------------------------------------------------------------------------
# bench NAME URL MODE CONNECTIONS DURATION -> writes $WORK/NAME.MODE.cCONNECTIONS.txt
bench() {
    run_wrk "$WORK/$1.$3.c$4.txt" "$SCRIPTS/mlp_$3.lua" "$2$INFER_PATH" "$4" "$5"
}

for mode in $MODES; do
    log "warming up ($mode, $WARMUP each)"
    bench warmup-gateway "$GATEWAY_URL" "$mode" 8 "$WARMUP"
    bench warmup-ceiling "$CEILING_URL" "$mode" 8 "$WARMUP"
done

ROWS=()
for mode in $MODES; do
    for conns in $CONNECTIONS; do
        log "$mode, $conns connection(s): ServingGateway, then HttpCeiling ($DURATION each)"
        bench gateway "$GATEWAY_URL" "$mode" "$conns" "$DURATION"
        bench ceiling "$CEILING_URL" "$mode" "$conns" "$DURATION"
        g="$WORK/gateway.$mode.c$conns.txt"
        c="$WORK/ceiling.$mode.c$conns.txt"
        ROWS+=("| $mode | $conns | $(wrk_cells "$g") | $(wrk_cells "$c") | $(ratio "$(rps "$g")" "$(rps "$c")") |")
    done
done

# --- report -----------------------------------------------------------------------------------
echo
report_header
echo "wrk: -t 1 for 1 connection, -t 2 otherwise; -d $DURATION --latency; warm-up $WARMUP per server and mode at 8 connections"
echo
echo "| mode | connections | ServingGateway req/s | p50 (ms) | p99 (ms) | ceiling req/s | p50 (ms) | p99 (ms) | ratio (req/s) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors
