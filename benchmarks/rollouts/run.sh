#!/usr/bin/env bash
# Rollouts (issue 13), from outside, on one standalone server (127.0.0.1 only):
#  a. the cost of a traffic split on the request path: model `mlp` (no split) and model `mlp_split` (the same file,
#     versions 1 and 2, a canary paused at 50%: every request draws a version and is recorded as rollout evidence),
#     JSON requests with wrk at CONNECTIONS connections for ROUND each, ROUNDS rounds interleaved (plain, split,
#     plain, split, ...): requests/s, p50, p99 and max per round, the server's RSS after each round, and the
#     split/plain ratio of the medians. Cache off for both.
#  b. a canary watched by the load tool: an open loop at RATE requests/s on model `mlp_watch` for WATCH seconds
#     with --expect-version 2 and no warm-up (the plot starts at the first request); a canary [10, 50, 100] of STEP-second steps starts 5 s after its first answers. The report's plot of the
#     answers by version (an SVG) is copied to docs/images/rollout-canary.svg when WRITE_DOCS=1.
#
#   ./benchmarks/rollouts/run.sh
#   ROUNDS=2 ROUND=5s ./benchmarks/rollouts/run.sh        # shorter
#
# Environment: ROUNDS (3), ROUND (10s), CONNECTIONS (8), RATE (50), STEP (8), WATCH (40), PORT (18700), OUT_DIR,
# SKIP_BUILD=1, WRITE_DOCS=1. Needs dotnet, curl, wrk, jq.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source "$ROOT/benchmarks/lib.sh"

ROUNDS="${ROUNDS:-3}"
ROUND="${ROUND:-10s}"
CONNECTIONS="${CONNECTIONS:-8}"
RATE="${RATE:-50}"
STEP="${STEP:-8}"
WATCH="${WATCH:-40}"
PORT="${PORT:-18700}"
SERVER="http://127.0.0.1:$PORT"
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
LOADTOOL_DLL="$ROOT/loadtests/bin/Release/net10.0/ServingGateway.LoadTool.dll"

begin_run rollouts-bench dotnet curl wrk jq
build_release src/Gateway loadtests
port_free "$PORT"

# Three copies of the example mlp: versions 1 and 2 (the same file) where a rollout runs, version 1 served at start.
repo="$WORK/models"
for name in mlp mlp_split mlp_watch; do
    mkdir -p "$repo/$name/1"
    cp models/mlp/1/model.onnx "$repo/$name/1/model.onnx"
    [[ "$name" == mlp ]] && policy='' || { mkdir -p "$repo/$name/2"; cp models/mlp/1/model.onnx "$repo/$name/2/model.onnx"; policy=', "version_policy": {"specific": {"versions": [1]}}'; }
    echo "{\"max_batch_size\": 64, \"instances\": 2, \"cache\": {\"enable\": false}$policy}" >"$repo/$name/config.json"
done

dotnet "$GATEWAY_DLL" --models "$repo" --urls "$SERVER" --Deployments:StateFile "$WORK/deployments.json" \
    --Deployments:TickMilliseconds 200 --Audit:Path "$WORK/audit.log" --Logging:LogLevel:Default Warning >"$WORK/server.log" 2>&1 &
server_pid=$!
track "$server_pid"
wait_ready "$SERVER" "$server_pid" "$WORK/server.log"

rollout() { # MODEL BODY: starts a rollout, fails loudly when refused
    curl -fsS -X POST "$SERVER/admin/models/$1/rollouts" -H 'Content-Type: application/json' -d "$2" >/dev/null
}
state() { curl -fsS "$SERVER/admin/models/$1/rollouts/current" | jq -r '"\(.state) \(.percent)"'; }

# a. mlp_split at a 50% canary step, paused there (a long window, then pause: the split stays, evidence is recorded).
rollout mlp_split '{"version": 2, "strategy": "canary", "steps": [50, 100], "step_seconds": 3600, "analysis": {"min_requests": 1}}'
for _ in $(seq 100); do [[ "$(state mlp_split)" == "analyzing 50" ]] && break; sleep 0.2; done
[[ "$(state mlp_split)" == "analyzing 50" ]] || { log "mlp_split never reached its 50% step: $(state mlp_split)"; exit 1; }
curl -fsS -X POST "$SERVER/admin/models/mlp_split/rollouts/current/pause" >/dev/null

rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"; }
rows=()
declare -A rps_of
for round in $(seq "$ROUNDS"); do
    for model in mlp mlp_split; do
        out="$WORK/wrk-$model-$round.txt"
        run_wrk "$out" benchmarks/http/mlp_json.lua "$SERVER/v2/models/$model/infer" "$CONNECTIONS" "$ROUND"
        max=$(awk '/Latency/ && !/Distribution/ { print $4; exit }' "$out")
        rows+=("| $round | $model | $(wrk_cells "$out") | $(to_ms "$max") | $(rss) |")
        rps_of[$model]+="$(rps "$out") "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
plain=$(echo "${rps_of[mlp]}" | median)
split=$(echo "${rps_of[mlp_split]}" | median)
versions=$(curl -fsS "$SERVER/admin/models/mlp_split/rollouts/current" | jq -c '[.versions[] | {version, requests, p99_ms}]')

# b. the canary watched from outside.
report="$WORK/watch-report"
dotnet "$LOADTOOL_DLL" run --url "$SERVER" --model mlp_watch --open-rate "$RATE" --duration "${WATCH}s" \
    --expect-version 2 --warmup 0s --report-dir "$report" --no-progress >"$WORK/watch.log" 2>&1 &
watch_pid=$!
track "$watch_pid"
# The rollout starts 5 s after the first answers (the load tool itself takes seconds to start on a busy machine).
answered() { curl -fsS "$SERVER/v2/models/mlp_watch/stats" | jq '[.model_stats[].inference_stats.success.count] | add // 0'; }
for _ in $(seq 300); do [[ "$(answered)" -gt 0 ]] && break; sleep 0.1; done
sleep 5
rollout mlp_watch "{\"version\": 2, \"strategy\": \"canary\", \"steps\": [10, 50, 100], \"step_seconds\": $STEP, \"analysis\": {\"max_error_rate\": 0, \"max_p99_ratio\": 20, \"min_requests\": 3}}"
wait "$watch_pid" || { log "the load tool failed:"; cat "$WORK/watch.log" >&2; exit 1; }
watched="$(state mlp_watch)"
decisions=$(curl -fsS "$SERVER/admin/models/mlp_watch/rollouts/current" | jq -r '[.decisions[] | "\(.action) \(.percent)%"] | join(", ")')
svg="$report/versions.svg"
python3 - "$report/report.html" "$svg" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
match = [s for s in svgs if "Answers by model version" in s]
if not match:
    sys.exit("no versions plot in the report")
open(sys.argv[2], "w", encoding="utf-8").write(match[0])
PY
if [[ "${WRITE_DOCS:-0}" == 1 ]]; then cp "$svg" "$ROOT/docs/images/rollout-canary.svg"; fi

echo "## Rollouts ($(date -u +%Y-%m-%d), $(machine); load average at start $LOAD_START)"
echo
echo "a. request-path cost of a split: $CONNECTIONS connections, $ROUND rounds, interleaved, cache off"
echo
echo "| round | model | requests/s | p50 ms | p99 ms | max ms | server RSS MiB after |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "median requests/s: plain $plain, split $split; split / plain = $(ratio "$split" "$plain"); evidence recorded: $versions"
echo
echo "b. canary watched by the load tool at $RATE requests/s: final state $watched; decisions: $decisions"
grep -iE "version 2|versions" "$WORK/watch.log" | head -5 || true
echo "plot: $svg$([[ "${WRITE_DOCS:-0}" == 1 ]] && echo ", copied to docs/images/rollout-canary.svg")"
if [[ ${#ERRORS[@]} -gt 0 ]]; then printf 'wrk errors: %s\n' "${ERRORS[@]}"; exit 1; fi
