#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build optimised for this
# CPU, and run the examples that exist. (The search on Fashion-MNIST with latency measured on
# this machine takes this place as it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
echo "== this machine, and a latency table of every piece of the Fashion-MNIST search space"
./build/release/tools/edgenas info
mkdir -p out
./build/release/tools/edgenas latency build --space fmnist --table out/latency-fmnist-1t.json
./build/release/tools/edgenas latency check --space fmnist --table out/latency-fmnist-1t.json --samples 100
echo "== examples/ops_tour: every kernel chained into a tiny MBConv net, trained by SGD"
./build/release/examples/ops_tour
echo "== examples/train_fashion_mnist: the reference network, 15 epochs on Fashion-MNIST (about 10 minutes on 2 cores)"
./build/release/examples/train_fashion_mnist --epochs 15 --checkpoint out/fashion-reference.ckpt --verify-xnnpack
echo "== benchmarks/bench_train: training throughput (images/s) on 1 and 2 threads"
./build/release/benchmarks/bench_train --benchmark_min_time=3
echo "== benchmarks/bench_runtime: XNNPACK runtime vs hand-written XNNPACK, blocks, predictor"
./build/release/benchmarks/bench_runtime --benchmark_min_time=1 --benchmark_enable_random_interleaving=true
echo "== benchmarks/bench_ops: trainer kernels vs XNNPACK on MobileNet and Fashion-MNIST shapes"
./build/release/benchmarks/bench_ops --benchmark_min_time=0.1 --benchmark_enable_random_interleaving=true
