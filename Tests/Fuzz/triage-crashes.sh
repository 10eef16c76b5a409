#!/usr/bin/env bash
# Groups the saved crash inputs of one fuzz target by where they fail, to tell crashes in our
# code (each must become a regression test) from crashes inside a C library (libhdf5, libpng).
# usage: triage-crashes.sh TARGET [WORK_DIR]   (WORK_DIR defaults to .build/fuzz)
# Prints one line per distinct failure: count, the first frame outside libc, the sanitizer and
# Swift runtimes and libFuzzer, and one example input.
set -euo pipefail
target=$1 work=${2:-.build/fuzz}
binary=$work/logs/fuzz-$target
[ -x "$binary" ] || { echo "no $binary: run make fuzz FUZZ_TARGETS=$target first" >&2; exit 1; }
shopt -s nullglob
declare -A count example
for input in "$work/crashes/$target"/*; do
  # A short -timeout makes a hanging input print its stack too; -rss_limit_mb catches runaway memory.
  report=$("$binary" -runs=1 -timeout=3 -rss_limit_mb=2048 "$input" 2>&1 || true)
  # The first stack frame that is not libc, a sanitizer, Swift's runtime (a trap's own frames)
  # or libFuzzer itself names the culprit.
  frame=$(grep -E '^ +#[0-9]+ ' <<<"$report" | grep -vE 'libc\.so|/libc|sysdeps|string/|sanitizer|compiler-rt|libswiftCore|libFuzzer|fuzzer::' \
          | head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //; s/ \(BuildId.*//' | swift demangle --simplified || true)
  # A frame without a symbol (a static C function) is grouped by its library, not its address.
  frame=$(sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ +\(([^+]+)\+0x[0-9a-f]+\)$/unnamed function in \1/' <<<"$frame")
  if [ -z "$frame" ]; then
    frame=$(grep -m1 -E 'Fatal error|ERROR: libFuzzer|out-of-memory|timeout' <<<"$report" || echo "did not fail when replayed")
  fi
  count[$frame]=$(( ${count[$frame]:-0} + 1 ))
  example[$frame]=$input
done
for frame in "${!count[@]}"; do
  echo "${count[$frame]}x  $frame  (e.g. ${example[$frame]})"
done | sort -rn
