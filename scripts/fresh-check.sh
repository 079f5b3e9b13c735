#!/usr/bin/env bash
# Proves the README's two set-up commands on a fresh machine: a new minimal
# Debian bookworm root (debootstrap) with nothing from this machine but the
# Rust toolchain (rustup's, bind-mounted read-only, as the README assumes
# Rust is installed) and a copy of the repository's tracked files; then
# scripts/demo.sh and scripts/test.sh run inside it, as root, installing
# what they need themselves. Nothing of this machine's Erlang, Elixir,
# cargo registry, build cache or rootfs cache is visible inside.
#
#   scripts/fresh-check.sh            # takes 20-30 minutes on 2 cores
#
# Environment: FRESH_DIR (default /var/tmp/relpack-fresh; removed first),
# RELPACK_DEBIAN_MIRROR (as for scripts/rootfs.sh). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[[ $(id -u) -eq 0 ]] || { echo "fresh-check: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
[[ -d $rustup_home && -x $cargo_bin/cargo ]] || {
  echo "fresh-check: no rustup toolchain at $rustup_home and $cargo_bin" >&2
  exit 1
}
fresh=${FRESH_DIR:-/var/tmp/relpack-fresh}
root=$fresh/root

mounts=()
cleanup() {
  local m p
  # Whatever still runs inside the root (an interrupted test run).
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$root"* ]] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # Mounts the tests made inside (their own rootfs's /proc, say).
  awk '{print $2}' /proc/mounts | { grep -E "^$root/" || true; } | LC_ALL=C sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # bind SRC DEST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$2"; fi
}

cleanup
rm -rf --one-file-system "$fresh"
mkdir -p "$fresh"
echo "fresh-check: debootstrap of a new root at $root" >&2
# A linker for rustc's output, and certificates for crates.io: what a
# machine with Rust installed by rustup has.
RELPACK_ROOTFS=$root RELPACK_ROOTFS_INCLUDE='' scripts/rootfs.sh >/dev/null
chroot "$root" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev ca-certificates >/dev/null'

echo "fresh-check: the repository's tracked files, copied in" >&2
mkdir -p "$root/repo"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -a -t "$root/repo")

# What this machine's network needs, not the project's state: its name
# servers and the certificate authorities it trusts (a proxy in the way
# may have its own).
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
# The root is a mount point, as on a machine: the tests' `unshare -m`
# changes the propagation of `/`, which only a mount point has.
bind "$root" "$root"
bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
bind "$rustup_home" "$root/opt/rustup" ro
bind "$cargo_bin" "$root/opt/cargo-bin" ro

run_inside() {
  chroot "$root" /usr/bin/env -i \
    HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
    PATH=/opt/cargo-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    RUSTUP_HOME=/opt/rustup CARGO_HOME=/root/.cargo \
    /bin/bash -c "cd /repo && $1"
}
echo "fresh-check: scripts/demo.sh" >&2
run_inside scripts/demo.sh
echo "fresh-check: scripts/test.sh" >&2
run_inside scripts/test.sh
echo "fresh-check: both README commands passed on a fresh root"
