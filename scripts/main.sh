#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build optimised for this
# CPU, and run a hardware-aware search on Fashion-MNIST with latency measured on this machine
# (`edgenas search --preset quick`: 10 to 15 minutes on 2 cores, under 1 GB of memory). The result is in
# out/search/report.md (front.svg, result.json, model.enas). Running it again continues an
# interrupted search, or re-reports a finished one.
#   scripts/main.sh [extra edgenas search options, e.g. --preset full]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target edgenas_cli  # only what the main job runs
./build/release/tools/edgenas info
./build/release/tools/edgenas search --preset quick --out out/search --resume "$@"
