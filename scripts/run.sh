#!/usr/bin/env bash
# Installs what is missing, builds the daemon and runs it in the foreground on port 11211:
#
#   scripts/run.sh [extra memcached options...]
#
# runs  build/memcached -p 11211 -m 64 -t 4 -c 1024 [-u nobody] [extra options]
# -u nobody is added when running as root (the daemon, like memcached, refuses to run as root
# without -u) unless the extra options name a user themselves. Later options win, so e.g.
# `scripts/run.sh -p 11311 -vv` overrides the port. Stop it with Ctrl-C.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mcd_deps build
mcd_configure
mcd_build memcached

args=(-p 11211 -m 64 -t 4 -c 1024)
if [[ "$(id -u)" == 0 ]]; then
  user_given=0
  for a in "$@"; do
    case "$a" in
      -u* | --user*) user_given=1 ;;
    esac
  done
  if [[ $user_given == 0 ]]; then
    args+=(-u nobody)
  fi
fi

mcd_log "starting: $MCD_BUILD_DIR/memcached ${args[*]}${*:+ $*}"
exec "$MCD_BUILD_DIR/memcached" "${args[@]}" "$@"
