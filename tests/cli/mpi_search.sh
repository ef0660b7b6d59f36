#!/usr/bin/env bash
# The distributed search under mpirun on loopback (a build with EDGENAS_WITH_MPI):
#  1. the same seed gives the same front and model with 2 ranks, with 1 rank and in a build
#     without MPI (same --shards and --proposals, same latency table); for the differentiable
#     search too;
#  2. a rank killed with SIGKILL makes the job fail (non-zero exit, no hang), and --resume
#     continues it — on 1 rank, killed again, then on 2 — to that same front and model;
#  3. --latency-rank: rank 2 of 3 measures the table and the chosen network, ranks 0-1 train;
#  4. impossible settings (a bad device rank, ranks that disagree on it, shards that do not fit
#     the batch or the workers, other shards on resume) end every rank with a message naming them.
#   mpi_search.sh EDGENAS_BINARY SPACE_JSON [MPIEXEC]
set -euo pipefail
edgenas="$1" space="$2" mpiexec="${3:-mpirun}"
work=$(mktemp -d)
trap 'pkill -9 -f "$work" 2> /dev/null || true; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI containers run as root
export OMPI_MCA_btl_vader_single_copy_mechanism=none               # containers may forbid CMA
mpi=("$mpiexec" --oversubscribe --bind-to none)
base=(--preset tiny --space "$space" --threads 1 --quiet --train-images 1600 --supernet-images 1600
      --validation-images 400 --test-images 400 --calibration-images 400 --seed 5)
common=("${base[@]}" --supernet-epochs 2 --evaluations 24)
fail() { echo "FAIL: $*"; exit 1; }
same() {  # same front and model as the 2-rank run
  cmp -s "$work/two/front.tsv" "$1/front.tsv" || { diff "$work/two/front.tsv" "$1/front.tsv" || true; fail "$2: another front"; }
  cmp -s "$work/two/model.enas" "$1/model.enas" || fail "$2: another model"
  echo "ok: $2 gives the 2-rank front and model"
}

# 1. Two ranks measure a table (rank 0) and search; 1 rank and the plain build reuse that table.
"${mpi[@]}" -n 2 "$edgenas" search "${common[@]}" --out "$work/two" > /dev/null
test -s "$work/two/front.tsv" || fail "no front from 2 ranks"
grep -q '"shards":2' "$work/two/journal.jsonl" || fail "2 ranks did not default to 2 shards"
table="$work/two/latency-1t.json"
"${mpi[@]}" -n 2 "$edgenas" search "${common[@]}" --table "$table" --out "$work/two-table" > /dev/null
cp "$work/two-table/front.tsv" "$work/two-table/model.enas" "$work/two/"  # the reference: same table as below
"${mpi[@]}" -n 1 "$edgenas" search "${common[@]}" --shards 2 --proposals 2 --table "$table" --out "$work/one" > /dev/null
same "$work/one" "1 rank"
env -u OMPI_COMM_WORLD_SIZE "$edgenas" search "${common[@]}" --shards 2 --proposals 2 --table "$table" --out "$work/plain" > /dev/null
same "$work/plain" "one process without mpirun"
# The differentiable search too: rank 0 learns θ between the data-parallel supernet epochs and
# sends it to rank 1, whose sandwich samples from it.
"${mpi[@]}" -n 2 "$edgenas" search "${common[@]}" --strategy differentiable --table "$table" --out "$work/fbnet-two" > /dev/null
env -u OMPI_COMM_WORLD_SIZE "$edgenas" search "${common[@]}" --strategy differentiable --shards 2 --table "$table" \
  --out "$work/fbnet-plain" > /dev/null
[[ $(grep -c '"type":"arch_epoch"' "$work/fbnet-two/journal.jsonl") == 2 ]] || fail "differentiable: not 2 architecture epochs"
cmp -s "$work/fbnet-two/front.tsv" "$work/fbnet-plain/front.tsv" || fail "differentiable: 2 ranks and 1 process differ"
cmp -s "$work/fbnet-two/model.enas" "$work/fbnet-plain/model.enas" || fail "differentiable: another model on 1 process"
echo "ok: the differentiable search gives the same front and model on 2 ranks and on 1 process"

# 2. Kill rank 1 after the first supernet epoch: the job must fail, not hang.
rank_pid() {  # the pid of rank $1 of the job writing to $2
  for p in $(pgrep -f -- "--out $2" || true); do
    tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$p" && return
  done
}
wait_for() {  # until file $1 holds $2 lines matching $3 (at most 120 s)
  for _ in $(seq 1200); do
    [[ $(grep -c -- "$3" "$1" 2> /dev/null || true) -ge $2 ]] && return 0
    sleep 0.1
  done
  fail "timed out waiting for $2 '$3' in $1"
}
killed="$work/killed"
"${mpi[@]}" -n 2 "$edgenas" search "${common[@]}" --table "$table" --out "$killed" > "$work/log" 2>&1 &
job=$!
wait_for "$killed/journal.jsonl" 1 '"supernet_epoch"'
pid=$(rank_pid 1 "$killed")
[[ -n "$pid" ]] || fail "rank 1 not found"
kill -9 "$pid"
for _ in $(seq 600); do kill -0 "$job" 2> /dev/null || break; sleep 0.1; done
kill -0 "$job" 2> /dev/null && fail "the job still runs 60 s after rank 1 was killed"
if wait "$job"; then fail "the job exited 0 after rank 1 was killed"; fi
echo "ok: killing rank 1 ended the job ($(grep -c . "$killed/journal.jsonl") journal records kept)"

# Resume on 1 rank, kill it in the search stage, then finish on 2 ranks.
"${mpi[@]}" -n 1 "$edgenas" search "${common[@]}" --table "$table" --out "$killed" --resume > "$work/log" 2>&1 &
job=$!
wait_for "$killed/journal.jsonl" 6 '"candidate"'
pid=$(rank_pid 0 "$killed")
[[ -n "$pid" ]] && kill -9 "$pid"
wait "$job" 2> /dev/null && echo "note: the 1-rank resume finished before its kill"
"${mpi[@]}" -n 2 "$edgenas" search "${common[@]}" --table "$table" --out "$killed" --resume > /dev/null
same "$killed" "killed, resumed on 1 rank, killed, resumed on 2"
[[ $(grep -c '"type":"candidate"' "$killed/journal.jsonl") == 24 ]] || fail "the resumed journal does not hold 24 candidates once"

# 3. A device rank: rank 2 measures, ranks 0 and 1 train.
"${mpi[@]}" -n 3 "$edgenas" search "${base[@]}" --evaluations 8 --latency-rank 2 --out "$work/device" > /dev/null
test -s "$work/device/latency-1t.json" || fail "the device's table is not in OUT"
test -s "$work/device/rank-2/latency-1t.json" || fail "the device rank kept no table of its own"
grep -q '"shards":2' "$work/device/journal.jsonl" || fail "a device rank was counted as a worker"
measured=$(grep -Eo '"measured_ms": *[0-9.eE+-]+' "$work/device/result.json" | head -1 | grep -Eo '[0-9.eE+-]+$')
[[ -n "$measured" ]] && awk -v m="$measured" 'BEGIN { exit !(m > 0) }' ||
  fail "the chosen network was not measured on the device (measured_ms '$measured')"
echo "ok: --latency-rank 2 measured the table and the chosen network"

# 4. Settings that cannot work: one message, every rank ends.
expect_error() {  # expected message, then arguments
  local msg="$1"; shift
  if timeout 120 "${mpi[@]}" "$@" > "$work/err" 2>&1; then fail "accepted: $*"; fi
  grep -q -- "$msg" "$work/err" || { cat "$work/err"; fail "no message '$msg'"; }
  echo "ok: refused with '$msg'"
}
expect_error "the device rank is one of 1..1" -n 2 "$edgenas" search "${common[@]}" --latency-rank 0 --out "$work/bad1"
expect_error "does not split into 2 equal shards" -n 2 "$edgenas" search "${common[@]}" --batch 49 --out "$work/bad2"
expect_error "cannot share evenly" -n 2 "$edgenas" search "${common[@]}" --shards 3 --batch 48 --out "$work/bad3"
expect_error "shards = 2, now 1" -n 1 "$edgenas" search "${common[@]}" --shards 1 --out "$work/two" --resume
expect_error "give every rank the same --latency-rank" -n 1 "$edgenas" search "${common[@]}" --out "$work/bad4" : \
  -n 1 "$edgenas" search "${common[@]}" --latency-rank 1 --out "$work/bad4"
echo "all distributed search checks passed"
