#!/usr/bin/env bash
# examples/rank_supernet re-scores a ranking check's architectures on the check's own supernet:
# the same supernet accuracies, so the same Kendall tau as the check wrote (genotypes encoded back
# into choices, the same validation split and recalibration images as the search's).
#   rank_supernet.sh RANK_SUPERNET_BINARY CHECK_DIR SPACE_JSON
set -euo pipefail
binary="$1" dir="$2" space="$3"
out=$("$binary" --supernet "$dir/supernet.ckpt" --rank-check "$dir/rank-check.json" --space "$space" \
        --validation-images 500 --calibration-images 500)
echo "$out"
line=$(grep "the check's own supernet" <<< "$out")
now=$(sed -E 's/.*Kendall tau (-?[0-9.]+),.*/\1/' <<< "$line")
check=$(sed -E "s/.*the check's own supernet: tau (-?[0-9.]+),.*/\1/" <<< "$line")
[[ "$now" == "$check" ]] || { echo "FAIL: tau $now re-scored, $check in the check"; exit 1; }
rows=$(grep -c '^| 0\.' <<< "$out")
[[ "$rows" == 3 ]] || { echo "FAIL: $rows architectures re-scored, expected 3"; exit 1; }
echo "PASS: tau $now, as the check"
