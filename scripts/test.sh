#!/usr/bin/env bash
# Installs whatever Debian packages are missing, then configures, builds and runs the test
# suite with one CMake preset (default: dev). Exits non-zero if anything fails.
#   scripts/test.sh            # Debug build, all tests
#   scripts/test.sh asan       # AddressSanitizer + UBSan build, all tests
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
bash scripts/install-deps.sh
cmake --workflow --preset "$preset"
