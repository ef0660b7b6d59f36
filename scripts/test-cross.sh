#!/usr/bin/env bash
# The cross-compilation part of the tests (CI runs it after scripts/test.sh):
#   1. aarch64: sysroot from Debian arm64 packages, the whole test suite cross-built and run
#      under qemu-aarch64 (XNNPACK runtime equivalence included);
#   2. the benchmark binaries built for aarch64 and armhf, one short benchmark run under qemu
#      (on aarch64 also MobileNetV2 fp32 and int8 through XNNPACK);
#   3. "search on the board": the edgenas tool built for aarch64 runs a tiny search under
#      qemu-aarch64, building its latency table on the emulated device;
#   4. the search as a library on the board: examples/search_in_app (started, cancelled,
#      resumed) for aarch64 under qemu-aarch64 inside a 640 MiB address-space limit;
#   5. the Cortex-M4 firmware example under qemu-system-arm (scripts/firmware.sh), in fp32 and in int8
#      (every int8 logit equal to the host's integer reference).
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

aarch64_cpu=cortex-a72  # Raspberry Pi 4 (the toolchain files' default for qemu-user)
armhf_cpu=cortex-a7     # Raspberry Pi 2
on_aarch64() { qemu-aarch64 -cpu "$aarch64_cpu" -L build/sysroot-arm64/root "$@"; }
on_armhf() { qemu-arm -cpu "$armhf_cpu" -L build/sysroot-armhf/root "$@"; }
phase() { echo "== [$((SECONDS - start)) s] $*"; }

phase "aarch64: sysroot, test suite under qemu-aarch64 -cpu $aarch64_cpu"
scripts/make-sysroot.sh arm64
cmake -S . -B build/aarch64 -G Ninja --toolchain "$PWD/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DEDGENAS_BUILD_BENCHMARKS=ON -DEDGENAS_QEMU_CPU="$aarch64_cpu" > /dev/null
cmake --build build/aarch64
# Left to the native run: the pipeline's own tests (whole searches; phase 4 runs the library
# search on the board instead) and the tests that learn Fashion-MNIST for real (8 of the 9
# minutes under qemu-user; the same code is covered on the board by the short training tests).
(cd build/aarch64 && ctest --output-on-failure -j2 --timeout 1500 \
  -E '^pipeline_tests:|real learning|sandwich training on Fashion-MNIST|trained on Fashion-MNIST predicts')

phase "aarch64: a benchmark starts under qemu"
one_benchmark() {  # runs one pair of depthwise benchmarks; fails unless both report a time
  "$@" --benchmark_filter='depthwise(_forward)?/fmnist/28x28x64_k3s1' --benchmark_min_time=0.01 | tee build/bench-cross.txt
  [[ $(grep -c 'fmnist/28x28x64_k3s1 .* ns ' build/bench-cross.txt) == 2 ]]
}
one_benchmark on_aarch64 build/aarch64/benchmarks/bench_ops
# MobileNetV2 fp32 and int8 through XNNPACK (qs8/qc8 on ARM NEON): functional only under qemu.
on_aarch64 build/aarch64/benchmarks/bench_runtime --benchmark_filter='zoo/mobilenet_v2/edgenas(_int8)?/threads:1' \
  --benchmark_min_time=0.01 | tee build/bench-cross-int8.txt
[[ $(grep -cE 'zoo/mobilenet_v2/edgenas(_int8)?/threads:1/real_time .* ms ' build/bench-cross-int8.txt) == 2 ]]
# edgenas's NEON depthwise kernel next to XNNPACK's (the plan's two choices): functional only.
on_aarch64 build/aarch64/benchmarks/bench_kernels --benchmark_filter='dw/fmnist/14x14x144_k7s1' \
  --benchmark_min_time=0.01 | tee build/bench-cross-kernels.txt
[[ $(grep -cE 'dw/fmnist/14x14x144_k7s1/(edgenas|xnnpack) .* us ' build/bench-cross-kernels.txt) == 2 ]]

phase "armhf: sysroot, benchmarks and the tool; one benchmark under qemu-arm -cpu $armhf_cpu"
scripts/make-sysroot.sh armhf
cmake -S . -B build/armhf -G Ninja --toolchain "$PWD/toolchains/arm-linux-gnueabihf.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DEDGENAS_BUILD_TESTS=OFF -DEDGENAS_BUILD_BENCHMARKS=ON \
  -DEDGENAS_QEMU_CPU="$armhf_cpu" > /dev/null
cmake --build build/armhf --target bench_ops edgenas_cli  # what runs on the armhf board below
one_benchmark on_armhf build/armhf/benchmarks/bench_ops
on_armhf build/armhf/tools/edgenas info

phase "search on the board: the aarch64 tool under qemu-aarch64, killed once and resumed"
board=build/aarch64-search
rm -rf "$board"
on_aarch64 build/aarch64/tools/edgenas info --json > build/aarch64-info.json
cat build/aarch64-info.json
grep -q '"arch": "aarch64"' build/aarch64-info.json
grep -q '"vendor": "ARM"' build/aarch64-info.json
grep -q '"uarch": "Cortex-A72"' build/aarch64-info.json
search=(search --preset tiny --space tests/cli/tiny_space.json --train-images 500 --supernet-images 500
        --validation-images 200 --test-images 200 --calibration-images 200 --evaluations 4 --quiet
        --out "$board" --resume)
on_aarch64 build/aarch64/tools/edgenas "${search[@]}" > /dev/null 2>&1 &
pid=$!
sleep 20  # the latency table is done; the supernet is training
kill -9 "$pid" 2> /dev/null && echo "killed the search on the board after 20 s" || echo "the search ended within 20 s"
wait "$pid" 2> /dev/null || true
on_aarch64 build/aarch64/tools/edgenas "${search[@]}"
grep -o '"device": "[^"]*"' "$board/result.json"
grep -q '"device": "aarch64 ARM Cortex-A72' "$board/result.json"
test -s "$board/model.enas"

phase "the search as a library on the board: search_in_app under qemu-aarch64, 640 MiB address space"
# The limit holds qemu-user's own memory too (its translated-code buffer), so the program
# itself has less. Cancelled after 20 s, then resumed to the end.
prlimit --as=$((640 << 20)) qemu-aarch64 -cpu "$aarch64_cpu" -L build/sysroot-arm64/root \
  build/aarch64/examples/search_in_app build/aarch64-app 20 tests/cli/tiny_space.json 400 | tee build/aarch64-app.log
grep -q "first run: cancelled" build/aarch64-app.log
grep -q "^chosen: in:28x28x1" build/aarch64-app.log
test -s build/aarch64-app/model.enas

phase "firmware: Cortex-M4 under qemu-system-arm (fp32, then int8)"
EDGENAS_HOST_BUILD="${EDGENAS_HOST_BUILD:-build/dev}" bash scripts/firmware.sh
EDGENAS_HOST_BUILD="${EDGENAS_HOST_BUILD:-build/dev}" bash scripts/firmware.sh --int8

echo "test-cross.sh: all cross checks passed in $((SECONDS - start)) s"
