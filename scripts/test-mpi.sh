#!/usr/bin/env bash
# The distributed search's part of the tests (scripts/test.sh runs it after the ARM part): the
# `mpi` preset (Open MPI, Release) builds the tool and bench_distributed, then
# tests/cli/mpi_search.sh runs searches under `mpirun --oversubscribe` on loopback (1 vs 2
# ranks, a killed rank, resume on another rank count, a device rank), and bench_distributed
# runs its all-reduce once. Without Open MPI it says so and exits 0
# (scripts/install-deps.sh --mpi adds it; CI=true installs it here).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun > /dev/null || ! command -v mpicxx > /dev/null; then
  if [[ "${CI:-}" == true ]]; then
    bash scripts/install-deps.sh --mpi
  else
    echo "test-mpi.sh: SKIPPED — Open MPI missing; run scripts/install-deps.sh --mpi to test the distributed search"
    exit 0
  fi
fi
bash scripts/install-deps.sh --mpi > /dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI containers run as root
cmake --preset mpi > /dev/null
cmake --build --preset mpi --target edgenas_cli bench_distributed
ctest --preset mpi
mpirun -n 2 --oversubscribe --bind-to none build/mpi/benchmarks/bench_distributed \
  --benchmark_filter=gradient_allreduce --benchmark_min_time=0.05
