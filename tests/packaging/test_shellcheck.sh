#!/usr/bin/env bash
# Runs ShellCheck on the shell scripts that ship or run the packaging.
#   test_shellcheck.sh SOURCE_DIR
# Exits 77 (skipped) when shellcheck is not installed.
set -euo pipefail

src="$1"
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "SKIP: shellcheck not installed (apt-get install shellcheck)"
  exit 77
fi
cd "$src"
shellcheck scripts/start-memcached scripts/memcached.init scripts/*.sh \
  tests/packaging/*.sh
shellcheck -s sh packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm
echo "shellcheck: clean"
