#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over src/ with the compile commands of the build
# directory; fails on any finding.
#
#   scripts/tidy.sh            (after scripts/test.sh or any configure of build/)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runner=$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)
if [[ -z "$runner" ]]; then
  echo "run-clang-tidy not found: install clang-tidy (scripts/deps.sh test)" >&2
  exit 1
fi
[[ -f "$MCD_BUILD_DIR/compile_commands.json" ]] || mcd_configure
out=$(mktemp)
trap 'rm -f "$out"' EXIT
mcd_log "clang-tidy over src/ ($runner)"
rc=0
"$runner" -p "$MCD_BUILD_DIR" -quiet -j "$MCD_JOBS" "$MCD_ROOT/src/" >"$out" 2>&1 || rc=$?
if grep -qE '(warning|error):' "$out" || ((rc != 0)); then
  cat "$out"
  echo "clang-tidy: findings above" >&2
  exit 1
fi
mcd_log "clang-tidy: clean"
