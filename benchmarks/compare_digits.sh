#!/usr/bin/env bash
# scikit-learn's digits (1 797 real 8×8 images, Debian's python3-sklearn ships them as
# digits.csv.gz): an edgenas search and scikit-learn's SVC on the same split, one after the other.
#   benchmarks/compare_digits.sh [build-dir] [preset]      (default build/release, quick)
# Needs scripts/install-deps.sh --digits.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
preset="${2:-quick}"
python=/usr/bin/python3
digits=$("$python" -c 'import os, sklearn.datasets as d; print(os.path.join(os.path.dirname(d.__file__), "data", "digits.csv.gz"))')
out=out/digits-compare
rm -rf "$out"
mkdir -p "$out"
"$build/tools/edgenas" data convert --to csv "$digits" "$out/split" > /dev/null   # the split the search makes
"$python" benchmarks/peers/digits_svc.py "$out/split" | tee "$out/svc.json"
"$build/tools/edgenas" search --preset "$preset" --data "$digits" --space auto --out "$out/search" --quiet
"$python" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
svc = json.load(open(out + "/svc.json"))
r = json.load(open(out + "/search/result.json"))
c = r["chosen"][0]
print(f"digits, {svc['test_images']} test images (same split):")
print(f"  edgenas search   {100 * c['test_accuracy']:.2f} %  {c['network']['params']} parameters, {c['measured_ms']:.4f} ms, search {r['wall_seconds']:.0f} s")
print(f"  sklearn SVC      {100 * svc['test_accuracy']:.2f} %  {svc['parameters']} numbers kept ({svc['support_vectors']} support vectors), fit {svc['seconds']:.1f} s")
PY
