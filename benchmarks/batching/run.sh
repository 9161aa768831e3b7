#!/usr/bin/env bash
# Dynamic batching, measured side by side in one run (issue 3):
#  1. the in-process ONNX Runtime ceiling for minilm at sequence 32: items/s over batch sizes 1..32 with
#     the server's instances and threads (2 sessions, 1 intra-op thread each), no HTTP;
#  2. minilm over HTTP with the binary extension at CONNECTIONS (default 16) connections, batching
#     adaptive vs off, in one server (two model folders on the same files), rows interleaved;
#  3. one client at a time (1 connection): p50 with batching adaptive vs off, for mlp (JSON) and minilm.
#
#   ./models/fetch.sh && ./benchmarks/batching/run.sh
#   DURATION=20s ./benchmarks/batching/run.sh
#
# Environment: DURATION (per wrk run, default 15s), CEILING_SECONDS (per batch size, default 10),
# CONNECTIONS (default "16 32"), ROUNDS (single-client rounds, default 3), PORT (18100),
# OUT_DIR (keep raw outputs), SKIP_BUILD=1.
# Needs: dotnet, wrk, curl, the fetched models/minilm. Exit status 1 on socket errors or non-2xx.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

DURATION="${DURATION:-15s}"
CEILING_SECONDS="${CEILING_SECONDS:-10}"
CONNECTIONS="${CONNECTIONS:-16 32}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-18100}"
URL="http://127.0.0.1:$PORT"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
BENCH_DLL="$ROOT/benchmarks/Benchmarks/bin/Release/net10.0/ServingGateway.Benchmarks.dll"
MINILM="$ROOT/models/minilm/1/model.onnx"

[[ -f "$MINILM" ]] || { log "$MINILM missing: run ./models/fetch.sh"; exit 2; }
begin_run batching-bench dotnet wrk curl
build_release src/Gateway benchmarks/Benchmarks

# The model repository: each model twice, batching adaptive (the default) and off, same files.
REPO="$WORK/models"
for model in minilm mlp; do
    for variant in "$model" "${model}_off"; do
        mkdir -p "$REPO/$variant/1"
        ln -sf "$ROOT/models/$model/1/model.onnx" "$REPO/$variant/1/model.onnx"
    done
done
echo '{"max_batch_size": 32, "instances": 2}' >"$REPO/minilm/config.json"
echo '{"max_batch_size": 32, "instances": 2, "batching": "off"}' >"$REPO/minilm_off/config.json"
echo '{"max_batch_size": 64, "instances": 2}' >"$REPO/mlp/config.json"
echo '{"max_batch_size": 64, "instances": 2, "batching": "off"}' >"$REPO/mlp_off/config.json"

# --- 1. in-process ceiling (before the server starts, so it has the machine) ----------------------
log "in-process ceiling: minilm, sequence 32, 2 sessions x 1 thread, $CEILING_SECONDS s per batch size"
dotnet "$BENCH_DLL" ceiling --model "$MINILM" --instances 2 --threads 1 --seconds "$CEILING_SECONDS" \
    --batch-sizes 1,2,4,8,16,32 --dim sequence=32 \
    --input input_ids=int:1000:2000 --input attention_mask=const:1 --input token_type_ids=const:0 >"$WORK/ceiling.txt"
BEST=$(awk '/^best:/ { print $2 }' "$WORK/ceiling.txt")
BEST_SIZE=$(awk '/^best:/ { print $NF }' "$WORK/ceiling.txt")

# --- the server ---------------------------------------------------------------------------------
port_free "$PORT"
dotnet "$GATEWAY_DLL" --models "$REPO" --urls "$URL" >"$WORK/gateway.log" 2>&1 &
SERVER_PID=$!
track $!
wait_ready "$URL" "$!" "$WORK/gateway.log"

log "warming up"
for model in minilm minilm_off; do
    run_wrk "$WORK/warmup.$model.txt" benchmarks/batching/minilm_binary.lua "$URL/v2/models/$model/infer" 8 5s
done
for model in mlp mlp_off; do
    run_wrk "$WORK/warmup.$model.txt" benchmarks/http/mlp_json.lua "$URL/v2/models/$model/infer" 8 3s
done

# --- 2. minilm under load, adaptive vs off --------------------------------------------------------
LOAD_ROWS=()
RUN_STATS=()
# What the batcher did during one run, from two stats snapshots: batches by size, mean rows per batch,
# and how busy the instances were (compute time over wall time times instances).
stats_delta() {
    python3 - "$1" "$2" "$DURATION" <<'PY'
import json, sys
def load(path):
    stats = json.load(open(path))["model_stats"][0]
    compute = sum(b["compute_infer"]["ns"] + b["compute_input"]["ns"] + b["compute_output"]["ns"] for b in stats["batch_stats"])
    return stats["batch_size_histogram"], compute
(h0, c0), (h1, c1) = load(sys.argv[1]), load(sys.argv[2])
delta = {int(k): v - h0.get(k, 0) for k, v in h1.items() if v - h0.get(k, 0) > 0}
batches = sum(delta.values())
rows = sum(k * v for k, v in delta.items())
seconds = float(sys.argv[3].rstrip("s"))
print(f"{' '.join(f'{k}:{v}' for k, v in sorted(delta.items()))} | {rows / max(batches, 1):.1f} | {(c1 - c0) / 1e9 / (seconds * 2):.2f}")
PY
}
for conns in $CONNECTIONS; do
    for model in minilm minilm_off; do
        log "minilm binary, $conns connections, $model ($DURATION)"
        curl -fs "$URL/v2/models/$model/stats" >"$WORK/stats.$model.c$conns.before.json"
        run_wrk "$WORK/load.$model.c$conns.txt" benchmarks/batching/minilm_binary.lua "$URL/v2/models/$model/infer" "$conns" "$DURATION"
        curl -fs "$URL/v2/models/$model/stats" >"$WORK/stats.$model.c$conns.after.json"
    done
    RUN_STATS+=("| $conns | $(stats_delta "$WORK/stats.minilm.c$conns.before.json" "$WORK/stats.minilm.c$conns.after.json") |")
    a="$WORK/load.minilm.c$conns.txt"; o="$WORK/load.minilm_off.c$conns.txt"
    LOAD_ROWS+=("| $conns | $(printf '%.1f' "$(rps "$a")") | $(ratio "$(rps "$a")" "$BEST") | $(to_ms "$(pct "$a" 50)") | $(to_ms "$(pct "$a" 99)") | $(printf '%.1f' "$(rps "$o")") | $(ratio "$(rps "$o")" "$BEST") | $(to_ms "$(pct "$o" 50)") | $(to_ms "$(pct "$o" 99)") | $(ratio "$(rps "$a")" "$(rps "$o")") |")
done
HISTOGRAM=$(curl -fs "$URL/v2/models/minilm/stats" | grep -o '"batch_size_histogram":{[^}]*}' | sed 's/"batch_size_histogram"://')

# --- 3. one client at a time --------------------------------------------------------------------
# At 1 connection the result moves in steps (up to 2x for mlp) with how the scheduler places wrk and the
# server on 2 cores: on one core or on two. So the server is pinned to CPU 0 and wrk to CPU 1 (where
# taskset exists), both warm up again, and adaptive and off alternate for ROUNDS rounds, the median p50
# of each compared.
PINNING="not pinned (no taskset)"
if command -v taskset >/dev/null && (( $(nproc) >= 2 )) && taskset -a -p -c 0 "$SERVER_PID" >/dev/null; then
    WRK_PREFIX=(taskset -c 1)
    PINNING="server pinned to CPU 0, wrk to CPU 1"
fi
log "one client at a time: $PINNING; warming up"
run_wrk "$WORK/warmup-single.mlp.txt" benchmarks/http/mlp_json.lua "$URL/v2/models/mlp/infer" 1 5s
run_wrk "$WORK/warmup-single.mlp_off.txt" benchmarks/http/mlp_json.lua "$URL/v2/models/mlp_off/infer" 1 5s
run_wrk "$WORK/warmup-single.minilm.txt" benchmarks/batching/minilm_binary.lua "$URL/v2/models/minilm/infer" 1 3s
run_wrk "$WORK/warmup-single.minilm_off.txt" benchmarks/batching/minilm_binary.lua "$URL/v2/models/minilm_off/infer" 1 3s
SINGLE_ROWS=()
for pair in "mlp:benchmarks/http/mlp_json.lua:JSON" "minilm:benchmarks/batching/minilm_binary.lua:binary"; do
    IFS=: read -r model script mode <<<"$pair"
    for round in $(seq "$ROUNDS"); do
        for variant in "$model" "${model}_off"; do
            log "1 connection, $variant, round $round ($DURATION)"
            run_wrk "$WORK/single.$variant.r$round.txt" "$script" "$URL/v2/models/$variant/infer" 1 "$DURATION"
        done
    done
    p50s() { for f in "$WORK"/single."$1".r*.txt; do to_ms "$(pct "$f" 50)"; echo; done | median; }
    p99s() { for f in "$WORK"/single."$1".r*.txt; do to_ms "$(pct "$f" 99)"; echo; done | median; }
    a50=$(p50s "$model"); o50=$(p50s "${model}_off")
    SINGLE_ROWS+=("| $model ($mode) | $a50 | $(p99s "$model") | $o50 | $(p99s "${model}_off") | $(ratio "$a50" "$o50") | $(for f in "$WORK"/single."$model".r*.txt "$WORK"/single."${model}_off".r*.txt; do printf '%s ' "$(to_ms "$(pct "$f" 50)")"; done) |")
done

# --- report -------------------------------------------------------------------------------------
echo
report_header
echo "wrk: -t 1 for 1 connection, -t 2 otherwise; -d $DURATION --latency"
echo
echo "In-process ceiling (minilm, sequence 32, 2 sessions x 1 intra-op thread, $CEILING_SECONDS s each):"
echo
sed -n '/^| batch size/,/^$/p' "$WORK/ceiling.txt"
echo "Best: $BEST items/s at batch size $BEST_SIZE."
echo
echo "minilm over HTTP, binary extension, one item per request (items/s = requests/s):"
echo
echo "| connections | adaptive items/s | of ceiling | p50 (ms) | p99 (ms) | off items/s | of ceiling | p50 (ms) | p99 (ms) | adaptive / off |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${LOAD_ROWS[@]}"
echo
echo "Batches run by size for minilm (adaptive) over the whole run, warm-up included: $HISTOGRAM"
echo
echo "What the adaptive batcher did during each load run (stats before and after; busy = compute time / (wall time x 2 instances)):"
echo
echo "| connections | batches by size (size:count) | mean rows per batch | instances busy |"
echo "|---:|---|---:|---:|"
printf '%s\n' "${RUN_STATS[@]}"
echo
echo "One client at a time (1 connection, $PINNING), medians over $ROUNDS alternating rounds of $DURATION:"
echo
echo "| model | adaptive p50 (ms) | p99 (ms) | off p50 (ms) | p99 (ms) | p50 adaptive / off | every p50: adaptive rounds, then off rounds |"
echo "|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${SINGLE_ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw outputs: $WORK"; fi
report_errors
