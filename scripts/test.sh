#!/usr/bin/env bash
# Installs whatever Debian packages are missing, then configures, builds and runs the test
# suite with one CMake preset (default: dev). Exits non-zero if anything fails.
#   scripts/test.sh            # Debug build, all tests, then the ARM part (scripts/test-cross.sh:
#                              # aarch64 suite under qemu, armhf build, search on the emulated
#                              # board, Cortex-M4 firmware), then the distributed search under
#                              # mpirun (scripts/test-mpi.sh); each skipped with a message when
#                              # its packages are missing (CI installs them)
#   scripts/test.sh asan       # AddressSanitizer + UBSan build, the library's tests (the tool's
#                              # end-to-end tests run in the dev build)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
bash scripts/install-deps.sh
cmake --workflow --preset "$preset"
if [[ "$preset" == dev ]]; then
  EDGENAS_HOST_BUILD=build/dev bash scripts/test-cross.sh
  bash scripts/test-mpi.sh
fi
