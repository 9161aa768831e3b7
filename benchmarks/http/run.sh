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

for tool in dotnet wrk curl; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 2; }
done

if [[ -n "${OUT_DIR:-}" ]]; then
    mkdir -p "$OUT_DIR"
    WORK="$(cd "$OUT_DIR" && pwd)"
    KEEP_WORK=1
else
    WORK="$(mktemp -d -t http-bench.XXXXXX)"
    KEEP_WORK=0
fi

GATEWAY_PID=""
CEILING_PID=""
stop() {
    local pid
    for pid in "$GATEWAY_PID" "$CEILING_PID"; do
        [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
    done
    for pid in "$GATEWAY_PID" "$CEILING_PID"; do
        [[ -z "$pid" ]] && continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    done
    GATEWAY_PID=""
    CEILING_PID=""
    if [[ "$KEEP_WORK" == 0 ]]; then rm -rf "$WORK"; fi
}
trap stop EXIT
trap 'exit 130' INT TERM

log() { echo "run.sh: $*" >&2; }

# Fails when something already listens on the port, so we never measure a stale server.
port_free() {
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; then
        log "something already listens on 127.0.0.1:$1"; exit 2
    fi
}

# wait_ready URL PID LOG: health/ready 200 within 120 s, while the process lives.
wait_ready() {
    local url="$1" pid="$2" logfile="$3"
    for _ in $(seq 240); do
        kill -0 "$pid" 2>/dev/null || { log "server exited; log:"; cat "$logfile" >&2; exit 1; }
        if curl -fs -o /dev/null --max-time 2 "$url/v2/health/ready"; then return 0; fi
        sleep 0.5
    done
    log "$url not ready after 120 s; log:"; tail -50 "$logfile" >&2; exit 1
}

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- build ------------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building ServingGateway and HttpCeiling (Release)"
    timeout 900 dotnet build src/Gateway -c Release -nologo -v quiet >"$WORK/build.log" 2>&1 \
        || { cat "$WORK/build.log" >&2; exit 1; }
    timeout 900 dotnet build benchmarks/HttpCeiling -c Release -nologo -v quiet >>"$WORK/build.log" 2>&1 \
        || { cat "$WORK/build.log" >&2; exit 1; }
fi

# --- ServingGateway ---------------------------------------------------------------------------
port_free "$GATEWAY_PORT"
port_free "$CEILING_PORT"
log "starting ServingGateway on $GATEWAY_URL serving ./models"
dotnet "$GATEWAY_DLL" --models models --urls "$GATEWAY_URL" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_ready "$GATEWAY_URL" "$GATEWAY_PID" "$WORK/gateway.log"
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
CEILING_PID=$!
wait_ready "$CEILING_URL" "$CEILING_PID" "$WORK/ceiling.log"

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
seconds() { # 10s / 2m / 1h / 10 -> seconds
    local d="$1"
    case "$d" in
        *s) echo "${d%s}" ;; *m) echo $(( ${d%m} * 60 )) ;; *h) echo $(( ${d%h} * 3600 )) ;; *) echo "$d" ;;
    esac
}

ERRORS=()
# bench NAME URL MODE CONNECTIONS DURATION -> writes $WORK/NAME.MODE.cCONNECTIONS.txt
bench() {
    local name="$1" url="$2" mode="$3" conns="$4" duration="$5"
    local threads=2 out="$WORK/$name.$mode.c$conns.txt"
    [[ "$conns" -lt 2 ]] && threads=1
    timeout $(( $(seconds "$duration") + 60 )) \
        wrk -t "$threads" -c "$conns" -d "$duration" --latency -s "$SCRIPTS/mlp_$mode.lua" "$url$INFER_PATH" >"$out" 2>&1 \
        || { log "wrk failed ($name $mode c=$conns):"; cat "$out" >&2; exit 1; }
    local bad
    bad=$(grep -E 'Socket errors|Non-2xx' "$out" || true)
    if [[ -n "$bad" ]]; then
        ERRORS+=("$name $mode c=$conns: $(echo "$bad" | tr '\n' ';' | tr -s ' ')")
        log "$name $mode c=$conns:"; echo "$bad" >&2
    fi
}

# Latency as wrk prints it (123.45us, 1.23ms, 1.02s, 2.00m) -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        if (n < 1) printf "%.3f", n; else if (n < 100) printf "%.2f", n; else printf "%.0f", n }'
}
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
pct() { awk -v p="$2%" '$1 == p { print $2 }' "$1"; }

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
        ratio=$(awk -v a="$(rps "$g")" -v b="$(rps "$c")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        ROWS+=("| $mode | $conns | $(printf '%.0f' "$(rps "$g")") | $(to_ms "$(pct "$g" 50)") | $(to_ms "$(pct "$g" 99)") | $(printf '%.0f' "$(rps "$c")") | $(to_ms "$(pct "$c" 50)") | $(to_ms "$(pct "$c" 99)") | $ratio |")
    done
done

# --- report -----------------------------------------------------------------------------------
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), .NET SDK $(dotnet --version), $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "wrk: -t 1 for 1 connection, -t 2 otherwise; -d $DURATION --latency; warm-up $WARMUP per server and mode at 8 connections"
echo
echo "| mode | connections | ServingGateway req/s | p50 (ms) | p99 (ms) | ceiling req/s | p50 (ms) | p99 (ms) | ratio (req/s) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw wrk output and server logs: $WORK"; fi
if [[ ${#ERRORS[@]} -gt 0 ]]; then
    echo "Errors (socket errors or non-2xx responses):"
    printf '  %s\n' "${ERRORS[@]}"
    exit 1
fi
echo "No socket errors or non-2xx responses."
