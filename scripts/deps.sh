#!/usr/bin/env bash
# Installs the Debian packages mcd needs, and only those that are missing.
#
#   scripts/deps.sh          build dependencies (compiler, cmake, libevent, gflags, glog, gtest)
#   scripts/deps.sh test     the same plus what the tests use (reference memcached, python3 with
#                            pymemcache and pylibmc, libmemcached-tools, nc, ps, dpkg-dev, file
#                            and ShellCheck; the systemd unit test runs only if systemd is there)
#
# Nothing is run when everything is installed, so it works as a normal user then; otherwise it
# needs root (apt-get). It runs `apt-get update` once before installing.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_PKGS=(
  g++ cmake make pkg-config
  libevent-dev libgflags-dev libgoogle-glog-dev
  libgtest-dev libgmock-dev googletest
)
TEST_PKGS=(
  memcached               # reference server for compatibility tests and benchmarks
  python3 python3-pymemcache python3-pylibmc python3-binary-memcached
  libmemcached-tools      # memcstat, memcslap, ...
  netcat-openbsd procps
  dpkg-dev file shellcheck  # packaging tests: cpack's dpkg-shlibdeps and `file` (CPackDeb
                          # refuses to run without it), shell script lint
  clang libclang-rt-14-dev  # CI: fuzz targets (libFuzzer) and the clang sanitizer builds
  clang-tidy              # CI: scripts/tidy.sh
  systemd                 # packaging test: systemd-analyze verify on the unit
)

want=("${BUILD_PKGS[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${TEST_PKGS[@]}") ;;
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) mcd_die "usage: $0 [build|test]" ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  mcd_log "no dpkg-query: not a Debian system; install by hand: ${want[*]}"
  exit 0
fi

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == "ii " ]]
}

missing=()
for p in "${want[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" != 0 ]]; then
    mcd_die "missing Debian packages: ${missing[*]}
  install them as root first:  sudo $0 ${1:-build}"
  fi
  memcached_was_installed=0
  installed memcached && memcached_was_installed=1
  mcd_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
  # Debian's memcached package starts its own service on port 11211, where scripts/run.sh wants
  # to put mcd. We only need the binary (/usr/bin/memcached), so stop the service we just caused.
  if [[ $memcached_was_installed == 0 ]] && installed memcached && [[ -d /run/systemd/system ]]; then
    mcd_log "stopping and disabling the memcached service the package started (binary is kept)"
    systemctl disable --now memcached.service || true
  fi
else
  mcd_log "Debian packages: all present (${1:-build})"
fi

# Debian 11 and later ship GoogleTest compiled (libgtest.a). Older packaging shipped only the
# sources in /usr/src/googletest: build and install them then.
if ! dpkg -L libgtest-dev 2>/dev/null | grep -q '/libgtest\.a$'; then
  [[ "$(id -u)" == 0 ]] || mcd_die "libgtest-dev has no compiled library; run as root: sudo $0"
  [[ -d /usr/src/googletest ]] || mcd_die "libgtest-dev has neither libgtest.a nor sources"
  if [[ ! -e /usr/local/lib/libgtest.a ]]; then
    mcd_log "building GoogleTest from /usr/src/googletest into /usr/local"
    tmp="$(mktemp -d)"
    cmake -S /usr/src/googletest -B "$tmp" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$tmp" -j "$MCD_JOBS"
    cmake --install "$tmp" --prefix /usr/local
    rm -rf "$tmp"
  fi
fi
