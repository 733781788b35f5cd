#!/bin/sh
# Sums the libFuzzer logs under $FUZZ_WORK (default /tmp/surgeon-fuzz; every *.log of a target's folder, as
# run.sh and long campaigns write them) into one Markdown table row per target: executions, runs, seconds,
# final coverage, crash / timeout / OOM artifacts and sanitizer reports.
# Usage: Fuzz/stats.sh [TARGET...]
WORK=${FUZZ_WORK:-/tmp/surgeon-fuzz}
TARGETS=${*:-npy npz model keras hdf5 plan recipe checkpoint state onnx}
echo "| target | executions | runs | seconds | coverage (edges) | corpus | crashes | time-outs | OOMs | sanitizer reports |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in $TARGETS; do
  logs=$(ls "$WORK/$t"/*.log 2>/dev/null)
  [ -z "$logs" ] && { echo "| $t | 0 | 0 | 0 | - | - | - | - | - | - |"; continue; }
  execs=$(cat $logs | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s+=$1} END {print s+0}')
  runs=$(cat $logs | grep -c '^stat::number_of_executed_units')
  secs=$(cat $logs | sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' | awk '{s+=$1} END {print s+0}')
  cov=$(cat $logs | sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' | sort -n | tail -1)
  corpus=$(ls "$WORK/$t/corpus" 2>/dev/null | wc -l)
  crashes=$(ls "$WORK/$t" | grep -c '^crash-')
  timeouts=$(ls "$WORK/$t" | grep -c '^timeout-')
  ooms=$(ls "$WORK/$t" | grep -c '^oom-')
  reports=$(cat $logs | grep -c 'ERROR: AddressSanitizer\|ERROR: libFuzzer\|SUMMARY: ')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$execs" "$runs" "$secs" "${cov:--}" "$corpus" \
    "$crashes" "$timeouts" "$ooms" "$reports"
done
