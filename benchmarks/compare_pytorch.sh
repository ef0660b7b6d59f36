#!/usr/bin/env bash
# Training throughput of the Fashion-MNIST reference network: edgenas and PyTorch side by side,
# in one sitting (the machine is shared and noisy, so only same-run ratios mean anything).
#   benchmarks/compare_pytorch.sh [build-dir]     (default build/release)
# PyTorch comes from Debian's python3-torch; without it only edgenas is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
python=/usr/bin/python3   # Debian's interpreter: python3-torch installs there, not into pyenv
[ -x "$python" ] || python=python3
"$build/benchmarks/bench_train" --benchmark_min_time=5
"$python" benchmarks/peers/pytorch_reference_net.py --seconds 10
"$build/benchmarks/bench_train" --benchmark_min_time=5
