#!/usr/bin/env bash
# Installs the Debian 12 packages edgenas needs, and only those that are missing.
# Idempotent: a second run installs nothing and does not touch the network.
#   scripts/install-deps.sh            # build, tests, benchmarks, examples
#   scripts/install-deps.sh --cross    # also the ARM cross toolchains and qemu
#   scripts/install-deps.sh --fuzz     # also clang-14 and libFuzzer (scripts/fuzz.sh)
#   scripts/install-deps.sh --digits   # also scikit-learn: its digits data set and the SVC baseline
#   scripts/install-deps.sh --mpi      # also Open MPI: the distributed search (EDGENAS_WITH_MPI)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev zlib1g-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  catch2 libbenchmark-dev
  libcli11-dev libstb-dev
  libjpeg62-turbo-dev
  dataset-fashion-mnist
)
cross_packages=(
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
  qemu-system-arm
)
fuzz_packages=(clang-14 libclang-rt-14-dev)
# scikit-learn's digits (a real data set shipped as digits.csv.gz) and the peer scripts'
# baseline (benchmarks/peers/digits_svc.py).
digits_packages=(python3-sklearn)
# The optional distributed build (docs/distributed.md): mpicxx, mpirun, libmpi.
mpi_packages=(libopenmpi-dev openmpi-bin)

for arg in "$@"; do
  case "$arg" in
    --cross) packages+=("${cross_packages[@]}") ;;
    --fuzz) packages+=("${fuzz_packages[@]}") ;;
    --digits) packages+=("${digits_packages[@]}") ;;
    --mpi) packages+=("${mpi_packages[@]}") ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
