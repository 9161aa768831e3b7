#!/usr/bin/env bash
# The edge's cost (issue 5), side by side in one run, the same node behind both proxies:
#  - ServingGateway --role edge with its pipeline on: an API key checked on every request, a rate limit
#    that never binds (1 000 000/s), consistent hashing with bounded load, health checks;
#  - benchmarks/BareYarp: YARP with default settings forwarding everything to the node;
#  - and the node direct, for scale.
# mlp infer, JSON, wrk at CONNECTIONS connections, rows interleaved.
#
#   ./benchmarks/edge/run.sh
#
# Environment: DURATION (default 15s), CONNECTIONS (default "8 64"), PORT (18400: node; +1 edge; +2 bare
# YARP), OUT_DIR (keep raw outputs), SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-8 64}"
PORT="${PORT:-18400}"
NODE="http://127.0.0.1:$PORT"
EDGE="http://127.0.0.1:$((PORT + 1))"
BARE="http://127.0.0.1:$((PORT + 2))"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
BARE_DLL="$ROOT/benchmarks/BareYarp/bin/Release/net10.0/BareYarp.dll"
KEY="bench-key-0123456789"

begin_run edge-bench dotnet wrk curl sha256sum
build_release src/Gateway benchmarks/BareYarp

# The node serves mlp without the cache, so every request runs the model.
mlp_repository "$WORK/models"
cat >"$WORK/edge.json" <<JSON
{
  "Auth": {"Keys": [{"Name": "bench", "Sha256": "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)", "Roles": ["infer"]}]},
  "RateLimits": {"Default": {"Rate": 1000000, "Burst": 1000000}}
}
JSON

for port in "$PORT" "$((PORT + 1))" "$((PORT + 2))"; do port_free "$port"; done
dotnet "$GATEWAY_DLL" --role node --models "$WORK/models" --urls "$NODE" >"$WORK/node.log" 2>&1 &
track $!
wait_ready "$NODE" "$!" "$WORK/node.log"
dotnet "$GATEWAY_DLL" --role edge --node "$NODE" --urls "$EDGE" --config "$WORK/edge.json" >"$WORK/edge.log" 2>&1 &
track $!
wait_ready "$EDGE" "$!" "$WORK/edge.log"
dotnet "$BARE_DLL" --urls "$BARE" --node "$NODE" >"$WORK/bare.log" 2>&1 &
track $!
wait_ready "$BARE" "$!" "$WORK/bare.log"

# The edge refuses requests without the key: check, so the benchmark cannot measure 401s.
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$EDGE/v2/models/mlp/infer" -d '{}')
[[ "$status" == 401 ]] || { log "the edge answered $status without a key, not 401"; exit 1; }

AUTH=(-H "Authorization: Bearer $KEY")
log "warming up"
run_wrk "$WORK/warmup.edge.txt" benchmarks/http/mlp_json.lua "$EDGE/v2/models/mlp/infer" 8 5s "${AUTH[@]}"
run_wrk "$WORK/warmup.bare.txt" benchmarks/http/mlp_json.lua "$BARE/v2/models/mlp/infer" 8 5s "${AUTH[@]}"

ROWS=()
for conns in $CONNECTIONS; do
    for target in edge bare node; do
        case "$target" in edge) url="$EDGE" ;; bare) url="$BARE" ;; node) url="$NODE" ;; esac
        log "$conns connections: $target ($DURATION)"
        run_wrk "$WORK/$target.c$conns.txt" benchmarks/http/mlp_json.lua "$url/v2/models/mlp/infer" "$conns" "$DURATION" "${AUTH[@]}"
    done
    e="$WORK/edge.c$conns.txt"; b="$WORK/bare.c$conns.txt"; n="$WORK/node.c$conns.txt"
    ROWS+=("| $conns | $(wrk_cells "$e") | $(wrk_cells "$b") | $(ratio "$(rps "$e")" "$(rps "$b")") | $(printf '%.0f' "$(rps "$n")") |")
done
AUTH_FAILURES=$(curl -fs "$EDGE/metrics" | awk '/^sg_rate_limited_total/ { s += $2 } END { print s + 0 }')

echo
report_header
echo "wrk: -t 2, -d $DURATION --latency, mlp JSON with an Authorization header; rate-limited requests during the run: $AUTH_FAILURES"
echo
echo "| connections | edge req/s | p50 (ms) | p99 (ms) | bare YARP req/s | p50 (ms) | p99 (ms) | edge / bare | node direct req/s |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if [[ "$KEEP_WORK" == 1 ]]; then echo "Raw outputs: $WORK"; fi
report_errors
