#!/usr/bin/env bash
# Checks the load tool's numbers against wrk's in one run (issue 6 acceptance: throughput and
# p50/p99 within 15%). Starts ServingGateway on MODEL (its cache off, so every request computes),
# then at the same fixed rate and the same number of connections runs:
#   1. the load tool, open loop (--open-rate RATE --connections CONNECTIONS), and
#   2. wrk paced to RATE by loadtests/wrk-paced.lua (-t1 -c CONNECTIONS),
# both POSTing the same JSON request bytes, each after its own warm-up, ROUNDS times, alternating.
# Prints a table: throughput, p50, p99 of the tool's latency (from the intended send time), of its
# service time (from the actual send), and of wrk (from the actual send), with the tool's differences
# from wrk.
#
#   ./loadtests/compare-with-wrk.sh                       # minilm at 100 req/s, from anywhere
#   MODEL=mlp RATE=1000 ./loadtests/compare-with-wrk.sh   # mlp: sub-millisecond answers
#
# MODEL: minilm (default; sequence 32, about 7 ms a request on 2 cores: the server's time dominates
# both tools' figures) or mlp (about 0.2 ms: there the two clients' own costs, tens of microseconds,
# and wrk's whole-millisecond pacing, which sends requests in bursts at rates above 1000/s, show in
# the comparison). Environment: RATE (req/s, default 100 for minilm, 1000 for mlp), DURATION and
# WARMUP (seconds, default 20 and 5), CONNECTIONS (default 16), ROUNDS (default 1), PORT (default
# 18700), MODELS (where the models are, default models; minilm comes from ./models/fetch.sh),
# GATEWAY_DLL (a built ServingGateway.dll; default: build src/Gateway in Release), SKIP_BUILD=1 (use
# the existing Release builds), OUT_DIR (keep reports, wrk output and the server log there). Needs
# dotnet, wrk, curl, jq. Listens on 127.0.0.1 only. Exit 1 when a run had errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODEL="${MODEL:-minilm}"
case "$MODEL" in
    minilm) RATE="${RATE:-100}" ;;
    mlp) RATE="${RATE:-1000}" ;;
    *) echo "compare-with-wrk.sh: MODEL must be minilm or mlp" >&2; exit 2 ;;
esac
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-5}"
CONNECTIONS="${CONNECTIONS:-16}"
ROUNDS="${ROUNDS:-1}"
PORT="${PORT:-18700}"
MODELS="${MODELS:-models}"
URL="http://127.0.0.1:${PORT}"
BUILD_GATEWAY=0
[[ -z "${GATEWAY_DLL:-}" ]] && BUILD_GATEWAY=1
GATEWAY_DLL="${GATEWAY_DLL:-$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll}"
TOOL_DLL="$ROOT/loadtests/bin/Release/net10.0/ServingGateway.LoadTool.dll"

for tool in dotnet wrk curl jq; do
    command -v "$tool" >/dev/null || { echo "compare-with-wrk.sh: $tool not found" >&2; exit 2; }
done

# log, work_dir, port_free, wait_ready, kill_wait, to_ms, rps, pct, machine
source "$ROOT/benchmarks/lib.sh"
work_dir loadtool-vs-wrk

SERVER_PID=""
stop() {
    kill_wait "$SERVER_PID"
    if [[ "$KEEP_WORK" == 0 ]]; then rm -rf "$WORK"; fi
}
trap stop EXIT
trap 'exit 130' INT TERM

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building the load tool (and ServingGateway unless GATEWAY_DLL is given) in Release"
    timeout 900 dotnet build loadtests -c Release -nologo -v quiet >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
    if [[ "$BUILD_GATEWAY" == 1 ]]; then
        timeout 900 dotnet build src/Gateway -c Release -nologo -v quiet >>"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
    fi
fi

port_free "$PORT"
[[ -f "$MODELS/$MODEL/1/model.onnx" ]] || { echo "compare-with-wrk.sh: $MODELS/$MODEL/1/model.onnx not found (./models/fetch.sh)" >&2; exit 2; }
mkdir -p "$WORK/models/$MODEL/1"
ln -sf "$(cd "$MODELS/$MODEL/1" && pwd)/model.onnx" "$WORK/models/$MODEL/1/model.onnx"
echo '{"max_batch_size": 32, "instances": 2}' >"$WORK/models/$MODEL/config.json"
log "starting ServingGateway on $URL serving $MODEL (cache off)"
dotnet "$GATEWAY_DLL" --models "$WORK/models" --urls "$URL" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$URL" "$SERVER_PID" "$WORK/server.log"

if [[ "$MODEL" == mlp ]]; then
    {
        printf '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
        for i in $(seq 64); do printf '0.5'; [[ $i -lt 64 ]] && printf ','; done
        printf ']}]}'
    } >"$WORK/request.json"
else
    # [CLS], 30 word pieces, [SEP]; the pooled sentence embedding's input, all outputs returned as JSON.
    ids="101"; for i in $(seq 30); do ids+=",$((2000 + i))"; done; ids+=",102"
    ones="1"; for i in $(seq 31); do ones+=",1"; done
    zeros="0"; for i in $(seq 31); do zeros+=",0"; done
    printf '{"inputs":[{"name":"input_ids","shape":[1,32],"datatype":"INT64","data":[%s]},{"name":"attention_mask","shape":[1,32],"datatype":"INT64","data":[%s]},{"name":"token_type_ids","shape":[1,32],"datatype":"INT64","data":[%s]}]}' \
        "$ids" "$ones" "$zeros" >"$WORK/request.json"
fi
curl -fs -o /dev/null -H 'Content-Type: application/json' --data-binary "@$WORK/request.json" "$URL/v2/models/$MODEL/infer" \
    || { log "the server refused the request"; exit 1; }

ERRORS=0
ROWS=()
for round in $(seq "$ROUNDS"); do
    log "round $round: load tool, open loop at $RATE req/s, $CONNECTIONS connections, ${WARMUP}s warm-up + ${DURATION}s"
    dotnet "$TOOL_DLL" run --url "$URL" --model "$MODEL" --payload "file:$WORK/request.json" \
        --open-rate "$RATE" --connections "$CONNECTIONS" --duration "${DURATION}s" --warmup "${WARMUP}s" \
        --report-dir "$WORK/tool.$round" --no-progress >"$WORK/tool.$round.txt" 2>&1 \
        || { log "the load tool failed:"; cat "$WORK/tool.$round.txt" >&2; exit 1; }
    summary="$WORK/tool.$round/summary.json"
    [[ "$(jq .errors "$summary")" == 0 ]] || { log "load tool round $round: $(jq .errors "$summary") errors"; ERRORS=1; }

    log "round $round: wrk paced to $RATE req/s, $CONNECTIONS connections, ${WARMUP}s warm-up + ${DURATION}s"
    wrk_run() { # wrk_run SECONDS OUT
        timeout $(( $1 + 60 )) wrk -t1 -c "$CONNECTIONS" -d "$1s" --latency -s loadtests/wrk-paced.lua \
            "$URL/v2/models/$MODEL/infer" -- "$RATE" "$WORK/request.json" >"$2" 2>&1 \
            || { log "wrk failed:"; cat "$2" >&2; exit 1; }
    }
    wrk_run "$WARMUP" "$WORK/wrk-warmup.$round.txt"
    wrk_run "$DURATION" "$WORK/wrk.$round.txt"
    w="$WORK/wrk.$round.txt"
    if grep -qE 'Socket errors|Non-2xx' "$w"; then log "wrk round $round: $(grep -E 'Socket errors|Non-2xx' "$w" | tr -s ' ')"; ERRORS=1; fi

    w_rps=$(rps "$w"); w_p50=$(to_ms "$(pct "$w" 50)"); w_p99=$(to_ms "$(pct "$w" 99)")
    t_rps=$(jq .throughput "$summary")
    t_p50=$(jq .latency_ms.p50 "$summary"); t_p99=$(jq .latency_ms.p99 "$summary")
    s_p50=$(jq .service_time_ms.p50 "$summary"); s_p99=$(jq .service_time_ms.p99 "$summary")
    diff() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.0f%%", (a - b) / b * 100; else print "n/a" }'; }
    ROWS+=("| $round | tool: latency (from intended send) | $(printf '%.0f' "$t_rps") | $t_p50 | $t_p99 | $(diff "$t_rps" "$w_rps") | $(diff "$t_p50" "$w_p50") | $(diff "$t_p99" "$w_p99") |")
    ROWS+=("| $round | tool: service time (from actual send) | $(printf '%.0f' "$t_rps") | $s_p50 | $s_p99 | $(diff "$t_rps" "$w_rps") | $(diff "$s_p50" "$w_p50") | $(diff "$s_p99" "$w_p99") |")
    ROWS+=("| $round | wrk, paced (from actual send) | $(printf '%.0f' "$w_rps") | $w_p50 | $w_p99 | | | |")
done

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "Rate $RATE req/s, $CONNECTIONS connections, ${WARMUP}s warm-up + ${DURATION}s measured per run; $MODEL, JSON, the same request bytes, cache off"
echo
echo "| round | measured by | throughput (req/s) | p50 (ms) | p99 (ms) | throughput vs wrk | p50 vs wrk | p99 vs wrk |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Reports, wrk output and the server log: $WORK"; fi
exit "$ERRORS"
