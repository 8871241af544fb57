#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors and runs every test:
#
#   scripts/test.sh [extra ctest arguments...]      e.g. scripts/test.sh -R Parser
#
# Exits non-zero when a package install, the configure step, the build or any test fails.
# Environment (see scripts/lib.sh): MCD_SANITIZE=address|thread builds in build-<sanitizer>;
# MCD_BUILD_DIR, MCD_JOBS; MCD_TEST_TIMEOUT seconds per test (default 300).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mcd_deps test
mcd_configure -DMCD_WERROR=ON -DMCD_BUILD_TESTS=ON
mcd_build

mcd_log "running tests in $MCD_BUILD_DIR"
cd "$MCD_BUILD_DIR"
ctest --no-tests=error --output-on-failure --timeout "${MCD_TEST_TIMEOUT:-300}" "$@"
