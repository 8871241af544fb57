#!/usr/bin/env bash
# systemd-analyze verify on scripts/memcached.service, plus the hardening it must keep.
#   test_systemd_unit.sh SOURCE_DIR
# Exits 77 (skipped) when systemd-analyze is not installed.
set -euo pipefail

src="$1"
unit="$src/scripts/memcached.service"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not installed (apt-get install systemd)"
  exit 77
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Verify against the start-memcached of this tree, not whatever the host has installed.
sed "s|/usr/share/memcached/scripts/start-memcached|$src/scripts/start-memcached|" \
  "$unit" >"$tmp/memcached.service"

out="$(timeout 60 systemd-analyze verify --man=no "$tmp/memcached.service" 2>&1)" || {
  echo "systemd-analyze verify failed:"
  echo "$out"
  exit 1
}
if grep -F 'memcached.service' <<<"$out"; then
  echo "systemd-analyze verify complained about the unit (above)"
  exit 1
fi

fail=0
for directive in 'Type=simple' 'User=memcache' 'NoNewPrivileges=true' 'CapabilityBoundingSet=' \
  'ProtectSystem=full' 'ProtectHome=true' 'PrivateTmp=true' 'PrivateDevices=true' \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'LimitNOFILE=' 'RuntimeDirectory=memcached' \
  'ExecStart=/usr/share/memcached/scripts/start-memcached --foreground /etc/memcached.conf' \
  'WantedBy=multi-user.target'; do
  if ! awk -v d="$directive" 'index($0, d) == 1 { found = 1 } END { exit !found }' "$unit"; then
    echo "missing: $directive"
    fail=1
  fi
done
# The daemon must stay in the foreground under systemd.
if grep -Eq '^ExecStart=.*( -d( |$)|--daemon)' "$unit"; then
  echo "ExecStart must not detach (-d)"
  fail=1
fi
exit "$fail"
