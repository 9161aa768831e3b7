#!/usr/bin/env bash
# Runs every BenchmarkDotNet suite of benchmarks/Benchmarks (short job, MemoryDiagnoser) and checks each
# benchmark's bytes allocated per operation against benchmarks/allocation-budgets.json. Exit 1 when one is
# over its budget or has none, or (without FILTER) when a budget's benchmark gave no result; prints the
# table either way.
#
#   ./benchmarks/check-allocations.sh                 # all suites (about 10 minutes on 2 cores)
#   QUICK=1 ./benchmarks/check-allocations.sh         # what CI runs: in process, fewer iterations
#   FILTER='*Codec*' ./benchmarks/check-allocations.sh
#
# Environment: FILTER (BenchmarkDotNet --filter, default '*'), OUT_DIR (keep the BenchmarkDotNet artifacts),
# QUICK=1 (benchmarks run in this process with one warm-up and three short iterations: the times are rough,
# the bytes per operation exact, which is what the budgets check).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ARTIFACTS="${OUT_DIR:-$(mktemp -d -t bdn.XXXXXX)}"
mkdir -p "$ARTIFACTS"
[[ -n "${OUT_DIR:-}" ]] || trap 'rm -rf "$ARTIFACTS"' EXIT

job=(--job short)
[[ -z "${QUICK:-}" ]] || job=(--inProcess --warmupCount 1 --iterationCount 3 --iterationTime 100)
timeout 3600 dotnet run -c Release --project benchmarks/Benchmarks -- \
    --filter "${FILTER:-*}" "${job[@]}" --exporters json --artifacts "$ARTIFACTS" >"$ARTIFACTS/run.log" 2>&1 \
    || { tail -50 "$ARTIFACTS/run.log" >&2; exit 2; }

python3 - "$ARTIFACTS" benchmarks/allocation-budgets.json "${FILTER:-*}" <<'PY'
import glob, json, sys

artifacts, budgets_path, name_filter = sys.argv[1], sys.argv[2], sys.argv[3]
budgets = json.load(open(budgets_path))["bytesPerOperation"]
rows, failed = [], False
for path in sorted(glob.glob(f"{artifacts}/results/*-report-full-compressed.json")):
    for b in json.load(open(path))["Benchmarks"]:
        name = f'{b["Type"]}.{b["Method"]}' + (f'({b["Parameters"]})' if b.get("Parameters") else "")
        allocated = b["Memory"]["BytesAllocatedPerOperation"]
        budget = budgets.get(name)
        verdict = "no budget" if budget is None else ("ok" if allocated <= budget else "OVER")
        failed |= verdict != "ok"
        rows.append((name, allocated, budget, verdict))

if not rows:
    sys.exit("no BenchmarkDotNet results found")
# A budget whose benchmark was renamed, dropped or failed to run checks nothing: that fails too.
if name_filter == "*":
    measured = {name for name, *_ in rows}
    for name, budget in budgets.items():
        if name not in measured:
            failed = True
            rows.append((name, "", budget, "NO RESULT"))
print("| benchmark | allocated B/op | budget B/op | |")
print("|---|---:|---:|---|")
for name, allocated, budget, verdict in rows:
    print(f"| {name} | {allocated} | {'' if budget is None else budget} | {verdict} |")
sys.exit(1 if failed else 0)
PY
