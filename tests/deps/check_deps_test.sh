#!/usr/bin/env bash
# scripts/check-deps.sh must pass on a copy of the tree as it is and fail (exit 1, naming the
# file) on each back-edge planted in a fresh copy: the check is shown to catch what it is for.
#   check_deps_test.sh SOURCE_DIR
set -euo pipefail

src="$(cd "$1" && pwd)"
check="$src/scripts/check-deps.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0

fresh_copy() {
  rm -rf "$tmp/tree"
  mkdir -p "$tmp/tree"
  cp -r "$src/src" "$src/include" "$tmp/tree/"
}

# expect_exit CODE WHAT [TEXT]: runs the check on $tmp/tree; TEXT must appear in its output.
expect_exit() {
  local want="$1" what="$2" text="${3:-}" rc=0
  "$check" "$tmp/tree" >"$tmp/out" 2>&1 || rc=$?
  if ((rc != want)); then
    echo "FAIL: $what: exit $rc, expected $want"
    cat "$tmp/out"
    failures=$((failures + 1))
  elif [[ -n "$text" ]] && ! grep -qF -- "$text" "$tmp/out"; then
    echo "FAIL: $what: output lacks '$text'"
    cat "$tmp/out"
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}

# plant FILE LINE: appends an include line to FILE (relative to the copy).
plant() {
  printf '%s\n' "$2" >>"$tmp/tree/$1"
}

fresh_copy
expect_exit 0 "the tree as it is" "no back-edge"

fresh_copy
plant src/server/worker.cc '#include "mcd/handler/session.h"'
expect_exit 1 "server includes a handler header" "src/server/worker.cc"

fresh_copy
plant include/mcd/server/session.h '#include "mcd/protocol/wire.h"'
expect_exit 1 "server's public header includes protocol" "server may not include protocol"

fresh_copy
plant src/server/udp.cc '#include "../handler/lru_crawler_command.h"'
expect_exit 1 "a relative include into another module" "server may not include handler"

fresh_copy
plant src/storage/slab.cc '#include "mcd/stats/stats.h"'
expect_exit 1 "storage includes stats" "storage may not include stats"

fresh_copy
plant src/protocol/text_parser.cc '  #  include "mcd/storage/cache.h"'
expect_exit 1 "spaced-out directive" "protocol may not include storage"

fresh_copy
plant src/handler/session.cc '#include <event2/event.h>'
expect_exit 1 "libevent outside the server" "only server may include <event2/...>"

fresh_copy
plant src/util/numbers.cc '#include "no_such_header.h"'
expect_exit 1 "an include that resolves to no module header" "not a header of a module"

fresh_copy
mkdir -p "$tmp/tree/src/newmod"
printf '#include "mcd/util/clock.h"\n' >"$tmp/tree/src/newmod/x.cc"
expect_exit 1 "a module missing from the table" "not in the table"

fresh_copy
plant src/handler/session.cc '#include "mcd/server/session.h"'
plant src/app/main.cc '#include "mcd/protocol/wire.h"'
expect_exit 0 "edges the table allows"

if ((failures > 0)); then
  echo "$failures case(s) failed"
  exit 1
fi
echo "check-deps: every planted back-edge caught"
