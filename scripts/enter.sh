#!/usr/bin/env bash
# Runs a command in a Debian root as in a machine's own root: a mount
# namespace of its own whose `/` is ROOT (pivot_root, not chroot), with
# /proc, /sys (and its cgroups, for podman) and /dev. The mounts live and
# die with the namespace.
#
#   scripts/enter.sh [--bind DIR]... [--ro DIR]... [--env NAME=VALUE]... [--cd DIR] ROOT COMMAND
#
# --bind and --ro mount this machine's DIR, with what is mounted below it,
# at the same path inside ROOT (read-write or read-only); COMMAND runs with `bash -c` in a clean
# environment (HOME=/root, CI=true, a standard PATH with rustup's cargo
# first, plus each --env), in --cd's directory (default: the first bound
# directory, else /).
# Needs root.
set -euo pipefail
binds=() ros=() envs=() workdir=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --bind) binds+=("$2"); shift 2 ;;
    --ro) ros+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --cd) workdir=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || { echo "usage: scripts/enter.sh [--bind DIR]... [--ro DIR]... [--env N=V]... [--cd DIR] ROOT COMMAND" >&2; exit 2; }
root=$(realpath "$1") command=$2
[[ -x $root/bin/sh ]] || { echo "enter: $root is not a root (no /bin/sh)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "enter: needs root (mount namespaces)" >&2; exit 1; }
[[ -n $workdir ]] || workdir=${binds[0]:-/}

# shellcheck disable=SC2016 # expanded by the shell in the new namespace
inside='
set -e
root=$1 nbind=$2 nro=$3
shift 3
mount --make-rprivate /
mount --rbind "$root" "$root"
mount --rbind /proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
i=0
while [ "$i" -lt "$nbind" ]; do
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
  shift
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$nro" ]; do
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
  mount -o remount,bind,ro "$root$1"
  shift
  i=$((i + 1))
done
cd "$root"
mkdir -p .old-root
pivot_root . .old-root
cd /
umount -l /.old-root
rmdir /.old-root
exec "$@"
'
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
exec unshare --mount --fork /bin/bash -c "$inside" enter "$root" \
  "${#binds[@]}" "${#ros[@]}" ${binds[@]+"${binds[@]}"} ${ros[@]+"${ros[@]}"} \
  /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-xterm}" CI=true \
  PATH="$cargo_bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} ${CARGO_HOME:+CARGO_HOME="$CARGO_HOME"} \
  ${envs[@]+"${envs[@]}"} \
  /bin/bash -c "cd $(printf '%q' "$workdir") && $command"
