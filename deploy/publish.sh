#!/usr/bin/env bash
# How the server is published for an image: the one place. The Dockerfile runs it and CI runs it too
# (.ci/run, cpu), so the arguments an image is built with are the arguments CI checks.
#   deploy/publish.sh cpu OUT   framework-dependent, for the ASP.NET runtime image (CPU ONNX Runtime)
#   deploy/publish.sh gpu OUT   self-contained linux-x64 with -p:OrtGpu=true (CUDA 13 ONNX Runtime), for a CUDA
#                               base image that has no .NET
set -euo pipefail
if [ $# -ne 2 ] || { [ "$1" != cpu ] && [ "$1" != gpu ]; }; then
    echo "usage: $0 cpu|gpu OUTDIR" >&2
    exit 2
fi
flavour=$1
out=$2
cd "$(dirname "$0")/.."
case "$flavour" in
    cpu) dotnet publish src/Gateway/Gateway.csproj -c Release -o "$out" -r linux-x64 --no-self-contained -p:UseAppHost=false ;;
    gpu) dotnet publish src/Gateway/Gateway.csproj -c Release -o "$out" -r linux-x64 --self-contained -p:OrtGpu=true ;;
esac
