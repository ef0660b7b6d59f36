#!/usr/bin/env bash
# examples/rank_supernet re-scores a ranking check's architectures on the check's own supernet:
# the same supernet accuracies, so the same Kendall tau as the check wrote (genotypes encoded back
# into choices, the same validation split and recalibration images as the search's). Then it adds
# a third training of each architecture (--save): the file then holds three per architecture, the
# same architectures; a seed the file already has, and a training on another schedule, are refused.
#   rank_supernet.sh RANK_SUPERNET_BINARY CHECK_DIR SPACE_JSON
set -euo pipefail
binary="$1" dir="$2" space="$3"
args=(--supernet "$dir/supernet.ckpt" --space "$space" --validation-images 500 --calibration-images 500)
out=$("$binary" "${args[@]}" --rank-check "$dir/rank-check.json")
echo "$out"
line=$(grep "the check's own supernet" <<< "$out")
now=$(sed -E 's/.*Kendall tau (-?[0-9.]+),.*/\1/' <<< "$line")
check=$(sed -E "s/.*the check's own supernet: tau (-?[0-9.]+),.*/\1/" <<< "$line")
[[ "$now" == "$check" ]] || { echo "FAIL: tau $now re-scored, $check in the check"; exit 1; }
rows=$(grep -c '^| 0\.' <<< "$out")
[[ "$rows" == 3 ]] || { echo "FAIL: $rows architectures re-scored, expected 3"; exit 1; }
grep -q "2 trainings agree with each other at Kendall tau" <<< "$out" || { echo "FAIL: no self-agreement of the 2 trainings"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$("$binary" "${args[@]}" --rank-check "$dir/rank-check.json" --standalone-epochs 1 --standalone-seed 9 \
        --train-images 1000 --save "$tmp/three.json")
echo "$out"
grep -q "saved $tmp/three.json: 3 trainings per architecture" <<< "$out" || { echo "FAIL: not saved"; exit 1; }
grep -q "3 trainings agree with each other" <<< "$out" || { echo "FAIL: no self-agreement of 3 trainings"; exit 1; }
grep -q '"standalone_seeds": \[1, 2, 9\]' "$tmp/three.json" || { echo "FAIL: seeds"; cat "$tmp/three.json"; exit 1; }
[[ $(grep -c '"standalone_trainings"' "$tmp/three.json") == 3 ]] || { echo "FAIL: trainings"; exit 1; }
if "$binary" "${args[@]}" --rank-check "$tmp/three.json" --standalone-epochs 1 --standalone-seed 2 \
     --train-images 1000 2> "$tmp/err"; then
  echo "FAIL: seed 2 trained twice"; exit 1
fi
grep -q "standalone-seed 2: already a training of the reference" "$tmp/err" || { cat "$tmp/err"; exit 1; }
if "$binary" "${args[@]}" --rank-check "$tmp/three.json" --standalone-epochs 2 --standalone-seed 10 \
     --train-images 1000 2> "$tmp/err"; then
  echo "FAIL: a 2-epoch training averaged with 1-epoch ones"; exit 1
fi
grep -q "standalone-epochs 2: .* trainings are 1 epochs" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "PASS: tau $now, as the check; a third training saved; a repeated seed refused"
