#!/usr/bin/env bash
# The firmware example end to end: a trained Fashion-MNIST model → `edgenas export --header`
# (+ 32 test images with this host's predictions) → arm-none-eabi-g++ for a Cortex-M4
# (-Os -fno-exceptions -fno-rtti, newlib) → QEMU mps2-an386 with semihosting → every class
# must equal the host's. Prints flash and RAM use.
#   scripts/firmware.sh [--int8] [--data PATH] [MODEL.enas]
#                                               (default: train the network below for 2 epochs on 10 000
#                                               images; --int8: int8, one more epoch of QAT, and every
#                                               logit must equal the host's integer reference; --data: the
#                                               test images come from the model's own data, any format)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in arm-none-eabi-g++ qemu-system-arm; do
  command -v "$tool" > /dev/null || { echo "firmware.sh: $tool missing (scripts/install-deps.sh --cross installs it)" >&2; exit 2; }
done
host_build="${EDGENAS_HOST_BUILD:-build/dev}"
# Found by `edgenas search --preset full --space fmnist-mcu --arena-budget 65536 --params-budget 45000`
# (docs/results.md): the default when no model file is given, trained briefly.
genotype="in:28x28x1 stem:16:k3:s2:hswish mb:16:e1:k3:s1:relu mb:24:e4:k7:s2:hswish mb:40:e3:k5:s2:hswish mb:80:e3:k5:s1:relu head:128:hswish fc:10"
edgenas="$host_build/tools/edgenas"
[[ -x "$edgenas" ]] || cmake --build "$host_build" --target edgenas_cli
work=build/firmware-model
mkdir -p "$work"
precision=fp32
if [[ "${1:-}" == --int8 ]]; then precision=int8; shift; fi
data=()
if [[ "${1:-}" == --data ]]; then data=(--data "$2"); shift 2; fi
model="${1:-}"
if [[ -z "$model" ]]; then
  trained="$work/train-$precision-$(echo "$genotype" | md5sum | cut -c1-8)"
  model="$trained/model.enas"
  if [[ ! -f "$model" ]]; then
    extra=()
    [[ $precision == int8 ]] && extra=(--precision int8 --qat-epochs 1 --calibration-images 500)
    "$edgenas" train --quiet --epochs 2 --train-images 10000 --out "$trained" --genotype "$genotype" "${extra[@]}"
  fi
fi
"$edgenas" export --from "$model" --precision $precision --header "$work/fashion_model.hpp" --namespace fashion --test-images 32 \
  "${data[@]}"
# Two builds: the test firmware (network + 32 test images + checks) and the network alone,
# classifying one image in RAM (the flash a product pays for the model).
build_firmware() {  # DIR MODEL_ONLY
  cmake -S examples/firmware -B "$1" -G Ninja --toolchain "$PWD/toolchains/arm-none-eabi-cortex-m.cmake" \
    -DEDGENAS_CORTEX_M=m4 -DEDGENAS_MODEL_DIR="$PWD/$work" -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DEDGENAS_FIRMWARE_INT8=$([[ $precision == int8 ]] && echo ON || echo OFF) -DEDGENAS_FIRMWARE_MODEL_ONLY="$2" > /dev/null
  cmake --build "$1" > /dev/null
}
sizes() {  # ELF LABEL: flash = text + rodata + the data image; RAM = data + bss + stack
  size_of() { arm-none-eabi-size -A "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
  local flash=$(( $(size_of "$1" .vectors) + $(size_of "$1" .text) + $(size_of "$1" .rodata) + $(size_of "$1" .init_array) + $(size_of "$1" .data) ))
  local ram=$(( $(size_of "$1" .data) + $(size_of "$1" .bss) + $(size_of "$1" .stack) ))
  echo "firmware ($precision, $2): flash $flash bytes (text+rodata+data image), RAM $ram bytes (data+bss+stack, arena and 16 KiB stack included)"
}
build_firmware build/firmware OFF
build_firmware build/firmware-model-only ON
sizes build/firmware/fashion_firmware.elf "with 32 test images"
sizes build/firmware-model-only/fashion_firmware.elf "network only"
# -icount shift=0: one guest instruction = 1 ns of virtual time, which SysTick counts (board.hpp).
# (QEMU writes the semihosting console, SYS_WRITE0, to stderr.)
timeout 300 qemu-system-arm -machine mps2-an386 -nographic -semihosting -icount shift=0 \
  -kernel build/firmware/fashion_firmware.elf 2>&1 | tee build/firmware/run.log
grep -q "FIRMWARE PASS" build/firmware/run.log
timeout 60 qemu-system-arm -machine mps2-an386 -nographic -semihosting \
  -kernel build/firmware-model-only/fashion_firmware.elf > build/firmware-model-only/run.log 2>&1
grep -q "^class [0-9]" build/firmware-model-only/run.log
