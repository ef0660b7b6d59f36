#!/usr/bin/env bash
# Fashion-MNIST (Debian's dataset-fashion-mnist) as a folder of 70 000 PNG files,
#   OUT/train/<class>/<index>.png (60 000) and OUT/test/<class>/<index>.png (10 000),
# the image-folder layout `edgenas search --data OUT` reads. Classes are numbered 0–9 (the IDX
# labels); <index> is the image's position in the IDX file.
#   scripts/fashion-mnist-png.sh [OUT] [EDGENAS]     (default out/fashion-mnist-png, build/release/tools/edgenas)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/fashion-mnist-png}"
tool="${2:-build/release/tools/edgenas}"
if [[ ! -x "$tool" ]]; then
  cmake --preset release > /dev/null
  cmake --build --preset release --target edgenas_cli
fi
"$tool" data convert "${EDGENAS_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}" "$out"
