#!/usr/bin/env bash
# The search survives SIGKILL at random points: a run killed again and again and resumed each
# time with --resume ends with exactly the front and chosen network (front.tsv) and the same
# model file, bit for bit, as a run that was never interrupted, and its journal records every
# epoch once. Both use the same latency table (measurements are the one input
# that is not reproducible; a resumed run reuses the table file it already measured).
#   search_kill_resume.sh EDGENAS_BINARY SPACE_JSON [KILLS [SEARCH OPTIONS…]]
set -euo pipefail
edgenas="$1" space="$2" kills="${3:-8}"
shift $(($# < 3 ? $# : 3))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--preset tiny --space "$space" --threads 2 --quiet --train-images 800 --supernet-images 800
        --validation-images 400 --test-images 400 --calibration-images 400 --evaluations 10 "$@")

"$edgenas" latency build --space "$space" --table "$work/table.json" --fit 3 > /dev/null
"$edgenas" search "${common[@]}" --table "$work/table.json" --seed 7 --out "$work/straight" > /dev/null
test -s "$work/straight/front.tsv"

RANDOM=12345  # the kill times are random but the same in every run of this test
done_=0
for ((i = 1; i <= kills; ++i)); do
  "$edgenas" search "${common[@]}" --table "$work/table.json" --seed 7 --out "$work/killed" --resume > "$work/log" 2>&1 &
  pid=$!
  sleep "$((RANDOM % 12)).$((RANDOM % 10))"  # 0–12 s: the whole run takes about that long
  if kill -9 "$pid" 2> /dev/null; then
    wait "$pid" 2> /dev/null || true
    echo "kill $i: SIGKILL after $(wc -l < "$work/killed/journal.jsonl" 2> /dev/null || echo 0) journal records"
  else
    wait "$pid" && done_=1 && echo "run $i finished before its kill" && break
  fi
done
if [[ $done_ == 0 ]]; then
  "$edgenas" search "${common[@]}" --table "$work/table.json" --seed 7 --out "$work/killed" --resume > /dev/null
fi

if ! cmp "$work/straight/front.tsv" "$work/killed/front.tsv"; then
  echo "FAIL: the resumed front differs from the uninterrupted one"
  diff "$work/straight/front.tsv" "$work/killed/front.tsv" || true
  exit 1
fi
# The same model, bit for bit (weights, normalisation), and a journal with every epoch once.
if ! cmp "$work/straight/model.enas" "$work/killed/model.enas"; then
  echo "FAIL: the resumed search's model differs from the uninterrupted one's"; exit 1
fi
journal="$work/killed/journal.jsonl"
if [[ $(grep -c '"type":"finished"' "$journal") != 1 ]]; then
  echo "FAIL: the journal does not hold exactly one finished record"; exit 1
fi
for type in supernet_epoch arch_epoch finetune_epoch; do
  dupes=$(grep -o "\"type\":\"$type\"[^}]*\"epoch\":[0-9]*" "$journal" | grep -o '"epoch":[0-9]*' | sort | uniq -d || true)  # (none: grep fails)
  if [[ -n "$dupes" ]]; then echo "FAIL: $type records twice in the journal: $dupes"; exit 1; fi
  if [[ $(grep -c "\"type\":\"$type\"" "$journal") != $(grep -c "\"type\":\"$type\"" "$work/straight/journal.jsonl") ]]; then
    echo "FAIL: the resumed journal has a different number of $type records"; exit 1
  fi
done
# Resuming without --resume is refused, and a different setting is named.
if "$edgenas" search "${common[@]}" --table "$work/table.json" --seed 7 --out "$work/killed" 2> "$work/err"; then
  echo "FAIL: reusing an output folder without --resume was accepted"; exit 1
fi
grep -q "pass --resume" "$work/err"
if "$edgenas" search "${common[@]}" --table "$work/table.json" --seed 8 --out "$work/killed" --resume 2> "$work/err"; then
  echo "FAIL: resuming with another seed was accepted"; exit 1
fi
grep -q "started with seed = 7, now 8" "$work/err"
echo "PASS: $(grep -c '^front' "$work/straight/front.tsv") networks on the front, identical after the kills"
