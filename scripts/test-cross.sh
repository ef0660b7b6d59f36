#!/usr/bin/env bash
# The cross-compilation part of the tests (CI runs it after scripts/test.sh):
#   1. aarch64: sysroot from Debian arm64 packages, the whole test suite cross-built and run
#      under qemu-aarch64 (XNNPACK runtime equivalence included);
#   2. the benchmark binaries built for aarch64 and armhf, one short benchmark run under qemu;
#   3. "search on the board": the edgenas tool built for aarch64 runs a tiny search under
#      qemu-aarch64, building its latency table on the emulated device;
#   4. the Cortex-M4 firmware example under qemu-system-arm (scripts/firmware.sh).
# Without the cross packages it says so and exits 0 (scripts/install-deps.sh --cross adds
# them; CI=true installs them here).
set -euo pipefail
cd "$(dirname "$0")/.."
need=(aarch64-linux-gnu-g++ arm-linux-gnueabihf-g++ qemu-aarch64 qemu-arm arm-none-eabi-g++ qemu-system-arm)
missing=()
for t in "${need[@]}"; do command -v "$t" > /dev/null || missing+=("$t"); done
if (( ${#missing[@]} )); then
  if [[ "${CI:-}" == true ]]; then
    bash scripts/install-deps.sh --cross
  else
    echo "test-cross.sh: SKIPPED — missing ${missing[*]}; run scripts/install-deps.sh --cross to test the ARM builds"
    exit 0
  fi
fi
bash scripts/install-deps.sh --cross > /dev/null
start=$SECONDS

echo "== aarch64: sysroot, test suite under qemu-aarch64"
scripts/make-sysroot.sh arm64
cmake -S . -B build/aarch64 -G Ninja --toolchain "$PWD/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DEDGENAS_BUILD_BENCHMARKS=ON > /dev/null
cmake --build build/aarch64
(cd build/aarch64 && ctest --output-on-failure -j2 --timeout 1500)

echo "== aarch64: a benchmark starts under qemu"
qemu-aarch64 -L build/sysroot-arm64/root build/aarch64/benchmarks/bench_ops \
  --benchmark_filter='depthwise.*/28/28/64/3/1' --benchmark_min_time=0.01 | tail -3

echo "== armhf: sysroot, benchmarks and the tool, one benchmark under qemu-arm"
scripts/make-sysroot.sh armhf
cmake -S . -B build/armhf -G Ninja --toolchain "$PWD/toolchains/arm-linux-gnueabihf.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DEDGENAS_BUILD_TESTS=OFF -DEDGENAS_BUILD_BENCHMARKS=ON > /dev/null
cmake --build build/armhf
qemu-arm -L build/sysroot-armhf/root build/armhf/benchmarks/bench_ops \
  --benchmark_filter='depthwise.*/28/28/64/3/1' --benchmark_min_time=0.01 | tail -3

echo "== search on the board: the aarch64 tool under qemu-aarch64"
rm -rf build/aarch64-search
qemu-aarch64 -L build/sysroot-arm64/root build/aarch64/tools/edgenas info | tee build/aarch64-info.txt
grep -qiE "ARM|Cortex|aarch64|NEON" build/aarch64-info.txt
qemu-aarch64 -L build/sysroot-arm64/root build/aarch64/tools/edgenas search --preset tiny \
  --space tests/cli/tiny_space.json --train-images 500 --supernet-images 500 --validation-images 200 \
  --test-images 200 --calibration-images 200 --evaluations 4 --out build/aarch64-search --quiet
grep -q '"device"' build/aarch64-search/result.json
grep -o '"device": "[^"]*"' build/aarch64-search/result.json

echo "== firmware: Cortex-M4 under qemu-system-arm"
EDGENAS_HOST_BUILD="${EDGENAS_HOST_BUILD:-build/dev}" bash scripts/firmware.sh

echo "test-cross.sh: all cross checks passed in $((SECONDS - start)) s"
