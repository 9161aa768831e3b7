#!/usr/bin/env bash
# The GPU check (issue 14, docs/GPU.md): on a machine with an NVIDIA GPU, CUDA 13 libraries (those of its PyTorch),
# no .NET and no network, it runs the GPU parity comparisons (CUDA against CPU, relative error < 1e-3, mlp, minilm,
# resnet18_dynamic, batch 1..32) and a batch sweep (in-process items/s of the CUDA executor for batch 1..64, and
# served items/s through HTTP with the binary extension at matching concurrency), and writes a Markdown report.
#
# The payload (a self-contained publish of tools/GpuCheck, which also serves: -p:OrtGpu=true, and the models) is
# far over the 64 MiB a device command may carry, so it travels in zstd chunks over consecutive commands:
#
#   here (with .NET):   scripts/gpu-check.sh pack              # -> artifacts/gpu-check/part-NN + manifest, printed
#   on the GPU machine: scripts/gpu-check.sh receive           # once per part, each carrying the next part(s)
#                       scripts/gpu-check.sh run               # verifies, unpacks, runs; report in $OUT/gpu-check.md
#   here:               scripts/gpu-check.sh selftest          # the CPU-side checks of all the above (no GPU)
#
# Environment: PART_MIB (pack: chunk size, default 48), ZSTD_LEVEL (pack: default 19), STORE (receive/run: where the
# parts gather, default /tmp/sg-gpu-check; files there stay while the machine is warm), OUT (run: report folder,
# default artifacts/gpu-check-out), SECONDS_PER_SIZE (run: sweep seconds per batch size, default 5), BATCH_SIZES (run:
# default "1 2 4 8 16 32 64"), PROVIDER (run: cuda, or cpu to try the flow without a GPU), SKIP_PUBLISH=1 (pack).
# Exit status: 0 done (the report says pass/fail per check), 1 a check failed, 2 usage or a broken payload,
# 3 CUDA is not available there (the report says why).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARTS_DIR="${PARTS_DIR:-$ROOT/artifacts/gpu-check}"
STORE="${STORE:-/tmp/sg-gpu-check}"
PART_MIB="${PART_MIB:-48}"
MODELS=(mlp minilm resnet18_dynamic)

log() { echo "gpu-check: $*" >&2; }

pack() {
    local publish="$ROOT/artifacts/gpu-check-publish" stage
    if [[ "${SKIP_PUBLISH:-0}" != 1 ]]; then
        rm -rf "$publish"
        log "publishing tools/GpuCheck self-contained for linux-x64 with -p:OrtGpu=true"
        dotnet publish "$ROOT/tools/GpuCheck" -c Release -r linux-x64 --self-contained -p:OrtGpu=true -o "$publish" >&2
        # TensorRT is not used; its provider library would only add to the parts.
        rm -f "$publish"/libonnxruntime_providers_tensorrt.so
    fi
    [[ -x "$publish/ServingGateway.GpuCheck" ]] || { log "no publish in $publish"; exit 2; }
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' RETURN
    ln -s "$publish" "$stage/app"
    mkdir -p "$stage/models"
    for model in "${MODELS[@]}"; do
        [[ -f "$ROOT/models/$model/1/model.onnx" ]] || { log "models/$model missing: run ./models/fetch.sh"; exit 2; }
        mkdir -p "$stage/models/$model/1"
        cp -L "$ROOT/models/$model/1/model.onnx" "$stage/models/$model/1/"
    done
    rm -rf "$PARTS_DIR"
    mkdir -p "$PARTS_DIR"
    log "compressing (zstd -${ZSTD_LEVEL:-19}) into ${PART_MIB} MiB parts"
    tar -C "$stage" -chf - app models | zstd -q "-${ZSTD_LEVEL:-19}" -T0 --long=27 | split -b "${PART_MIB}M" -d -a 2 - "$PARTS_DIR/part-"
    (cd "$PARTS_DIR" && sha256sum part-* >manifest && cat part-* | sha256sum | cut -d' ' -f1 >whole.sha256)
    local count
    count=$(ls "$PARTS_DIR"/part-* | wc -l)
    log "$count parts in artifacts/gpu-check ($(du -ch "$PARTS_DIR"/part-* | tail -1 | cut -f1) in all); device commands:"
    for part in "$PARTS_DIR"/part-*; do
        echo "run(command='scripts/gpu-check.sh receive', carry=['artifacts/gpu-check/manifest', 'artifacts/gpu-check/$(basename "$part")'], timeout_s=120)"
    done
    echo "run(command='scripts/gpu-check.sh run', carry=['artifacts/gpu-check/manifest', 'artifacts/gpu-check/whole.sha256'], timeout_s=600)"
}

# Moves the parts this command carried (and the manifest) into STORE; a part that does not match the manifest is
# dropped (carry it again).
receive() {
    mkdir -p "$STORE"
    local file
    for file in manifest whole.sha256; do
        [[ -f "$PARTS_DIR/$file" ]] && cp "$PARTS_DIR/$file" "$STORE/$file"
    done
    [[ -f "$STORE/manifest" ]] || { log "no manifest: carry artifacts/gpu-check/manifest"; exit 2; }
    shopt -s nullglob
    local part name
    for part in "$PARTS_DIR"/part-*; do
        name=$(basename "$part")
        mv "$part" "$STORE/$name"
        if ! (cd "$STORE" && grep " $name\$" manifest | sha256sum -c --quiet - >/dev/null 2>&1); then
            log "$name does not match the manifest: dropped"
            rm -f "$STORE/$name"
        fi
    done
    local missing=()
    while read -r _ name; do
        [[ -f "$STORE/$name" ]] || missing+=("$name")
    done <"$STORE/manifest"
    log "$(( $(wc -l <"$STORE/manifest") - ${#missing[@]} )) of $(wc -l <"$STORE/manifest") parts in $STORE${missing[*]:+; missing: ${missing[*]}}"
}

# LD_LIBRARY_PATH for ONNX Runtime's CUDA provider: the CUDA 13 and cuDNN 9 libraries that come with PyTorch.
cuda_libraries() {
    local dirs=()
    local python
    for python in python3 /usr/bin/python3; do
        command -v "$python" >/dev/null || continue
        mapfile -t dirs < <("$python" - <<'EOF' 2>/dev/null
import glob, os, site
roots = set(site.getsitepackages() + [site.getusersitepackages()])
try:
    import torch
    roots.add(os.path.dirname(os.path.dirname(torch.__file__)))
    print(os.path.join(os.path.dirname(torch.__file__), "lib"))
except Exception:
    pass
for root in roots:
    for d in sorted(glob.glob(os.path.join(root, "nvidia", "*", "lib")) + glob.glob(os.path.join(root, "nvidia", "cu*", "lib"))):
        print(d)
EOF
        )
        [[ ${#dirs[@]} -gt 0 ]] && break
    done
    local joined
    joined=$(IFS=:; echo "${dirs[*]}")
    echo "${joined}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# 200 from URL (curl, or Python where the machine has no curl).
is_ready() {
    if command -v curl >/dev/null; then
        curl -fs "$1" >/dev/null 2>&1
    else
        python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" >/dev/null 2>&1
    fi
}

run_check() {
    local out="${OUT:-$ROOT/artifacts/gpu-check-out}" provider="${PROVIDER:-cuda}" seconds="${SECONDS_PER_SIZE:-5}"
    local sizes=(${BATCH_SIZES:-1 2 4 8 16 32 64})
    mkdir -p "$out"
    local report="$out/gpu-check.md"
    receive
    local missing
    missing=$(while read -r _ name; do [[ -f "$STORE/$name" ]] || echo "$name"; done <"$STORE/manifest")
    [[ -z "$missing" ]] || { log "parts missing: $missing"; exit 2; }
    if [[ ! -x "$STORE/unpacked/app/ServingGateway.GpuCheck" ]]; then
        if [[ -f "$STORE/whole.sha256" ]] && [[ "$(cd "$STORE" && cat part-* | sha256sum | cut -d' ' -f1)" != "$(cat "$STORE/whole.sha256")" ]]; then
            log "the reassembled payload does not match whole.sha256"; exit 2
        fi
        rm -rf "$STORE/unpacked"
        mkdir -p "$STORE/unpacked"
        (cd "$STORE" && cat part-* | zstd -d -q --long=27 | tar -C unpacked -xf -)
    fi
    local app="$STORE/unpacked/app/ServingGateway.GpuCheck" models="$STORE/unpacked/models"
    export LD_LIBRARY_PATH
    LD_LIBRARY_PATH=$(cuda_libraries)
    export DOTNET_gcServer=0

    {
        echo "# GPU check ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo
        echo "Machine: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); $(nproc) CPU cores. Provider asked: $provider."
        echo "Command: \`scripts/gpu-check.sh run\` (SECONDS_PER_SIZE=$seconds, BATCH_SIZES=\"${sizes[*]}\")."
        echo
        echo "## Parity: CUDA against CPU (relative error = max |cuda - cpu| / max |cpu| per output)"
        echo
    } >"$report"
    local status=0 parity=0
    "$app" parity --models "$models" --provider "$provider" >>"$report" 2>"$out/parity.err" || parity=$?
    if [[ $parity -eq 3 ]]; then
        { echo; echo "CUDA is not available here: $(cat "$out/parity.err")"; } >>"$report"
        log "CUDA is not available: $(cat "$out/parity.err")"
        cat "$report"
        return 3
    fi
    [[ $parity -eq 0 ]] || { status=1; cat "$out/parity.err" >>"$report"; }

    local port=18400 url="http://127.0.0.1:18400" repo="$STORE/repo"
    for model in resnet18_dynamic minilm; do
        # The in-process ceiling of one executor, then the same model served by one instance.
        "$app" sweep --model "$models/$model/1/model.onnx" --provider "$provider" --seconds "$seconds" \
            --batch-sizes "$(IFS=,; echo "${sizes[*]}")" >"$out/sweep-$model.txt" 2>>"$out/sweep.err" || status=1
        rm -rf "$repo"
        mkdir -p "$repo/$model/1"
        ln -s "$models/$model/1/model.onnx" "$repo/$model/1/model.onnx"
        echo "{\"max_batch_size\": ${sizes[-1]}, \"instances\": 1, \"execution_provider\": \"$provider\", \"cache\": {\"enable\": false}}" >"$repo/$model/config.json"
        "$app" serve --models "$repo" --urls "$url" >"$out/server-$model.log" 2>&1 &
        local server=$!
        local ready=0
        for _ in $(seq 1 120); do
            if is_ready "$url/v2/models/$model/ready"; then ready=1; break; fi
            sleep 0.5
        done
        if [[ $ready -eq 1 ]]; then
            for size in "${sizes[@]}"; do
                "$app" load --url "$url" --model "$model" --file "$models/$model/1/model.onnx" --connections "$size" --seconds "$((seconds * 2))" \
                    >>"$out/served-$model.txt" 2>>"$out/load.err" || status=1
            done
        else
            log "$model: the server was not ready in 60 s (see server-$model.log)"; status=1
        fi
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true

        {
            echo
            echo "## $model: items/s, in process (one CudaModelInstance, batches back to back) and served (one instance, HTTP + binary extension, one-row requests from as many connections as the batch size)"
            echo
            echo "| batch / connections | in-process items/s | ms per batch | served items/s | served / in-process | errors |"
            echo "|---:|---:|---:|---:|---:|---:|"
            join -j 1 <(sort -k1,1 "$out/sweep-$model.txt") <(sort -k1,1 "$out/served-$model.txt" 2>/dev/null) 2>/dev/null | sort -n -k1,1 |
                awk '{ printf "| %d | %.1f | %.3f | %.1f | %.2f | %d |\n", $1, $2, $3, $4, ($2 > 0 ? $4 / $2 : 0), $5 }'
        } >>"$report"
    done
    cat "$report"
    return $status
}

selftest() {
    # What can be checked without a GPU, on the parts of the last pack: every device command fits the 64 MiB it may
    # carry; the parts go one by one through receive (as one command each) and reassemble into what was packed; the
    # runner then says CUDA is missing (exit 3) and writes so in the report, or with PROVIDER=cpu runs the whole
    # flow (parity, sweep, server, load, table) on CPU.
    [[ -f "$PARTS_DIR/manifest" ]] || { log "no parts: run scripts/gpu-check.sh pack first"; exit 2; }
    local tree biggest
    tree=$(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
    biggest=$(du -b "$PARTS_DIR"/part-* | sort -n | tail -1 | cut -f1)
    log "working tree $((tree / 1048576)) MiB + largest part $((biggest / 1048576)) MiB + manifest per receive command (limit 64 MiB)"
    (( tree + biggest + 65536 < 64 * 1048576 )) || { log "FAIL: a receive command would carry 64 MiB or more"; exit 1; }
    local store inbox out part
    store=$(mktemp -d) inbox=$(mktemp -d) out=$(mktemp -d)
    for part in "$PARTS_DIR"/part-*; do
        cp "$PARTS_DIR/manifest" "$PARTS_DIR/whole.sha256" "$part" "$inbox/"
        PARTS_DIR="$inbox" STORE="$store" receive
    done
    local status=0
    PARTS_DIR="$inbox" STORE="$store" OUT="$out" run_check || status=$?
    log "run exit status $status; report $out/gpu-check.md; store $store (remove when done)"
    rm -rf "$inbox"
    return $status
}

case "${1:-}" in
    pack) pack ;;
    receive) receive ;;
    run) run_check ;;
    selftest) selftest ;;
    *) sed -n '2,22p' "$0"; exit 2 ;;
esac
