#!/usr/bin/env bash
# Runs one fuzz target for SECONDS and prints one summary line; used by `make fuzz`.
# usage: run-fuzzer.sh TARGET SECONDS BIN_DIR WORK_DIR
#
# libFuzzer runs in fork mode with -ignore_crashes/-ignore_ooms, so one crash (e.g. inside
# libhdf5, which we cannot fix) does not end the run: every distinct crash is saved under
# WORK_DIR/crashes/TARGET/ and the run goes on for the whole time. The corpus in
# WORK_DIR/corpus/TARGET grows across runs; WORK_DIR/seeds/TARGET holds the valid seed files.
set -euo pipefail
target=$1 seconds=$2 bin=$3 work=$4
corpus=$work/corpus/$target crashes=$work/crashes/$target log=$work/logs/$target.log
mkdir -p "$corpus" "$crashes" "$work/logs"
before=$(find "$crashes" -type f | wc -l)
start=$(date +%s)
# -timeout=2: a valid input takes milliseconds, and every hang (libhdf5 expanding a hostile
# variable-length string) costs the whole timeout; at 10 s, hangs ate most of a snapshot run.
# The binary is copied so a rebuild during a long run cannot replace it under libFuzzer's children.
cp "$bin/fuzz-$target" "$work/logs/fuzz-$target"
status=0
"$work/logs/fuzz-$target" -max_total_time="$seconds" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
  -timeout=2 -rss_limit_mb=2048 -artifact_prefix="$crashes/" "$corpus" "$work/seeds/$target" >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))
# Fork mode's progress lines read "#EXECS: cov: C ft: F corp: N exec/s: R oom/timeout/crash: O/T/C time: ...".
last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
rate=$(sed -nE 's/.*exec\/s:? ([0-9]+).*/\1/p' <<<"$last")
failures=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/p' <<<"$last")
found=$(( $(find "$crashes" -type f | wc -l) - before ))
echo "fuzz-$target: ${execs:-0} executions in ${elapsed}s (${rate:-0} exec/s), corpus $(find "$corpus" -type f | wc -l) files," \
     "oom/timeout/crash ${failures:-0/0/0}, $found new inputs saved in $crashes (log $log, libFuzzer status $status)"
