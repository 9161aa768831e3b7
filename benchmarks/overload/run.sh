#!/usr/bin/env bash
# Overload control (issue 16), measured from outside with the load tool, side by side in one run:
#  a. minilm (sequence 32, cache off, latency_slo_ms SLO_MS) on one server with two copies of the model:
#     `minilm` with the default overload policy (deadline) and `minilm_queue` with "overload": {"policy": "queue"}
#     (the behaviour before issue 16). find-max-rate --criterion goodput --slo SLO_MS on `minilm` finds the
#     highest rate R whose goodput stays >= 99% of the offered rate; then each copy takes an open loop at
#     2 x R for DURATION (30 s): goodput (2xx within SLO_MS of the intended send) vs R, p99 of the 2xx answers,
#     p99 of the refusals (503) from their actual send (judged) and from their intended send, and how many carried Retry-After;
#  b. recovery: a probe at PROBE_RATE runs through 5 s unloaded, OVERLOAD (10 s) at 2 x R from a second load
#     tool, and 10 s after; the time from the end of the overload until the probe's per-second p99 of its 2xx
#     answers is back at or below its unloaded value (the highest per-second p99 of its first 4 seconds)
#     and stays there; both copies; then a control: the same probe on minilm with no burst, read by the same rule
#     (what the machine alone does to it; not judged);
#  c. an edge with two nodes (deadline policy, SLO_MS), each pinned to a core of its own (taskset) with one session
#     of one thread, so that "one node's capacity" means something on a 2-core machine; node B is slowed: its
#     minilm copy runs with "batching": "off" (a config setting, the same model file). find-max-rate (goodput) on
#     node A alone gives one node's capacity R1; then an open loop through the edge at 1.5 x R1 for DURATION:
#     goodput vs the offered rate, and the share each node served. The edge and the load tool are not pinned.
# Every target prints PASS or FAIL. All on 127.0.0.1; everything started here is stopped on exit.
#
#   ./benchmarks/overload/run.sh
#   DURATION=10s ./benchmarks/overload/run.sh        # a shorter run (about 3 minutes)
#   PARTS=c ./benchmarks/overload/run.sh             # the edge alone (PARTS: any of a, b, c; a and b run together)
#
# Environment: PARTS (abc), NODE_RATE (c: one node's capacity as given, no search; for trying a change, not judged
# as the issue's run), SLO_MS (50), DURATION (30s), OVERLOAD (10s), PROBE_RATE (R / 4, at least 2), SEARCH_STEP (4s), PORT (18600: server;
# +1, +2: nodes; +3: edge), GATEWAY_DLL (another build of the server, to compare), OUT_DIR (keep the load tool's reports and the logs), SKIP_BUILD=1.
# Needs dotnet, curl, /usr/bin/python3 and the fetched models/minilm. Exit status 1 when a target failed.
# Figures on a shared machine are noisy: read the two policies within one run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

PARTS="${PARTS:-abc}"
SLO_MS="${SLO_MS:-50}"
DURATION="${DURATION:-30s}"
OVERLOAD="${OVERLOAD:-10s}"
PROBE_RATE="${PROBE_RATE:-}"
SEARCH_STEP="${SEARCH_STEP:-4s}"
PORT="${PORT:-18600}"
SERVER="http://127.0.0.1:$PORT"
NODE_A="http://127.0.0.1:$((PORT + 1))"
NODE_B="http://127.0.0.1:$((PORT + 2))"
EDGE="http://127.0.0.1:$((PORT + 3))"
GATEWAY_DLL="${GATEWAY_DLL:-$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll}"
LOADTOOL_DLL="$ROOT/loadtests/bin/Release/net10.0/ServingGateway.LoadTool.dll"
MINILM="$ROOT/models/minilm/1/model.onnx"
DIMS='*=1,32'
export OVERLOAD_BENCH_KEY="bench-key-0123456789"
PY=/usr/bin/python3

[[ -f "$MINILM" ]] || { log "models/minilm/1/model.onnx is missing: run ./models/fetch.sh"; exit 2; }
begin_run overload-bench dotnet curl "$PY"
build_release src/Gateway loadtests

# model_copy REPO NAME CONFIG-JSON: minilm under NAME in REPO (the same model file and vocabulary).
model_copy() {
    mkdir -p "$1/$2/1"
    ln -sf "$MINILM" "$1/$2/1/model.onnx"
    [[ -f "$ROOT/models/minilm/vocab.txt" ]] && ln -sf "$ROOT/models/minilm/vocab.txt" "$1/$2/vocab.txt"
    echo "$3" >"$1/$2/config.json"
}
BASE='"max_batch_size": 32, "instances": 2, "cache": {"enable": false}, "latency_slo_ms": '"$SLO_MS"
model_copy "$WORK/models" minilm "{$BASE}"                                            # overload: the default (deadline)
model_copy "$WORK/models" minilm_queue "{$BASE, \"overload\": {\"policy\": \"queue\"}}"
# The nodes of (c), each pinned to a core of its own: one session of one thread; B differs only by batching off.
NODE_BASE='"max_batch_size": 32, "instances": 1, "intra_op_threads": 1, "cache": {"enable": false}, "latency_slo_ms": '"$SLO_MS"
model_copy "$WORK/models-a" minilm "{$NODE_BASE}"                                     # node A: healthy
model_copy "$WORK/models-b" minilm "{$NODE_BASE, \"batching\": \"off\"}"              # node B: slowed
cat >"$WORK/edge.json" <<JSON
{
  "Auth": {"Keys": [{"Name": "bench", "Sha256": "$(printf %s "$OVERLOAD_BENCH_KEY" | sha256sum | cut -d' ' -f1)", "Roles": ["infer"]}]},
  "RateLimits": {"Default": {"Rate": 1000000, "Burst": 1000000}}
}
JSON

for port in "$PORT" "$((PORT + 1))" "$((PORT + 2))" "$((PORT + 3))"; do port_free "$port"; done
dotnet "$GATEWAY_DLL" --models "$WORK/models" --urls "$SERVER" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
track "$SERVER_PID"
wait_ready "$SERVER" "$SERVER_PID" "$WORK/server.log"

# loadtool NAME ARGS...: the load tool, its reports in $WORK/NAME, its output in $WORK/NAME.out. The tool stops
# when the first request it sends is refused (a busy machine: the deadline policy refusing a lone request); then
# it is tried again, up to three times, after the model answers a lone request again.
loadtool() {
    local name="$1" attempt progress=(--no-progress); shift
    [[ -n "${WITH_PROGRESS:-}" ]] && progress=() # a line every 5 s on stderr (redirected), which the probe's caller waits for
    for attempt in 1 2 3; do
        dotnet "$LOADTOOL_DLL" "$@" --dim "$DIMS" "${progress[@]}" --report-dir "$WORK/$name" >"$WORK/$name.out" 2>&1 || true
        [[ -f "$WORK/$name/summary.json" || -f "$WORK/$name/curve.csv" ]] && return 0
        grep -q 'the first request was answered 503' "$WORK/$name.out" || break
        log "load tool run $name: its first request was refused (attempt $attempt), trying again"
        sleep 2
    done
    log "load tool run $name wrote no report:"; cat "$WORK/$name.out" >&2; exit 1
}
json() { "$PY" -c 'import json, sys; v = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"v": v}))' "$@"; }

# ok_within_slo URL MODEL [CURL-ARGS...]: one minilm request (sequence 32) answered 200, tried for up to 30 s. The
# deadline policy refuses a lone request when even one row takes longer than its deadline: on a machine so busy
# that minilm alone misses its SLO there is nothing to measure.
REQUEST="$WORK/minilm-request.json"
"$PY" -c 'import json; t = lambda n, v: {"name": n, "shape": [1, 32], "datatype": "INT64", "data": [v] * 32}; print(json.dumps({"inputs": [t("input_ids", 1), t("attention_mask", 1), t("token_type_ids", 0)]}))' >"$REQUEST"
ok_within_slo() {
    local url="$1" model="$2"; shift 2
    for _ in $(seq 30); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "$@" --data-binary "@$REQUEST" "$url/v2/models/$model/infer")" == 200 ]] && return 0
        sleep 1
    done
    log "$model at $url refused every lone request for 30 s: the machine is too busy for minilm to keep its $SLO_MS ms SLO (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    exit 2
}

# --- a. the highest rate within the SLO, then twice that rate on each policy --------------------------------
if [[ "$PARTS" == *[ab]* ]]; then
log "warming up minilm and minilm_queue"
loadtool warm-minilm_queue run --url "$SERVER" --model minilm_queue --open-rate 100 --duration 3s --warmup 2s
ok_within_slo "$SERVER" minilm
loadtool warm-minilm run --url "$SERVER" --model minilm --open-rate 100 --duration 3s --warmup 2s
ok_within_slo "$SERVER" minilm
log "find-max-rate --criterion goodput --slo $SLO_MS on minilm (steps of $SEARCH_STEP)"
loadtool search find-max-rate --url "$SERVER" --model minilm --criterion goodput --slo "$SLO_MS" \
    --start-rate 100 --step-duration "$SEARCH_STEP" --step-warmup 1s --precision 0.1 --max-steps 8 --max-error-rate 100%
MAX_RATE=$(awk -F, 'NR > 1 && $8 == "true" && $2 > best { best = $2 } END { printf "%.0f", best + 0 }' "$WORK/search/curve.csv")
[[ "$MAX_RATE" -gt 0 ]] || { log "find-max-rate found no rate within the SLO:"; cat "$WORK/search.out" >&2; exit 1; }
OVER_RATE=$((MAX_RATE * 2))
[[ -n "$PROBE_RATE" ]] || PROBE_RATE=$(( MAX_RATE / 4 > 2 ? MAX_RATE / 4 : 2 )) # well below R: an unloaded probe
for model in minilm minilm_queue; do
    ok_within_slo "$SERVER" "$model"
    log "$model: open loop at $OVER_RATE req/s (2 x $MAX_RATE) for $DURATION"
    loadtool "over-$model" run --url "$SERVER" --model "$model" --open-rate "$OVER_RATE" --duration "$DURATION" --warmup 3s --slo "$SLO_MS"
done

# --- b. recovery after the overload stops -------------------------------------------------------------------
OVERLOAD_S=$(seconds "$OVERLOAD")
for model in minilm minilm_queue; do
    ok_within_slo "$SERVER" "$model"
    log "$model: probe at $PROBE_RATE req/s; $OVERLOAD of $OVER_RATE req/s once the probe has measured 5 s"
    WITH_PROGRESS=1 loadtool "probe-$model" run --url "$SERVER" --model "$model" --open-rate "$PROBE_RATE" --duration "$((OVERLOAD_S + 20))s" --warmup 0 --slo "$SLO_MS" &
    PROBE_PID=$!
    for _ in $(seq 120); do grep -Eq '^([4-9]|[1-9][0-9]+)s/' "$WORK/probe-$model.out" 2>/dev/null && break; sleep 0.5; done
    loadtool "burst-$model" run --url "$SERVER" --model "$model" --open-rate "$OVER_RATE" --duration "$OVERLOAD" --warmup 0
    wait "$PROBE_PID"
done
# The control: the same probe with no burst, read by the same rule as if the deadline run's burst had been sent at
# the same second. What it reports is what the machine alone does to the rule (not judged).
ok_within_slo "$SERVER" minilm
log "minilm: the control probe at $PROBE_RATE req/s, no burst"
loadtool probe-control run --url "$SERVER" --model minilm --open-rate "$PROBE_RATE" --duration "$((OVERLOAD_S + 20))s" --warmup 0 --slo "$SLO_MS"
fi

# --- c. an edge in front of a healthy node and a slowed one -------------------------------------------------
kill_wait "$SERVER_PID" # its CPU goes to the nodes
if [[ "$PARTS" == *c* ]]; then
taskset -c 0 dotnet "$GATEWAY_DLL" --role node --models "$WORK/models-a" --urls "$NODE_A" >"$WORK/node-a.log" 2>&1 &
track $!
wait_ready "$NODE_A" "$!" "$WORK/node-a.log"
taskset -c 1 dotnet "$GATEWAY_DLL" --role node --models "$WORK/models-b" --urls "$NODE_B" >"$WORK/node-b.log" 2>&1 &
track $!
wait_ready "$NODE_B" "$!" "$WORK/node-b.log"
dotnet "$GATEWAY_DLL" --role edge --node "$NODE_A" --node "$NODE_B" --urls "$EDGE" --config "$WORK/edge.json" >"$WORK/edge.log" 2>&1 &
track $!
wait_ready "$EDGE" "$!" "$WORK/edge.log"
OWNER=$(curl -fs -D - -o /dev/null -H "Authorization: Bearer $OVERLOAD_BENCH_KEY" -H 'Content-Type: application/json' \
    --data-binary "@$REQUEST" "$EDGE/v2/models/minilm/infer" | awk 'tolower($1) == "x-served-by:" { print $2 }' | tr -d '\r' || true)
ok_within_slo "$NODE_A" minilm
ok_within_slo "$NODE_B" minilm
log "node A alone: find-max-rate --criterion goodput --slo $SLO_MS (one node's capacity)"
loadtool warm-node-a run --url "$NODE_A" --model minilm --open-rate 50 --duration 2s --warmup 2s
ok_within_slo "$NODE_A" minilm
if [[ -z "${NODE_RATE:-}" ]]; then
    loadtool search-node-a find-max-rate --url "$NODE_A" --model minilm --criterion goodput --slo "$SLO_MS" \
        --start-rate 50 --step-duration "$SEARCH_STEP" --step-warmup 1s --precision 0.1 --max-steps 7 --max-error-rate 100%
    NODE_RATE=$(awk -F, 'NR > 1 && $8 == "true" && $2 > best { best = $2 } END { printf "%.0f", best + 0 }' "$WORK/search-node-a/curve.csv")
fi
[[ "$NODE_RATE" -gt 0 ]] || { log "find-max-rate found no rate within the SLO on node A:"; cat "$WORK/search-node-a.out" >&2; exit 1; }
EDGE_RATE=$((NODE_RATE * 3 / 2))
log "edge: warming both nodes, then open loop at $EDGE_RATE req/s (1.5 x $NODE_RATE) for $DURATION"
ok_within_slo "$NODE_A" minilm
loadtool warm-edge run --url "$EDGE" --model minilm --api-key env:OVERLOAD_BENCH_KEY --open-rate "$NODE_RATE" --duration 3s --warmup 2s
ok_within_slo "$EDGE" minilm -H "Authorization: Bearer $OVERLOAD_BENCH_KEY"
loadtool edge run --url "$EDGE" --model minilm --api-key env:OVERLOAD_BENCH_KEY --open-rate "$EDGE_RATE" --duration "$DURATION" --warmup 3s --slo "$SLO_MS"
SATURATED=$(curl -fs "$EDGE/metrics" | awk '/^sg_edge_node_saturated_total/ { printf "%s%s %s", sep, $1, $2; sep = ", " }')
fi

# --- report and targets -------------------------------------------------------------------------------------
FAILED=0
check() { # check DESCRIPTION PYTHON-CONDITION
    if "$PY" -c "import sys; sys.exit(0 if ($2) else 1)"; then echo "- PASS: $1"; else echo "- FAIL: $1"; FAILED=1; fi
}
s() { json "$WORK/$1/summary.json" "$2"; }
row() { # one policy's row: goodput, its ratio to MAX_RATE, throughput, 2xx p50/p99, refusals, refusal p99, Retry-After
    local r="$1"
    echo "| $2 | $(s "$r" '"%.0f" % v["goodput"]') | $(s "$r" '"%.2f" % (v["goodput"] / '"$MAX_RATE"')') | $(s "$r" '"%.0f" % v["throughput"]') | $(s "$r" '"%.1f" % v["success_latency_ms"]["p50"]') | $(s "$r" '"%.1f" % v["success_latency_ms"]["p99"]') | $(s "$r" 'v["refusals"]') | $(s "$r" '"%.2f" % v["refusal_latency_ms"]["p99"]') | $(s "$r" '"-" if v["refusal_service_time_ms"] is None else "%.2f" % v["refusal_service_time_ms"]["p99"]') | $(s "$r" 'v["refusals_with_retry_after"]') | $(s "$r" 'v["open_loop"]["late_sends"]') |"
}
# recovery PROBE BURST [BURST-PROBE]: seconds from the burst's end (its last send) until the probe's per-second p99 of its 2xx
# answers is back at or below the highest of its first 4 seconds, and stays there ("never" if it does not within the
# run). BURST-PROBE (default PROBE) is the probe the burst was sent into: for a probe that had none (the control), the
# burst is read as if it had been sent as far into this one.
recovery() {
    "$PY" - "$WORK/$1" "$WORK/$2" "$OVERLOAD_S" "$WORK/${3:-$1}" <<'PY'
import csv, datetime, json, sys
probe, burst, sending, burst_probe = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
def started(d):
    return datetime.datetime.fromisoformat(json.load(open(d + "/summary.json"))["started_at"]).timestamp()
rows = list(csv.DictReader(open(probe + "/timeline.csv")))
p99 = [float(r["p99_2xx_ms"]) for r in rows]
offset = started(burst) - started(burst_probe)  # how far into its probe the burst was sent
end = offset + sending  # the overload stops when its last request is sent
unloaded = max(p99[0:4])
first = int(end)  # the second the burst ended in
ok = next((s for s in range(first, len(p99)) if all(0 < x <= unloaded for x in p99[s:])), None)
begin = max(0, int(offset))
peak = max(p99[begin:first + 1] or [0])
print("%.1f %.1f %.1f %s" % (unloaded, peak, end, "never" if ok is None else "%.1f" % max(0.0, ok - end)))
PY
}

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), .NET SDK $(dotnet --version)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo "minilm sequence 32 (--dim '$DIMS'), cache off, max_batch_size 32, 2 instances, latency_slo_ms $SLO_MS; goodput = 2xx within $SLO_MS ms of the intended send"
echo
if [[ "$PARTS" == *[ab]* ]]; then
echo "a. find-max-rate --criterion goodput (steps of $SEARCH_STEP): the highest rate within the SLO R = $MAX_RATE req/s"
echo
echo '| step | offered | throughput | goodput | p50 (ms) | p99 (ms) | errors | passed |'
echo '|---:|---:|---:|---:|---:|---:|---:|---|'
awk -F, 'NR > 1 { printf "| %s | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f%% | %s |\n", $1, $2, $3, $4, $5, $6, $7 * 100, $8 }' "$WORK/search/curve.csv"
echo
echo "Open loop at 2 x R = $OVER_RATE req/s for $DURATION, each policy:"
echo
echo '| policy | goodput (req/s) | goodput / R | throughput | 2xx p50 (ms) | 2xx p99 (ms) | refusals (503) | refusal p99 (ms) | from the send (ms) | with Retry-After | sent > 1 ms late |'
echo '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
row over-minilm deadline
row over-minilm_queue queue
echo
read -r UNLOADED_D PEAK_D END_D RECOVERED_D <<<"$(recovery probe-minilm burst-minilm)"
read -r UNLOADED_Q PEAK_Q END_Q RECOVERED_Q <<<"$(recovery probe-minilm_queue burst-minilm_queue)"
read -r UNLOADED_C PEAK_C END_C RECOVERED_C <<<"$(recovery probe-control burst-minilm probe-minilm)"
echo "b. Recovery: probe at $PROBE_RATE req/s, $OVERLOAD at $OVER_RATE req/s from its 5th second on; per-second p99 of the probe's 2xx answers (ms):"
echo
echo '| policy | unloaded (max of 4 s) | highest during the burst | burst ended at (s) | back at or below unloaded after (s) | probe seconds 0.. |'
echo '|---|---:|---:|---:|---:|---|'
echo "| deadline | $UNLOADED_D | $PEAK_D | $END_D | $RECOVERED_D | $(awk -F, 'NR > 1 { printf "%s%.0f", sep, $9; sep = " " }' "$WORK/probe-minilm/timeline.csv") |"
echo "| queue | $UNLOADED_Q | $PEAK_Q | $END_Q | $RECOVERED_Q | $(awk -F, 'NR > 1 { printf "%s%.0f", sep, $9; sep = " " }' "$WORK/probe-minilm_queue/timeline.csv") |"
echo "| control: deadline, no burst | $UNLOADED_C | $PEAK_C | $END_C | $RECOVERED_C | $(awk -F, 'NR > 1 { printf "%s%.0f", sep, $9; sep = " " }' "$WORK/probe-control/timeline.csv") |"
echo
fi
if [[ "$PARTS" == *c* ]]; then
echo "c. Edge in front of node A ($NODE_A, pinned to core 0: 1 session of 1 thread, adaptive batching) and node B, slowed"
echo "   ($NODE_B, pinned to core 1: the same, batching off). Node A alone within the SLO (find-max-rate --criterion goodput):"
echo "   R1 = $NODE_RATE req/s. The first request went to ${OWNER:-?}; open loop through the edge at 1.5 x R1 = $EDGE_RATE req/s for $DURATION:"
echo
echo '| goodput (req/s) | goodput / offered | throughput | 2xx p99 (ms) | refusals | refusal p99 (ms) | with Retry-After | served by |'
echo '|---:|---:|---:|---:|---:|---:|---:|---|'
SERVED=$(s edge '", ".join("%s %d" % kv for kv in sorted(v["served_by"].items()))')
echo "| $(s edge '"%.0f" % v["goodput"]') | $(s edge '"%.2f" % (v["goodput"] / '"$EDGE_RATE"')') | $(s edge '"%.0f" % v["throughput"]') | $(s edge '"%.1f" % v["success_latency_ms"]["p99"]') | $(s edge 'v["refusals"]') | $(s edge '"%.2f" % v["refusal_latency_ms"]["p99"]') | $(s edge 'v["refusals_with_retry_after"]') | $SERVED |"
echo
echo "   edge: ${SATURATED:-no sg_edge_node_saturated_total}"
echo
fi
echo "Targets (issue 16):"
if [[ "$PARTS" == *[ab]* ]]; then
check "deadline at 2 x R: goodput $(s over-minilm '"%.0f" % v["goodput"]') req/s >= 0.9 x R ($MAX_RATE)" "$(s over-minilm 'v["goodput"]') >= 0.9 * $MAX_RATE"
check "deadline at 2 x R: 2xx p99 $(s over-minilm '"%.1f" % v["success_latency_ms"]["p99"]') ms <= 2 x SLO ($((2 * SLO_MS)) ms)" "$(s over-minilm 'v["success_latency_ms"]["p99"]') <= 2 * $SLO_MS"
# How fast the server says no: from each refusal's actual send. From the intended send (the column beside it) it
# also counts the time the load tool, on the same two cores, was late sending it.
check "deadline at 2 x R: refusals answered in $(s over-minilm '"%.2f" % v["refusal_service_time_ms"]["p99"]') ms p99 from the send (from the intended send $(s over-minilm '"%.2f" % v["refusal_latency_ms"]["p99"]') ms) < 5 ms" "$(s over-minilm 'v["refusals"]') > 0 and $(s over-minilm 'v["refusal_service_time_ms"]["p99"]') < 5"
check "deadline at 2 x R: every refusal carried Retry-After ($(s over-minilm 'v["refusals_with_retry_after"]') of $(s over-minilm 'v["refusals"]'))" "$(s over-minilm 'v["refusals"]') == $(s over-minilm 'v["refusals_with_retry_after"]')"
check "deadline: the probe's p99 back at its unloaded value within 2 s of the overload's end ($RECOVERED_D s)" "'$RECOVERED_D' != 'never' and float('${RECOVERED_D/never/0}') <= 2"
fi
if [[ "$PARTS" == *c* ]]; then
check "edge at 1.5 x R1 with one node slowed: goodput $(s edge '"%.0f" % v["goodput"]') req/s >= 0.9 x offered ($EDGE_RATE)" "$(s edge 'v["goodput"]') >= 0.9 * $EDGE_RATE"
fi
if [[ "$PARTS" == *[ab]* ]]; then
echo "(queue, for comparison: goodput $(s over-minilm_queue '"%.2f" % (v["goodput"] / '"$MAX_RATE"')') x R, 2xx p99 $(s over-minilm_queue '"%.0f" % v["success_latency_ms"]["p99"]') ms, recovery $RECOVERED_Q s; the control probe with no burst, read by the recovery rule: $RECOVERED_C s; not judged)"
fi
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Load tool reports and server logs: $WORK"; fi
exit "$FAILED"
