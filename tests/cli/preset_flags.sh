#!/usr/bin/env bash
# A preset's switches can be turned off from the command line: the full preset trains its
# supernet with progressive shrinking, `--sandwich` makes it the sandwich rule; it searches with
# FBNet's strategy without the latency term, `--strategy` and `--latency-beta` choose others. Read from the
# settings the search journals at its start (each search is stopped once they are written).
#   preset_flags.sh EDGENAS SPACE_JSON
set -u
edgenas=$1 space=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
# The settings are journaled once the latency table is known: a small space's, built once.
"$edgenas" latency build --space "$space" --table "$dir/table.json" --fit 3 >/dev/null 2>&1 || { echo "FAIL: latency build"; exit 1; }

# settings_of NAME args…: the journal's settings line of a search started with args.
settings_of() {
  local out=$dir/$1
  shift
  "$edgenas" search "$@" --space "$space" --table "$dir/table.json" --out "$out" --quiet >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 600); do
    grep -q '"type":"settings"' "$out/journal.jsonl" 2>/dev/null && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
  grep -m1 '"type":"settings"' "$out/journal.jsonl" 2>/dev/null
}

# expect NAME PATTERN args…
expect() {
  local name=$1 pattern=$2
  shift 2
  local line
  line=$(settings_of "$name" "$@")
  if ! grep -qF -- "$pattern" <<<"$line"; then
    echo "FAIL: edgenas search $* should journal $pattern; it journaled: ${line:0:300}"
    failures=$((failures + 1))
  fi
}

expect full '"progressive_shrinking":true' --preset full
expect full-sandwich '"progressive_shrinking":false' --preset full --sandwich
expect quick '"progressive_shrinking":false' --preset quick
expect full-strategy '"strategy":"differentiable"' --preset full
expect full-beta '"latency_beta":0,' --preset full
expect full-evolution '"strategy":"evolution"' --preset full --strategy evolution
expect full-fbnet-beta '"latency_beta":0.5,' --preset full --latency-beta 0.5
expect quick-strategy '"strategy":"evolution"' --preset quick
expect quick-shrinking '"progressive_shrinking":true' --preset quick --progressive-shrinking

[ $failures -eq 0 ] && echo "preset flags: all passed"
exit $((failures > 0))
