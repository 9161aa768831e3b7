#!/usr/bin/env bash
# gRPC against REST binary on one standalone server (both listeners on 127.0.0.1), measured with the load tool:
# mlp and minilm at 1, 16 and 64 concurrent streams (closed loop), REST with the binary tensor data extension
# (--binary, one HTTP/1.1 connection per stream) and gRPC ModelInfer with raw_input_contents (--protocol grpc,
# GRPC_CONNECTIONS HTTP/2 connections shared by the streams). Rounds are interleaved, REST then gRPC, ROUNDS times
# per row, so drift on a shared machine hits both; a row shows the median of its rounds (items/s, p50, p99) and
# the largest max, and the ratio gRPC/REST of the median items/s. Batch of 1 per request: items/s = answers/s.
# The server and the load tool share the machine's cores, so each row also shows the CPU time per request of the
# server and of the load tool (medians of the rounds): a client that costs more CPU leaves less to the server.
#
#   ./benchmarks/grpc/run.sh                       # from anywhere; runs from the repository root
#   DURATION=20s ROUNDS=5 ./benchmarks/grpc/run.sh
#
# Environment: DURATION (measured time per round, default 8s, at least 5s), WARMUP (per round, default 2s), ROUNDS (default
# 3), STREAMS (default "1 16 64"), MODELS (default "mlp minilm"), MINILM_DIM (--dim for minilm, default "*=1,16":
# 16 tokens), GRPC_CONNECTIONS (the load tool's --connections for gRPC, default 1), HTTP_PORT (18200), GRPC_PORT
# (18201), OUT_DIR (keep the load tool's reports and the server log there; default: a temp dir removed on exit),
# SKIP_BUILD=1 (use the existing Release builds). Needs: dotnet, curl, jq; ./models/mlp and ./models/minilm
# (./models/fetch.sh is run when minilm is missing). Exit status 1 when any round saw an error (printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-8s}"
WARMUP="${WARMUP:-2s}"
ROUNDS="${ROUNDS:-3}"
STREAMS="${STREAMS:-1 16 64}"
MODELS="${MODELS:-mlp minilm}"
MINILM_DIM="${MINILM_DIM:-*=1,16}"
GRPC_CONNECTIONS="${GRPC_CONNECTIONS:-1}"
HTTP_PORT="${HTTP_PORT:-18200}"
GRPC_PORT="${GRPC_PORT:-18201}"
HTTP_URL="http://127.0.0.1:${HTTP_PORT}"
GRPC_URL="http://127.0.0.1:${GRPC_PORT}"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
TOOL_DLL="$ROOT/loadtests/bin/Release/net10.0/ServingGateway.LoadTool.dll"

source "$ROOT/benchmarks/lib.sh"
begin_run grpc-bench dotnet curl jq
[[ $(seconds "$DURATION") -ge 5 ]] || { log "DURATION must be at least 5s (the CPU window is DURATION - 3 s)"; exit 2; }
[[ -f models/minilm/1/model.onnx ]] || { log "models/minilm missing: running ./models/fetch.sh"; ./models/fetch.sh >&2; }
build_release src/Gateway loadtests

# --- the server: mlp and minilm as in ./models but without the prediction cache (inference, not cache hits) ---
REPO="$WORK/models"
for model in $MODELS; do
    mkdir -p "$REPO/$model/1"
    ln -sf "$ROOT/models/$model/1/model.onnx" "$REPO/$model/1/model.onnx"
    for extra in "$ROOT/models/$model"/*.txt; do [[ -f "$extra" ]] && ln -sf "$extra" "$REPO/$model/"; done
    jq '{max_batch_size, instances}' "$ROOT/models/$model/config.json" >"$REPO/$model/config.json"
done

port_free "$HTTP_PORT"
port_free "$GRPC_PORT"
log "starting ServingGateway: REST on $HTTP_URL, gRPC on $GRPC_URL, serving $MODELS"
dotnet "$GATEWAY_DLL" --models "$REPO" --urls "$HTTP_URL" --grpc-urls "$GRPC_URL" >"$WORK/gateway.log" 2>&1 &
SERVER_PID=$!
track "$SERVER_PID"
wait_ready "$HTTP_URL" "$SERVER_PID" "$WORK/gateway.log"
for model in $MODELS; do
    for _ in $(seq 240); do
        curl -fs --max-time 2 "$HTTP_URL/v2/models/$model/ready" -o /dev/null && break
        sleep 0.5
    done
    curl -fs --max-time 2 "$HTTP_URL/v2/models/$model/ready" -o /dev/null || { log "$model is not ready"; exit 1; }
done

# --- rounds ------------------------------------------------------------------------------------------------

# measure NAME MODEL STREAMS ARGS... -> the load tool's summary.json in $WORK/NAME, and the CPU time per request of
# the server and of the load tool in $WORK/NAME/server_cpu_us and tool_cpu_us (microseconds): both processes' CPU
# time over a window inside the measured part (from 2 s after the warm-up should have ended, past the tool's
# start-up, to 1 s before the end), divided by the requests finished in it (the run's throughput × the window).
measure() {
    local name="$1" model="$2" streams="$3" dims=()
    shift 3
    [[ "$model" == minilm ]] && dims=(--dim "$MINILM_DIM")
    dotnet "$TOOL_DLL" run --model "$model" "${dims[@]}" --closed "$streams" --duration "$DURATION" --warmup "$WARMUP" \
        --no-progress --report-dir "$WORK/$name" "$@" >"$WORK/$name.out" 2>&1 &
    local tool=$! window server_before tool_before server_after tool_after
    window=$(( $(seconds "$DURATION") - 3 ))
    sleep $(( $(seconds "$WARMUP") + 2 ))
    server_before=$(cpu_ticks "$SERVER_PID"); tool_before=$(cpu_ticks "$tool" || echo 0)
    sleep "$window"
    server_after=$(cpu_ticks "$SERVER_PID"); tool_after=$(cpu_ticks "$tool" || echo 0)
    # Bounded: the tool ends by itself after warm-up + duration; a hung one is stopped.
    ( sleep $(( $(seconds "$DURATION") + 120 )); kill "$tool" 2>/dev/null ) & local watchdog=$!
    wait "$tool" || { log "load tool failed ($name):"; tail -20 "$WORK/$name.out" >&2; exit 1; }
    kill "$watchdog" 2>/dev/null || true
    local throughput hz
    throughput=$(jq '.throughput' "$WORK/$name/summary.json")
    hz=$(getconf CLK_TCK)
    awk -v t="$((server_after - server_before))" -v hz="$hz" -v r="$throughput" -v w="$window" 'BEGIN { printf "%.0f\n", t / hz * 1e6 / (r * w) }' \
        >"$WORK/$name/server_cpu_us"
    awk -v t="$((tool_after - tool_before))" -v hz="$hz" -v r="$throughput" -v w="$window" 'BEGIN { printf "%.0f\n", t / hz * 1e6 / (r * w) }' \
        >"$WORK/$name/tool_cpu_us"
    local errors
    errors=$(jq '.errors' "$WORK/$name/summary.json")
    if [[ "$errors" != 0 ]]; then
        ERRORS+=("$name: $errors errors")
        log "$name: $errors errors"
    fi
}

# field PROTOCOL ROW JQ -> the median of JQ over the rounds of ROW
field() { for r in $(seq "$ROUNDS"); do jq "$3" "$WORK/$1.$2.r$r/summary.json"; done | median; }
maxof() { for r in $(seq "$ROUNDS"); do jq "$3" "$WORK/$1.$2.r$r/summary.json"; done | sort -g | tail -1; }
ms() { awk -v n="$1" 'BEGIN { if (n < 1) printf "%.3f", n; else if (n < 100) printf "%.2f", n; else printf "%.0f", n }'; }
cells() { # cells PROTOCOL ROW -> items/s | p50 | p99 | max
    echo "$(printf '%.0f' "$(field "$1" "$2" .success_rate)") | $(ms "$(field "$1" "$2" .latency_ms.p50)") | $(ms "$(field "$1" "$2" .latency_ms.p99)") | $(ms "$(maxof "$1" "$2" .latency_ms.max)")"
}
cpu_cells() { # cpu_cells ROW -> server µs/request REST / gRPC | tool µs/request REST / gRPC (medians of the rounds)
    local p f out=()
    for f in server_cpu_us tool_cpu_us; do
        local pair=()
        for p in rest grpc; do
            pair+=("$(for r in $(seq "$ROUNDS"); do cat "$WORK/$p.$1.r$r/$f"; done | median)")
        done
        out+=("${pair[0]} / ${pair[1]}")
    done
    echo "${out[0]} | ${out[1]}"
}

ROWS=()
for model in $MODELS; do
    for streams in $STREAMS; do
        row="$model.c$streams"
        for r in $(seq "$ROUNDS"); do
            log "$model, $streams stream(s), round $r/$ROUNDS: REST binary, then gRPC ($WARMUP + $DURATION each)"
            measure "rest.$row.r$r" "$model" "$streams" --url "$HTTP_URL" --binary
            measure "grpc.$row.r$r" "$model" "$streams" --url "$GRPC_URL" --protocol grpc --connections "$GRPC_CONNECTIONS"
        done
        ROWS+=("| $model | $streams | $(cells rest "$row") | $(cells grpc "$row") | $(ratio "$(field grpc "$row" .success_rate)" "$(field rest "$row" .success_rate)") | $(cpu_cells "$row") |")
    done
done

# --- report --------------------------------------------------------------------------------------------------
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), .NET SDK $(dotnet --version)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "Load tool: run --closed STREAMS --duration $DURATION --warmup $WARMUP; REST --binary; gRPC --protocol grpc --connections $GRPC_CONNECTIONS; minilm --dim '$MINILM_DIM'; $ROUNDS interleaved rounds per row, medians (max: the largest)"
echo
echo "| model | streams | REST binary items/s | p50 (ms) | p99 (ms) | max (ms) | gRPC items/s | p50 (ms) | p99 (ms) | max (ms) | gRPC/REST | server CPU µs/req REST / gRPC | load tool CPU µs/req REST / gRPC |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Load tool reports and server log: $WORK"; fi
if [[ ${#ERRORS[@]} -gt 0 ]]; then
    echo "Errors:"; printf '  %s\n' "${ERRORS[@]}"; exit 1
fi
echo "No errors."
