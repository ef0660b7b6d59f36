#!/usr/bin/env bash
# Bring your own data, end to end through the tool: a CSV with named classes (4 of them, 12×12
# pictures in rows) → `data inspect` → `data convert` to a folder of PNGs → `search --space auto`
# on the folder → `export` a header with test images → the header compiled and run on this host
# (predict() over the exported images must give the host's classes) → `train` the chosen network
# on the CSV itself.
#   tests/cli/own_data.sh EDGENAS INCLUDE_DIR
set -euo pipefail
edgenas="$1"
include="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 240 rows: a header whose "class" column sits first, then 144 pixel columns. Class k is a bright
# square in quadrant k over noise.
awk 'BEGIN { srand(7); printf "class"; for (i = 0; i < 144; ++i) printf ",p%d", i; printf "\n";
  split("north east south west", names, " ");
  for (r = 0; r < 240; ++r) { k = r % 4; printf "%s", names[k + 1];
    for (y = 0; y < 12; ++y) for (x = 0; x < 12; ++x) {
      qy = (k >= 2); qx = (k % 2); inside = (int(y / 6) == qy && int(x / 6) == qx);
      printf ",%d", inside ? 200 + int(rand() * 55) : int(rand() * 80) }
    printf "\n" } }' > "$dir/shapes.csv"

"$edgenas" data inspect "$dir/shapes.csv" > "$dir/inspect.txt"
grep -q "^images    12x12x1, rows of values" "$dir/inspect.txt" || { cat "$dir/inspect.txt"; fail "inspect: shape"; }
grep -q "^classes   4$" "$dir/inspect.txt" || fail "inspect: classes"
grep -q "^  0      east " "$dir/inspect.txt" || fail "inspect: classes sorted by name"

"$edgenas" data convert "$dir/shapes.csv" "$dir/tree" > /dev/null
[ "$(find "$dir/tree" -name '*.png' | wc -l)" -eq 240 ] || fail "convert: 240 PNG files"
"$edgenas" data inspect "$dir/tree" --json > "$dir/tree.json"
grep -q '"format": "image folder"' "$dir/tree.json" || fail "inspect --json: format"
grep -q '"classes": 4' "$dir/tree.json" || fail "inspect --json: classes"

"$edgenas" search --preset tiny --data "$dir/tree" --space auto --reference-images 0 --evaluations 4 \
  --finetune-epochs 4 --out "$dir/search" --quiet > "$dir/search.txt"
grep -q '"found": true' "$dir/search/result.json" || fail "search: nothing chosen"
genotype=$(grep -o '"genotype": "[^"]*"' "$dir/search/result.json" | tail -1 | cut -d'"' -f4)
case "$genotype" in *" fc:4") ;; *) fail "search: the network has not 4 classes: $genotype" ;; esac

"$edgenas" export --from "$dir/search/model.enas" --header "$dir/net.hpp" --namespace shapes --test-images 12 \
  --data "$dir/tree" > /dev/null
cat > "$dir/main.cpp" <<CPP
#include "net.hpp"
#include "net_test_images.hpp"
int main() {
  for (int i = 0; i < shapes_test::count; ++i)
    if (shapes::predict(shapes_test::images[i]) != shapes_test::host_predictions[i]) return 1;
  return shapes::Net::view.head.classes == 4 ? 0 : 2;
}
CPP
${CXX:-c++} -std=c++20 -O1 -I "$include" -I "$dir" "$dir/main.cpp" -o "$dir/main" || fail "the header does not compile"
"$dir/main" || fail "the compiled header's predictions differ from the host's"

"$edgenas" train --genotype "$genotype" --data "$dir/shapes.csv" --epochs 1 --out "$dir/train" --quiet > "$dir/train.txt" ||
  fail "train on the CSV"
echo "own data: CSV -> PNG folder -> search (auto space, 4 classes) -> header compiled and run -> train: all passed"
