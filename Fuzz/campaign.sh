#!/bin/sh
# A long campaign: rounds of FUZZ_SECONDS (default 240) per target until $FUZZ_WORK/STOP exists, with a log per
# chunk ($FUZZ_WORK/TARGET/run-LANE-ROUND.log) that Fuzz/stats.sh sums. Run one lane per core, each with its own
# targets, e.g.   Fuzz/campaign.sh A keras npz model checkpoint &   Fuzz/campaign.sh B npy hdf5 plan recipe state &
# Builds as run.sh does (same flags, same environment); crash, leak and OOM inputs land in $FUZZ_WORK/TARGET/.
set -eu
cd "$(dirname "$0")"
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/lsan.supp:print_suppressions=0}"
WORK=${FUZZ_WORK:-/tmp/surgeon-fuzz}
CHUNK=${FUZZ_SECONDS:-240}
FLAGS="--sanitize=address --sanitize=fuzzer -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table"
lane=$1
shift
nice -n 19 swift build $FLAGS
BIN=$(swift build $FLAGS --show-bin-path)
round=0
while [ ! -e "$WORK/STOP" ]; do
  round=$((round + 1))
  for t in "$@"; do
    [ -e "$WORK/STOP" ] && break
    mkdir -p "$WORK/$t/corpus"
    case $t in plan|model|keras|checkpoint|state) dict=-dict=dict/json.dict;; recipe) dict=-dict=dict/yaml.dict;; *) dict=;; esac
    nice -n 10 "$BIN/fuzz-$t" $dict -max_total_time="$CHUNK" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$WORK/$t/" "$WORK/$t/corpus" "corpus/$t" > "$WORK/$t/run-$lane-$round.log" 2>&1 || true
  done
done
