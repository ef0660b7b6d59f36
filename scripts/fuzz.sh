#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan) and runs each for SECONDS
# (default 20) on a copy of its seed corpus; any finding fails and leaves the input in
# build/fuzz/tests/fuzz/ (crash-*, leak-*, timeout-*, oom-*). CI runs it with the default.
#   scripts/fuzz.sh [SECONDS] [TARGET]    e.g. scripts/fuzz.sh 600 model_file
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
target="${2:-}"
bash scripts/install-deps.sh --fuzz
cmake --preset fuzz -DEDGENAS_FUZZ_SECONDS="$seconds" > /dev/null
cmake --build --preset fuzz
ctest --preset fuzz ${target:+-R "^fuzz_${target}\$"}
