#!/usr/bin/env bash
# Writes docs/images/status.png, the status page's screenshot the README and docs/OPERATIONS.md show: runs the
# browser test (tests/FunctionalTests/StatusPageTests.cs: a standalone server on the mlp test model, 60 infer
# requests, Debian's chromium driven by Playwright) with SG_STATUS_SCREENSHOT set, so the picture is the one the
# test took after checking the page. Needs chromium (apt-get install -y chromium, or SG_CHROMIUM=/path).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/images/status.png}"
SG_STATUS_SCREENSHOT="$(realpath -m "$out")" nice -n 19 dotnet test tests/FunctionalTests \
    --filter 'FullyQualifiedName~StatusPageTests.StatusPage_InBrowserWithTraffic_ListsMlpAndItsNumbersMove'
echo "wrote $out"
