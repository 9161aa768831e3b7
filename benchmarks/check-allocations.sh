#!/usr/bin/env bash
# Runs every BenchmarkDotNet suite of benchmarks/Benchmarks (short job, MemoryDiagnoser) and checks each
# benchmark's bytes allocated per operation against benchmarks/allocation-budgets.json. Exit 1 when one is
# over its budget or has none; prints the table either way.
#
#   ./benchmarks/check-allocations.sh                 # all suites (about 10 minutes on 2 cores)
#   FILTER='*Codec*' ./benchmarks/check-allocations.sh
#
# Environment: FILTER (BenchmarkDotNet --filter, default '*'), OUT_DIR (keep the BenchmarkDotNet artifacts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ARTIFACTS="${OUT_DIR:-$(mktemp -d -t bdn.XXXXXX)}"
mkdir -p "$ARTIFACTS"
[[ -n "${OUT_DIR:-}" ]] || trap 'rm -rf "$ARTIFACTS"' EXIT

timeout 3600 dotnet run -c Release --project benchmarks/Benchmarks -- \
    --filter "${FILTER:-*}" --job short --exporters json --artifacts "$ARTIFACTS" >"$ARTIFACTS/run.log" 2>&1 \
    || { tail -50 "$ARTIFACTS/run.log" >&2; exit 2; }

python3 - "$ARTIFACTS" benchmarks/allocation-budgets.json <<'PY'
import glob, json, sys

artifacts, budgets_path = sys.argv[1], sys.argv[2]
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
print("| benchmark | allocated B/op | budget B/op | |")
print("|---|---:|---:|---|")
for name, allocated, budget, verdict in rows:
    print(f"| {name} | {allocated} | {'' if budget is None else budget} | {verdict} |")
sys.exit(1 if failed else 0)
PY
