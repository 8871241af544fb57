#!/usr/bin/env bash
# Runs memcached's own Perl test suite (its t/*.t files) against a memcached binary, by default
# the mcd build in build/memcached:
#
#   scripts/memcached-suite.sh T_DIR [FILE.t ...]
#
# T_DIR is an unpacked t/ folder of memcached's repository, kept outside this repository (it is
# memcached's code, never committed here), e.g.
#   git -C MEMCACHED_CHECKOUT archive 1.6.18 t | tar x -C /tmp/mc-1.6.18
#   scripts/memcached-suite.sh /tmp/mc-1.6.18/t
# With no FILE the classic text-protocol files are run (CLASSIC below); `all` runs every file.
#
# Environment: MC_BIN is the binary under test (default build/memcached; /usr/bin/memcached runs
# the suite against Debian's memcached for comparison); PROVE_ARGS adds arguments to prove
# (default -v is off; e.g. PROVE_ARGS=-v).
#
# The harness wants ./memcached-debug and ./timedrun beside t/: this script makes both as small
# stand-ins in a scratch folder (a link to MC_BIN, and `timeout`), links t/ there and runs prove
# from it. Exits with prove's status.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# memcached 1.6.18's files for the classic text protocol and the options (no binary protocol,
# SASL, TLS, extstore, proxy, meta, restart or watch files).
CLASSIC=(
  00-startup.t 64bit.t bogus-commands.t cas.t chunked-items.t conn-limits.t daemonize.t
  dash-M.t evictions.t expirations.t flags.t flush-all.t getandtouch.t getset.t idle-timeout.t
  incrdecr.t issue_104.t issue_108.t issue_14.t issue_140.t issue_152.t issue_163.t issue_183.t
  issue_192.t issue_22.t issue_260.t issue_29.t issue_3.t issue_41.t issue_42.t issue_50.t
  issue_61.t issue_67.t issue_68.t issue_70.t item_size_max.t line-lengths.t lru.t
  malicious-commands.t maxconns.t misbehave.t multiversioning.t noreply.t quit.t refhang.t
  shutdown.t slabhang.t stats-conns.t stats-detail.t stats.t strtol-testing.t touch.t udp.t
  unixsocket.t whitespace.t
)

(($# >= 1)) || mcd_die "usage: $0 T_DIR [FILE.t ... | all]"
tdir="$(cd "$1" && pwd)"
shift
[[ -f "$tdir/lib/MemcachedTest.pm" ]] || mcd_die "$tdir is not memcached's t/ folder"
command -v prove >/dev/null || mcd_die "prove is missing (Debian package perl)"

bin="${MC_BIN:-$MCD_ROOT/build/memcached}"
[[ -x "$bin" ]] || mcd_die "no executable $bin (build first, or set MC_BIN)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

if (($# == 0)); then
  files=("${CLASSIC[@]}")
elif [[ "$1" == all ]]; then
  files=()
  for f in "$tdir"/*.t; do files+=("$(basename "$f")"); done
else
  files=("$@")
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$tdir" "$work/t"
# The harness appends `-o relaxed_privileges`, which only debug builds of memcached accept:
# drop it for a binary whose help does not mention it (Debian's memcached).
relaxed=1
"$bin" -h 2>/dev/null | grep -q relaxed_privileges || relaxed=0
cat >"$work/memcached-debug" <<STANDIN
#!/usr/bin/env bash
args=()
while ((\$# > 0)); do
  if [[ $relaxed == 0 && "\$1" == -o && "\${2:-}" == relaxed_privileges ]]; then
    shift 2
    continue
  fi
  args+=("\$1")
  shift
done
exec "$bin" "\${args[@]}"
STANDIN
chmod +x "$work/memcached-debug"
cat >"$work/timedrun" <<'EOF'
#!/bin/sh
# timedrun SECONDS COMMAND...: run COMMAND, killed after SECONDS.
secs="$1"
shift
exec timeout "$secs" "$@"
EOF
chmod +x "$work/timedrun"

mcd_log "memcached suite: ${#files[@]} files against $bin"
cd "$work"
args=()
for f in "${files[@]}"; do args+=("t/$f"); done
# shellcheck disable=SC2086  # PROVE_ARGS is a list of words
prove ${PROVE_ARGS:-} "${args[@]}"
