#!/usr/bin/env bash
# Checks the module dependency rule (docs/architecture.md): every #include in src/<module> and
# include/mcd/<module> may name only the module itself and the modules below it. Fails (exit 1)
# on a back-edge, listing each offending line.
#
#   scripts/check-deps.sh [ROOT]        ROOT: a source tree (default: this repository)
#
# What counts: #include "mcd/<module>/..." and relative includes ("x.h", "../m/x.h", resolved
# from the including file's folder to src/<module> or include/mcd/<module>). A quoted include
# that resolves to neither, and a folder that is no module of the table, are errors too, so
# nothing slips past by its spelling. Also checked: libevent (<event2/...>) only in server,
# gflags only in app. Run by .ci/run and by ctest (tests/deps).
set -euo pipefail

root="${1:-$(dirname "${BASH_SOURCE[0]}")/..}"
root="$(cd "$root" && pwd)"

# module -> the modules it may include besides itself (the CMake link graph).
declare -A allowed=(
  [util]=""
  [storage]="util"
  [stats]="util"
  [protocol]="util"
  [server]="util"
  [handler]="util storage stats protocol server"
  [app]="util storage stats protocol server handler"
)
# <prefix/ of a system header> -> the only modules that may include it.
declare -A external=(
  [event2]="server"
  [gflags]="app"
)

errors=0
fail() {
  echo "check-deps: $*" >&2
  errors=$((errors + 1))
}

# Sets $norm to the absolute path $1 with its . and .. segments resolved (lexically, no fork).
normalize() {
  local part
  local -a parts out=()
  IFS=/ read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    case "$part" in
      '' | .) ;;
      ..) ((${#out[@]} == 0)) || unset 'out[${#out[@]}-1]' ;;
      *) out+=("$part") ;;
    esac
  done
  local IFS=/
  norm="/${out[*]}"
}

# Sets $owner to the module owning the absolute, normalized path $1, or to nothing.
module_of() {
  local rel="${1#"$root"/}"
  owner=""
  case "$rel" in
    src/*/*) rel="${rel#src/}" ;;
    include/mcd/*/*) rel="${rel#include/mcd/}" ;;
    *) return 0 ;;
  esac
  owner="${rel%%/*}"
}

# May module $1 include module $2?
may_include() {
  [[ "$1" == "$2" ]] && return 0
  local m
  for m in ${allowed[$1]}; do
    [[ "$m" == "$2" ]] && return 0
  done
  return 1
}

checked=0
for dir in "$root"/src/* "$root"/include/mcd/*; do
  [[ -d "$dir" ]] || continue
  mod="${dir##*/}"
  if [[ -z "${allowed[$mod]+set}" ]]; then
    fail "${dir#"$root"/}: module '$mod' is not in the table of scripts/check-deps.sh"
    continue
  fi
  files=$(find "$dir" -type f \( -name '*.h' -o -name '*.cc' \) | wc -l)
  checked=$((checked + files))
  # One grep per module: "file:line:#include ..." for every include directive.
  while IFS= read -r hit; do
    file="${hit%%:*}"
    rest="${hit#*:}"
    lineno="${rest%%:*}"
    line="${rest#*:}"
    [[ "$line" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+)[\"\>] ]] ||
      continue
    kind="${BASH_REMATCH[1]}"
    name="${BASH_REMATCH[2]}"
    close='"'
    [[ "$kind" == "<" ]] && close=">"
    where="${file#"$root"/}:$lineno: #include $kind$name$close"
    if [[ "$kind" == "<" ]]; then
      prefix="${name%%/*}"
      if [[ "$prefix" != "$name" && -n "${external[$prefix]+set}" ]]; then
        ok=0
        for m in ${external[$prefix]}; do [[ "$m" == "$mod" ]] && ok=1; done
        ((ok)) || fail "$where: only ${external[$prefix]} may include <$prefix/...>"
      fi
      continue
    fi
    if [[ "$name" == mcd/* ]]; then
      normalize "$root/include/$name"
    else
      normalize "${file%/*}/$name"
    fi
    module_of "$norm"
    if [[ -z "$owner" || ! -f "$norm" ]]; then
      fail "$where: not a header of a module (src/<module>/ or include/mcd/<module>/)"
    elif [[ -z "${allowed[$owner]+set}" ]]; then
      fail "$where: module '$owner' is not in the table of scripts/check-deps.sh"
    elif ! may_include "$mod" "$owner"; then
      fail "$where: $mod may not include $owner (allowed: ${allowed[$mod]:-nothing})"
    fi
  done < <(grep -rnE --include='*.h' --include='*.cc' '^[[:space:]]*#[[:space:]]*include' "$dir" |
    sort -t: -k1,1 -k2,2n)
done

if ((checked == 0)); then
  fail "no source files under $root/src or $root/include/mcd"
fi
if ((errors > 0)); then
  echo "check-deps: $errors violation(s) of the module dependency rule" >&2
  exit 1
fi
echo "check-deps: $checked files, no back-edge"
