#!/usr/bin/env bash
# Bad numeric options and partial writes through the tool: every bad value is refused before any
# work with a message that names the option and its range (no NaN accepted, no hang, no
# 309-digit number), and a failing export leaves every existing file as it was.
#   bad_options.sh EDGENAS INCLUDE_DIR
set -u
edgenas=$1 include=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0

# expect_failure "message" args…: exit code != 0 within 20 s, the message on stderr.
expect_failure() {
  local message=$1
  shift
  local out rc
  out=$(timeout 20 "$edgenas" "$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || ! grep -qF -- "$message" <<<"$out"; then
    echo "FAIL: edgenas $* (exit $rc) should fail with \"$message\"; it said:"
    echo "$out" | head -5
    failures=$((failures + 1))
  elif [ "$(wc -c <<<"$out")" -gt 400 ]; then
    echo "FAIL: edgenas $*: a message of $(wc -c <<<"$out") bytes"
    failures=$((failures + 1))
  fi
}

out="--out $dir/never"
expect_failure '--latency-budget: "nan" is not a finite number' search --preset tiny --latency-budget nan $out
expect_failure '--latency-budget: 0 is out of range: expected greater than 0' search --preset tiny --latency-budget 0 $out
expect_failure '--threads: 100000 is out of range: expected from 1 to 256' search --preset tiny --threads 100000 $out
expect_failure '--threads: 0 is out of range: expected from 1 to 256' search --preset tiny --threads 0 $out
expect_failure '--reward-target: -1 is out of range' search --preset tiny --reward-target -1 $out
expect_failure '--arena-budget: "inf" is not a finite number' search --preset tiny --arena-budget inf $out
expect_failure '--finetune-lr: "nan" is not a finite number' search --preset tiny --finetune-lr nan $out
expect_failure '--lr: "nan" is not a finite number' train --genotype 'in:28x28x1 stem:8:k3:s2:relu head:16:relu fc:10' --lr nan $out
expect_failure '--threads: 100000 is out of range' bench --model /dev/null --threads 100000
expect_failure 'expands 16 input channels to 3200000000; the limit is 16384' \
  train --genotype 'in:28x28x1 stem:16:k3:s1:relu mb:16:e200000000:k3:s1:relu head:16:relu fc:10' $out
[ -e "$dir/never" ] && { echo "FAIL: a refused command created its output folder"; failures=$((failures + 1)); }

# Export: validate everything, then write atomically.
"$edgenas" train --genotype 'in:28x28x1 stem:8:k3:s2:relu head:16:relu fc:10' --epochs 1 --train-images 256 \
  --batch 64 --out "$dir/model" --quiet > /dev/null || { echo "FAIL: could not train the test model"; exit 1; }
model=$dir/model/model.enas
echo KEEP > "$dir/kept.hpp"
echo KEEP > "$dir/kept.enas"
expect_failure 'namespace "1 not an identifier" starts a name with a digit' \
  export --from "$model" --header "$dir/kept.hpp" --namespace "1 not an identifier"
expect_failure 'namespace "my-net" holds a character' export --from "$model" --header "$dir/kept.hpp" --namespace my-net
expect_failure 'namespace "int" uses a C++ keyword' export --from "$model" --header "$dir/kept.hpp" --namespace int
# A later failure (test images from a folder without data) leaves the earlier outputs untouched.
expect_failure 'no-such-folder' export --from "$model" --model "$dir/kept.enas" --header "$dir/kept.hpp" \
  --test-images 4 --data "$dir/no-such-folder"
expect_failure 'this model has no int8 network' export --from "$model" --model "$dir/kept.enas" \
  --header "$dir/kept.hpp" --precision int8
expect_failure 'is both the input and an output' export --from "$model" --model "$model"
for f in kept.hpp kept.enas; do
  [ "$(cat "$dir/$f")" = KEEP ] || { echo "FAIL: a failed export changed $f"; failures=$((failures + 1)); }
done
# A nested namespace is fine, and the header compiles.
"$edgenas" export --from "$model" --header "$dir/nested.hpp" --namespace board::net > /dev/null &&
  printf '#include "%s"\nint main() { return board::net::Net::view.head.classes == 10 ? 0 : 1; }\n' "$dir/nested.hpp" > "$dir/main.cpp" &&
  ${CXX:-c++} -std=c++20 -fsyntax-only -I "$include" "$dir/main.cpp" ||
  { echo "FAIL: a header in namespace board::net"; failures=$((failures + 1)); }

[ $failures -eq 0 ] && echo "bad options: all refused with their message, nothing overwritten"
exit $failures
