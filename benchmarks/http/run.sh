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
INFER_PATH="/v2/models/mlp/infer"
SCRIPTS="$ROOT/benchmarks/http"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
CEILING_DLL="$ROOT/benchmarks/HttpCeiling/bin/Release/net10.0/HttpCeiling.dll"

source "$ROOT/benchmarks/lib.sh"
begin_run http-bench dotnet wrk curl
build_release src/Gateway benchmarks/HttpCeiling

# --- ServingGateway ---------------------------------------------------------------------------
# mlp as in ./models but without the prediction cache: this measures inference over HTTP, not cache hits.
MODELS="$WORK/models"
mkdir -p "$MODELS/mlp/1"
ln -sf "$ROOT/models/mlp/1/model.onnx" "$MODELS/mlp/1/model.onnx"
echo '{"max_batch_size": 64, "instances": 2}' >"$MODELS/mlp/config.json"

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

# --- record the responses (the same request bytes as mlp_json.lua / mlp_binary.lua) ------------
{
    printf '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
    for i in $(seq 64); do printf '0.5'; [[ $i -lt 64 ]] && printf ','; done
    printf ']}]}'
} >"$WORK/request.json"
BINARY_HEADER='{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}'
{
    printf '%s' "$BINARY_HEADER"
    for _ in $(seq 64); do printf '\x00\x00\x00\x3f'; done
} >"$WORK/request.bin"

record() { # record NAME CONTENT_TYPE BODY_FILE [extra curl args]
    local name="$1" type="$2" body="$3"; shift 3
    local status
    status=$(curl -sS --max-time 10 -X POST -H "Content-Type: $type" "$@" --data-binary "@$body" \
        -D "$WORK/$name.headers" -o "$WORK/$name.body" -w '%{http_code}' "$GATEWAY_URL$INFER_PATH")
    if [[ "$status" != 200 ]]; then
        log "recording the $name response: HTTP $status"; cat "$WORK/$name.body" >&2; echo >&2; exit 1
    fi
}
record json application/json "$WORK/request.json"
record binary application/octet-stream "$WORK/request.bin" \
    -H "Inference-Header-Content-Length: ${#BINARY_HEADER}"
log "recorded: JSON $(wc -c <"$WORK/json.body") B, binary $(wc -c <"$WORK/binary.body") B"

# --- HttpCeiling ------------------------------------------------------------------------------
log "starting HttpCeiling on $CEILING_URL"
dotnet "$CEILING_DLL" --urls "$CEILING_URL" \
    --json-body "$WORK/json.body" --json-headers "$WORK/json.headers" \
    --binary-body "$WORK/binary.body" --binary-headers "$WORK/binary.headers" \
    >"$WORK/ceiling.log" 2>&1 &
track $!
wait_ready "$CEILING_URL" "$!" "$WORK/ceiling.log"

# The ceiling must answer what the server answers: status, headers and body, to the byte.
for mode in json binary; do
    if [[ $mode == json ]]; then
        args=(-H "Content-Type: application/json" --data-binary "@$WORK/request.json")
    else
        args=(-H "Content-Type: application/octet-stream" -H "Inference-Header-Content-Length: ${#BINARY_HEADER}"
            --data-binary "@$WORK/request.bin")
    fi
    curl -fsS --max-time 10 -X POST "${args[@]}" -D "$WORK/check.$mode.headers" -o "$WORK/check.$mode.body" \
        "$CEILING_URL$INFER_PATH"
    cmp -s "$WORK/check.$mode.body" "$WORK/$mode.body" \
        || { log "HttpCeiling's $mode response body differs from the recorded one"; exit 1; }
    # Same status line and headers, in any order, but for Date.
    if ! diff <(tr -d '\r' <"$WORK/$mode.headers" | grep -iv '^date:' | sort) \
              <(tr -d '\r' <"$WORK/check.$mode.headers" | grep -iv '^date:' | sort) >&2; then
        log "HttpCeiling's $mode response headers differ from the recorded ones (< ServingGateway, > HttpCeiling)"
        exit 1
    fi
done

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
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "wrk: -t 1 for 1 connection, -t 2 otherwise; -d $DURATION --latency; warm-up $WARMUP per server and mode at 8 connections"
echo
echo "| mode | connections | ServingGateway req/s | p50 (ms) | p99 (ms) | ceiling req/s | p50 (ms) | p99 (ms) | ratio (req/s) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
report_errors
