#!/bin/sh
# Builds the libFuzzer targets with fuzzer+address and runs each for FUZZ_SECONDS (default 30) under nice.
# Usage: Fuzz/run.sh [TARGET...]   (default: all). New corpus entries go to $FUZZ_WORK (default /tmp/surgeon-fuzz),
# never into the committed corpus; crash inputs land in $FUZZ_WORK/TARGET/ (copy them to Fuzz/regressions/TARGET).
set -eu
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-30}
WORK=${FUZZ_WORK:-/tmp/surgeon-fuzz}
TARGETS=${*:-npy npz model keras hdf5 plan recipe checkpoint}
nice -n 19 swift build --sanitize=fuzzer --sanitize=address
BIN=$(swift build --sanitize=fuzzer --sanitize=address --show-bin-path)
for t in $TARGETS; do
  mkdir -p "$WORK/$t/corpus"
  case $t in plan|model|keras|checkpoint) dict=-dict=dict/json.dict;; recipe) dict=-dict=dict/yaml.dict;; *) dict=;; esac
  nice -n 19 "$BIN/fuzz-$t" $dict -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$t/" "$WORK/$t/corpus" "corpus/$t" 2>&1 | tee "$WORK/$t/last.log" | tail -15
done
