#!/usr/bin/env bash
# Proves the README's two set-up commands on a fresh machine: a new minimal
# Debian bookworm root (debootstrap) with nothing from this machine but the
# Rust toolchain (rustup's, bind-mounted read-only, as the README assumes
# Rust is installed) and a copy of the repository's tracked files; then
# scripts/demo.sh and scripts/test.sh run inside it, as root, installing
# what they need themselves. Nothing of this machine's Erlang, Elixir,
# cargo registry, build cache or rootfs cache is visible inside.
#
#   scripts/fresh-check.sh            # about 40 minutes on 2 cores (the whole matrix)
#
# The root is entered as a machine's root is (scripts/enter.sh). The
# pristine debootstrap result is cached by scripts/rootfs.sh and copied
# afresh for every run.
#
# Environment: FRESH_DIR (default /var/tmp/relpack-fresh; removed first),
# RELPACK_DEBIAN_MIRROR (as for scripts/rootfs.sh). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[[ $(id -u) -eq 0 ]] || { echo "fresh-check: needs root (debootstrap, mounts)" >&2; exit 1; }
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
[[ -d $rustup_home && -x $cargo_bin/cargo ]] || {
  echo "fresh-check: no rustup toolchain at $rustup_home and $cargo_bin" >&2
  exit 1
}
fresh=${FRESH_DIR:-/var/tmp/relpack-fresh}
root=$fresh/root

# Whatever still runs inside a root of an earlier, interrupted check.
stop_inside() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$root"* ]] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  return 0
}
trap stop_inside EXIT
stop_inside
rm -rf --one-file-system "$fresh"
mkdir -p "$fresh"

# A linker for rustc's output, and certificates for crates.io: what a
# machine with Rust installed by rustup has.
echo "fresh-check: a pristine debootstrap root" >&2
base=$(RELPACK_ROOTFS_INCLUDE=gcc,libc6-dev,ca-certificates scripts/rootfs.sh)
cp -a "$base" "$root"
rm -f "$root/.relpack-complete"

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

run_inside() {
  scripts/enter.sh --ro "$rustup_home" --ro "$cargo_bin" --cd /repo "$root" "$1"
}

echo "fresh-check: scripts/demo.sh" >&2
run_inside scripts/demo.sh
echo "fresh-check: scripts/test.sh" >&2
run_inside scripts/test.sh
echo "fresh-check: both README commands passed on a fresh root"
