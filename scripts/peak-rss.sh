#!/usr/bin/env bash
# Peak resident memory and wall time of the search presets, as /usr/bin/time -v reports them.
#   scripts/peak-rss.sh [PRESET ...] [-- extra edgenas search options]   (default: tiny quick)
# Each preset runs from scratch in out/peak-rss/PRESET with the release build (built if
# missing); a latency table measured once (out/peak-rss/table.json) is shared by all, so the
# figures are about the search itself. Prints one line per preset and writes
# out/peak-rss/summary.tsv. Numbers for this machine are in docs/results.md#memory.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=()
while (( $# )) && [[ "$1" != -- ]]; do presets+=("$1"); shift; done
[[ "${1:-}" == -- ]] && shift
(( ${#presets[@]} )) || presets=(tiny quick)
command -v /usr/bin/time > /dev/null || { echo "peak-rss.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
[[ -x build/release/tools/edgenas ]] || { cmake --preset release > /dev/null && cmake --build --preset release --target edgenas_cli; }
edgenas=build/release/tools/edgenas
mkdir -p out/peak-rss
table=out/peak-rss/table.json
[[ -s $table ]] || "$edgenas" latency build --space fmnist --table "$table" --fit 20 > /dev/null
printf 'preset\tpeak_rss_mib\twall_seconds\n' > out/peak-rss/summary.tsv
for p in "${presets[@]}"; do
  rm -rf "out/peak-rss/$p"
  /usr/bin/time -v "$edgenas" search --preset "$p" --table "$table" --out "out/peak-rss/$p" --quiet "$@" \
    > "out/peak-rss/$p.log" 2> "out/peak-rss/$p.time"
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "out/peak-rss/$p.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "out/peak-rss/$p.time")
  seconds=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; ++i) s = s * 60 + $i; print s }')
  printf '%s\t%s\t%s\n' "$p" "$(awk -v k="$rss_kib" 'BEGIN { printf "%.0f", k / 1024 }')" "$seconds" |
    tee -a out/peak-rss/summary.tsv
done
