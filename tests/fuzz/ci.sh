#!/usr/bin/env bash
# CI stage for the fuzz targets: a clang build with -DMCD_FUZZ=ON in build-fuzz/ (only the fuzz
# binaries and the libraries they need), then `ctest -L fuzz`, which runs each target for
# MCD_FUZZ_SECONDS (default 20) on its seed corpus, and a summary of the executions.
#
#   tests/fuzz/ci.sh            (from .ci/run; works from any directory)
#
# Needs clang and libFuzzer's runtime (Debian 12: clang-14 and libclang-rt-14-dev).
set -euo pipefail

export MCD_BUILD_DIR="${MCD_BUILD_DIR:-build-fuzz}"
export MCD_SANITIZE=""  # MCD_FUZZ brings its own ASan + UBSan
# shellcheck source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

command -v clang++ >/dev/null || mcd_die "clang++ not found (apt-get install clang libclang-rt-14-dev)"
export CC=clang CXX=clang++

mcd_deps build
mcd_configure -DMCD_FUZZ=ON -DMCD_WERROR=ON -DMCD_FUZZ_SECONDS="${MCD_FUZZ_SECONDS:-20}"
mcd_build fuzz_text_parser fuzz_meta_parser fuzz_binary_codec fuzz_session_model fuzz_command_line

cd "$MCD_BUILD_DIR"
rc=0
ctest -L fuzz --no-tests=error --output-on-failure -j "$MCD_JOBS" || rc=$?
echo "=== fuzz executions (ctest -L fuzz, ${MCD_FUZZ_SECONDS:-20}s per target):"
for log in tests/fuzz/work_*.log; do
  name="${log#tests/fuzz/work_}"
  printf '  fuzz_%-14s %s\n' "${name%.log}" \
    "$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1 executions/p' "$log" | tail -n 1)"
done
exit "$rc"
