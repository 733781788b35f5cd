#!/bin/sh
# Builds the libFuzzer targets with address+fuzzer and runs each for FUZZ_SECONDS (default 30) under nice.
# Usage: Fuzz/run.sh [TARGET...]   (default: all). New corpus entries go to $FUZZ_WORK (default /tmp/surgeon-fuzz),
# never into the committed corpus; crash inputs land in $FUZZ_WORK/TARGET/ (copy them to Fuzz/regressions/TARGET).
# FUZZ_RUNS=N stops each target after N executions instead (FUZZ_SECONDS still bounds it).
#
# SwiftPM passes swiftc `-sanitize=fuzzer -sanitize=address`, in that order whatever the command line says, and
# swiftc then emits no coverage counters for Swift code (only C targets get them, and libFuzzer mutates blindly).
# So the coverage is asked for explicitly; the check below refuses a build without Swift coverage.
#
# allocator_may_return_null=1: libhdf5 asks malloc for sizes read from the file (up to 2^61 bytes) and reports
# "memory allocation failed" on NULL, as it does without ASan. A large allocation that succeeds is still caught by
# -rss_limit_mb (libFuzzer reports any single malloc above it as out-of-memory).
set -eu
cd "$(dirname "$0")"
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/lsan.supp:print_suppressions=0}"
SECONDS_EACH=${FUZZ_SECONDS:-30}
RUNS=${FUZZ_RUNS:--1}
WORK=${FUZZ_WORK:-/tmp/surgeon-fuzz}
TARGETS=${*:-npy npz model keras hdf5 plan recipe checkpoint state onnx}
FLAGS="--sanitize=address --sanitize=fuzzer -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table"
nice -n 19 swift build $FLAGS
BIN=$(swift build $FLAGS --show-bin-path)
for t in $TARGETS; do
  mkdir -p "$WORK/$t/corpus"
  counters=$("$BIN/fuzz-$t" -runs=0 2>&1 | sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' | head -1)
  if [ "${counters:-0}" -lt 20000 ]; then
    echo "fuzz-$t has ${counters:-no} coverage counters: Swift code is not instrumented" >&2
    exit 1
  fi
  case $t in plan|model|keras|checkpoint|state) dict=-dict=dict/json.dict;; recipe) dict=-dict=dict/yaml.dict;; *) dict=;; esac
  nice -n 19 "$BIN/fuzz-$t" $dict -max_total_time="$SECONDS_EACH" -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$t/" "$WORK/$t/corpus" "corpus/$t" 2>&1 | tee "$WORK/$t/last.log" | tail -15
done
