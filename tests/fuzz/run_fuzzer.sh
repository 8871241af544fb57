#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time on its seed corpus (ctest's `fuzz` label uses it):
#
#   run_fuzzer.sh FUZZER SECONDS DICT WORK_DIR SEED_DIR
#
# New inputs go to WORK_DIR (in the build tree), never into the seed corpus. The full libFuzzer
# log is kept in WORK_DIR.log; this prints the final stats (executions, coverage) and, on a
# failure, the end of the log with the crash report.
set -uo pipefail
fuzzer="$1" seconds="$2" dict="$3" work="$4" seeds="$5"
name="$(basename "$fuzzer")"
mkdir -p "$work"
log="$work.log"
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$dict" -artifact_prefix="$work-" "$work" "$seeds" >"$log" 2>&1
rc=$?
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
echo "$name: ${execs:-?} executions in ${seconds}s (exit $rc)"
grep -E '^(stat::|#[0-9]+ +DONE)' "$log" || true
if ((rc != 0)); then
  echo "--- $name failed; end of $log:"
  tail -n 60 "$log"
fi
exit "$rc"
