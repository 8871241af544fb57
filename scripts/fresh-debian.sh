#!/usr/bin/env bash
# Runs CI (or any command) in a clean clone of this repository inside a brand-new minimal
# Debian 12: `debootstrap --variant=minbase bookworm`, nothing else installed beforehand.
#
#   sudo scripts/fresh-debian.sh [options] [--] [command ...]
#
#   --root DIR     where the Debian tree goes (default /var/tmp/mcd-fresh-debian). The script
#                  creates DIR itself and refuses one that exists unless it made it earlier.
#   --reuse        use the tree DIR from an earlier run (what that run installed stays)
#   --keep-clone   with --reuse: keep the clone and its build trees from the earlier run
#   --ref REF      the commit to clone (default HEAD; uncommitted changes are not copied)
#   --mirror URL   Debian mirror (default: the first Debian archive this host's apt uses)
#   --remove       delete DIR (only a tree this script created) and exit
#
# The command (default: bash .ci/run) runs as root in /root/mcd inside the tree, with an empty
# environment apart from CI=true, HOME, PATH, TERM and MCD_JOBS, CI_BUDGET_SECONDS,
# MCD_FUZZ_SECONDS, MCD_TEST_TIMEOUT when they are set. Everything happens in a private mount
# namespace: /proc, /sys, /dev, /dev/pts and a fresh /dev/shm are mounted into DIR there and
# unmounted on exit. Processes still running in the tree after the command (a daemon a test did
# not stop) are listed, killed, and fail the run. Needs root, debootstrap, git and unshare.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
log() { printf '[fresh-debian] %s\n' "$*" >&2; }
die() {
  printf '[fresh-debian] error: %s\n' "$*" >&2
  exit 1
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root=/var/tmp/mcd-fresh-debian
reuse=0 keep_clone=0 remove=0 ref=HEAD mirror=""
args=("$@")
while (($# > 0)); do
  case "$1" in
    --root) root="$2" && shift ;;
    --reuse) reuse=1 ;;
    --keep-clone) keep_clone=1 ;;
    --ref) ref="$2" && shift ;;
    --mirror) mirror="$2" && shift ;;
    --remove) remove=1 ;;
    -h | --help) usage && exit 0 ;;
    --) shift && break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
  shift
done
cmd=("$@")
((${#cmd[@]} > 0)) || cmd=(bash .ci/run)

[[ "$(id -u)" == 0 ]] || die "needs root (debootstrap, mount, chroot)"
[[ "$root" == /* ]] || root="$PWD/$root"
root="${root%/}"
[[ -n "$root" && "$root" != / ]] || die "--root must not be /"
case "$root/" in
  "$repo"/*) die "--root must be outside the repository" ;;
esac
marker="$root/.mcd-fresh-debian"    # written when this script creates DIR
complete="$root/.mcd-fresh-debian-ready"  # written once debootstrap and the set-up succeeded

if ((remove)); then
  [[ -e "$root" ]] || exit 0
  [[ -f "$marker" ]] || die "$root was not created by this script: not removing it"
  exec 9<"$marker"
  flock -n 9 || die "a run is using $root"
  if findmnt -rn -o TARGET | grep -q "^$root/"; then
    die "something is still mounted under $root"
  fi
  log "removing $root"
  rm -rf --one-file-system "$root"
  exit 0
fi

# Everything below runs in a private mount namespace: the mounts never reach the host's mount
# table and go away with the namespace even if this script is killed.
if [[ "${MCD_FRESH_IN_NS:-}" != 1 ]]; then
  command -v unshare >/dev/null || die "unshare not found (util-linux)"
  MCD_FRESH_IN_NS=1 exec unshare --mount --propagation private -- "$BASH" "$0" "${args[@]}"
fi

mounted=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local rc=$? pids=() p
  # Whatever still runs with its root in the tree was started by the command.
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/root" 2>/dev/null)" == "$root" ]] && pids+=("${p#/proc/}")
  done
  if ((${#pids[@]} > 0)); then
    log "still running in the tree after the command (killed now):"
    for p in "${pids[@]}"; do
      log "  pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 1
    ((rc != 0)) || rc=3
  fi
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" || umount -l "${mounted[i]}" || log "could not unmount ${mounted[i]}"
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mnt TARGET MOUNT-ARGS...: mount under the tree and remember it for cleanup.
mnt() {
  local target="$root/$1"
  shift
  mount "$@" "$target"
  mounted+=("$target")
}

if [[ -e "$root" ]]; then
  [[ -f "$marker" ]] || die "$root exists and was not created by this script"
  ((reuse)) || die "$root exists: pass --reuse to use it, or --remove to delete it"
  [[ -f "$complete" ]] || die "$root is an unfinished tree: --remove it and start again"
  log "reusing $root"
else
  ((!reuse)) || log "$root does not exist: creating it"
  command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
  if [[ -z "$mirror" ]]; then
    # The archive this host's apt already uses (deb822 "URIs:" or one-line "deb URL suite").
    mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk '$1 == "URIs:" && $2 ~ /\/debian\/?$/ { print $2; exit }')"
    [[ -n "$mirror" ]] || mirror="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' \
      /etc/apt/sources.list 2>/dev/null)"
    [[ -n "$mirror" ]] || die "no Debian archive in this host's apt sources: give --mirror URL"
    mirror="${mirror%/}"
  fi
  mkdir -p "$(dirname "$root")"
  mkdir "$root"
  date -u '+%F %T UTC' >"$marker"
  log "debootstrap --variant=minbase bookworm $root $mirror"
  t0=$SECONDS
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
    die "debootstrap failed, see $root.debootstrap.log"
  rm -f "$root.debootstrap.log"
  log "debootstrap done in $((SECONDS - t0))s"
  # What a Debian 12 installation has: the point-release updates and the security archive.
  security="${mirror%/debian}/debian-security"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  # A chroot is not a booted system: keep package scripts from starting services (Debian's
  # memcached would take port 11211 in the host's network namespace). A booted Debian starts it
  # and scripts/deps.sh stops it again.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  touch "$complete"
fi
# One run per tree: the clean-up kills every process in the tree, a second run's included.
exec 9<"$marker"
flock -n 9 || die "another run is using $root"
cp /etc/resolv.conf "$root/etc/resolv.conf"

mnt proc -t proc proc
mnt sys -t sysfs sysfs
mnt dev --bind /dev
mnt dev/pts --bind /dev/pts
mnt dev/shm -t tmpfs -o mode=1777,nosuid,nodev shm

clone="$root/root/mcd"
if ((keep_clone)) && [[ -d "$clone/.git" ]]; then
  log "keeping the clone in $clone ($(git -C "$clone" log -1 --format='%h %s'))"
else
  commit="$(git -C "$repo" rev-parse --verify "$ref^{commit}")"
  if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]]; then
    log "note: $repo has uncommitted changes; they are not in the clone"
  fi
  rm -rf --one-file-system "$clone"
  git clone --quiet --no-hardlinks "$repo" "$clone"
  git -C "$clone" -c advice.detachedHead=false checkout --quiet --detach "$commit"
  log "cloned $(git -C "$clone" log -1 --format='%h %s') into $clone"
fi

env_vars=(CI=true HOME=/root TERM=dumb
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in MCD_JOBS CI_BUDGET_SECONDS MCD_FUZZ_SECONDS MCD_TEST_TIMEOUT; do
  [[ -z "${!v:-}" ]] || env_vars+=("$v=${!v}")
done
log "running in $root:/root/mcd: ${cmd[*]}"
rc=0
chroot "$root" /usr/bin/env -i "${env_vars[@]}" /bin/bash -c 'cd /root/mcd && exec "$@"' \
  fresh-debian "${cmd[@]}" </dev/null 9<&- || rc=$?
log "command exited with $rc"
exit "$rc"
