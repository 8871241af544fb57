# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Source it; do not run it.
#
# Environment knobs honoured by the scripts:
#   MCD_BUILD_DIR   build directory (default: build, or build-<sanitizer> when MCD_SANITIZE is set)
#   MCD_SANITIZE    '' (default), 'address' (ASan+UBSan) or 'thread'; passed to CMake
#   MCD_JOBS        parallel build jobs (default: nproc)
#   MCD_SKIP_DEPS   1 = do not check or install Debian packages (non-Debian machines)

MCD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MCD_SCRIPTS="$MCD_ROOT/scripts"

# Use the Debian toolchain and /usr/bin/python3 that deps.sh installs, ahead of anything a user
# environment (pyenv shims, /usr/local builds) puts first on PATH, so this machine builds and tests
# exactly as a fresh one does.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

MCD_SANITIZE="${MCD_SANITIZE:-}"
if [[ -n "$MCD_SANITIZE" ]]; then
  MCD_BUILD_DIR="${MCD_BUILD_DIR:-build-$MCD_SANITIZE}"
else
  MCD_BUILD_DIR="${MCD_BUILD_DIR:-build}"
fi
case "$MCD_BUILD_DIR" in
  /*) ;;
  *) MCD_BUILD_DIR="$MCD_ROOT/$MCD_BUILD_DIR" ;;
esac
MCD_JOBS="${MCD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

mcd_log() { printf '[mcd] %s\n' "$*" >&2; }
mcd_die() { printf '[mcd] error: %s\n' "$*" >&2; exit 1; }

# mcd_deps [build|test]: make sure the Debian packages are there (see deps.sh).
mcd_deps() {
  if [[ "${MCD_SKIP_DEPS:-0}" == 1 ]]; then
    mcd_log "MCD_SKIP_DEPS=1: not checking Debian packages"
    return 0
  fi
  "$MCD_SCRIPTS/deps.sh" "$@"
}

# mcd_configure [-DVAR=VALUE ...]: configure $MCD_BUILD_DIR (cheap when already configured).
# shellcheck disable=SC2120  # arguments are optional
mcd_configure() {
  local args=(-S "$MCD_ROOT" -B "$MCD_BUILD_DIR")
  if [[ -n "$MCD_SANITIZE" ]]; then
    args+=("-DMCD_SANITIZE=$MCD_SANITIZE")
  fi
  mcd_log "configuring $MCD_BUILD_DIR"
  cmake "${args[@]}" "$@"
}

# mcd_build [target ...]: build the given targets (all when none) with $MCD_JOBS jobs.
# shellcheck disable=SC2120  # arguments are optional
mcd_build() {
  local args=(--build "$MCD_BUILD_DIR" -j "$MCD_JOBS")
  if (($# > 0)); then
    args+=(--target "$@")
  fi
  mcd_log "building ${*:-all} in $MCD_BUILD_DIR with $MCD_JOBS jobs"
  cmake "${args[@]}"
}
