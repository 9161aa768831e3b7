#!/usr/bin/env bash
# The prediction cache, measured side by side in one run (issue 4):
#  1. mlp at CONNECTIONS (64) connections, the same request over and over: all hits (cache on) vs the
#     same model with the cache off, in one server;
#  2. minilm at 1 connection: p50 of a hit (the same request again) vs a miss (every request new);
#  3. an L2 hit: node A computes a sequence of distinct mlp requests (into Redis), node B then asks for
#     the same sequence: each is a Redis hit the first time B sees it; p50 against a local redis-server.
#
#   ./models/fetch.sh && ./benchmarks/cache/run.sh
#
# Environment: DURATION (default 15s), CONNECTIONS (64), PORT (18300, and PORT+1 for node B),
# REDIS_PORT (18379), OUT_DIR (keep raw outputs), SKIP_BUILD=1. Needs dotnet, wrk, curl, redis-server
# and the fetched models/minilm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18300}"
REDIS_PORT="${REDIS_PORT:-18379}"
A="http://127.0.0.1:$PORT"
B="http://127.0.0.1:$((PORT + 1))"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
SCRIPTS="$ROOT/benchmarks/cache"

[[ -f models/minilm/1/model.onnx ]] || { log "models/minilm missing: run ./models/fetch.sh"; exit 2; }
begin_run cache-bench dotnet wrk curl redis-server redis-cli
build_release src/Gateway

# Models: mlp with the cache on and off, minilm with the cache on; the same files.
REPO="$WORK/models"
for variant in mlp mlp_nocache minilm; do
    model="${variant%_nocache}"
    mkdir -p "$REPO/$variant/1"
    ln -sf "$ROOT/models/$model/1/model.onnx" "$REPO/$variant/1/model.onnx"
done
echo '{"max_batch_size": 64, "instances": 2, "cache": {"enable": true, "ttl_seconds": 3600}}' >"$REPO/mlp/config.json"
echo '{"max_batch_size": 64, "instances": 2}' >"$REPO/mlp_nocache/config.json"
echo '{"max_batch_size": 32, "instances": 2, "cache": {"enable": true, "ttl_seconds": 3600}}' >"$REPO/minilm/config.json"

port_free "$PORT"; port_free "$((PORT + 1))"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
track $!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

dotnet "$GATEWAY_DLL" --models "$REPO" --urls "$A" --redis "127.0.0.1:$REDIS_PORT" >"$WORK/a.log" 2>&1 &
track $!
wait_ready "$A" "$!" "$WORK/a.log"

log "warming up"
run_wrk "$WORK/warmup.mlp.txt" benchmarks/http/mlp_json.lua "$A/v2/models/mlp/infer" 8 3s
run_wrk "$WORK/warmup.mlp_nocache.txt" benchmarks/http/mlp_json.lua "$A/v2/models/mlp_nocache/infer" 8 3s
run_wrk "$WORK/warmup.minilm.txt" benchmarks/batching/minilm_binary.lua "$A/v2/models/minilm/infer" 2 3s

# --- 1. all hits vs cache off ---------------------------------------------------------------------
for variant in mlp mlp_nocache; do
    log "mlp JSON, $CONNECTIONS connections, $variant ($DURATION)"
    run_wrk "$WORK/hits.$variant.txt" benchmarks/http/mlp_json.lua "$A/v2/models/$variant/infer" "$CONNECTIONS" "$DURATION"
done

# --- 2. minilm: hit vs miss, one client -------------------------------------------------------------
log "minilm, 1 connection, the same request: hits ($DURATION)"
run_wrk "$WORK/minilm.hit.txt" benchmarks/batching/minilm_binary.lua "$A/v2/models/minilm/infer" 1 "$DURATION"
log "minilm, 1 connection, every request new: misses ($DURATION)"
run_wrk "$WORK/minilm.miss.txt" "$SCRIPTS/minilm_unique.lua" "$A/v2/models/minilm/infer" 1 "$DURATION"

# --- 3. L2 hits: A computes a sequence, B reads it from Redis ---------------------------------------
log "node A computes the mlp sequence into Redis ($DURATION)"
run_wrk "$WORK/sequence.a.txt" "$SCRIPTS/mlp_sequence.lua" "$A/v2/models/mlp/infer" 1 "$DURATION"
dotnet "$GATEWAY_DLL" --models "$REPO" --urls "$B" --redis "127.0.0.1:$REDIS_PORT" >"$WORK/b.log" 2>&1 &
track $!
wait_ready "$B" "$!" "$WORK/b.log"
B_DURATION="$(( $(seconds "$DURATION") / 3 ))s"
log "node B asks for the same sequence: Redis hits ($B_DURATION)"
run_wrk "$WORK/sequence.b.txt" "$SCRIPTS/mlp_sequence.lua" "$B/v2/models/mlp/infer" 1 "$B_DURATION"
count() { curl -fs "$1/metrics" | awk -v m="$2" -v t="$3" -v o="$4" '$1 == "sg_cache_lookups_total{model=\"" m "\",tier=\"" t "\",outcome=\"" o "\"}" { print $2 }'; }
B_REDIS_HITS="$(count "$B" mlp redis hit)"; B_REDIS_MISSES="$(count "$B" mlp redis miss)"
A_REQUESTS="$(awk '/requests in/ { print $1 }' "$WORK/sequence.a.txt")"
B_REQUESTS="$(awk '/requests in/ { print $1 }' "$WORK/sequence.b.txt")"

# --- report -------------------------------------------------------------------------------------
h="$WORK/hits.mlp.txt"; o="$WORK/hits.mlp_nocache.txt"; mh="$WORK/minilm.hit.txt"; mm="$WORK/minilm.miss.txt"
sa="$WORK/sequence.a.txt"; sb="$WORK/sequence.b.txt"
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Machine: $(machine), redis-server $(redis-server --version | awk '{ print $3 }' | cut -d= -f2)"
echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
echo
echo "mlp, JSON, $CONNECTIONS connections, the same request ($DURATION each):"
echo
echo "| | req/s | p50 (ms) | p99 (ms) |"
echo "|---|---:|---:|---:|"
echo "| cache on (all hits after the first) | $(wrk_cells "$h") |"
echo "| cache off | $(wrk_cells "$o") |"
echo "| hits / off | $(ratio "$(rps "$h")" "$(rps "$o")") | | |"
echo
echo "minilm, binary, 1 connection ($DURATION each):"
echo
echo "| | req/s | p50 (ms) | p99 (ms) |"
echo "|---|---:|---:|---:|"
echo "| hit (the same request) | $(wrk_cells "$mh") |"
echo "| miss (every request new) | $(wrk_cells "$mm") |"
echo "| miss p50 / hit p50 | | $(ratio "$(awk -v v="$(to_ms "$(pct "$mm" 50)")" 'BEGIN { print v + 0 }')" "$(awk -v v="$(to_ms "$(pct "$mh" 50)")" 'BEGIN { print v + 0 }')") | |"
echo
echo "mlp, JSON, 1 connection, a sequence of distinct requests: node A computes them ($DURATION, $A_REQUESTS requests, misses written to Redis), then node B asks for them ($B_DURATION, $B_REQUESTS requests; B's Redis lookups: $B_REDIS_HITS hits, $B_REDIS_MISSES misses):"
echo
echo "| | req/s | p50 (ms) | p99 (ms) |"
echo "|---|---:|---:|---:|"
echo "| node A: miss, computed | $(wrk_cells "$sa") |"
echo "| node B: L2 hit from Redis | $(wrk_cells "$sb") |"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw outputs: $WORK"; fi
report_errors
