#!/usr/bin/env bash
# Print the path of a cached Debian root of SUITE (trixie, sid, ...) with
# that suite's Erlang/OTP, Elixir and rebar3 and every tool the tests use,
# as scripts/setup.sh installs them there; create it first if missing.
# scripts/test.sh runs the whole suite in each such root (scripts/enter.sh),
# so that every test meets the toolchain users of that suite compile with.
#
#   root=$(scripts/toolchain.sh trixie)
#
# The pristine debootstrap result comes from scripts/rootfs.sh (with a C
# toolchain and CA certificates, as a machine with rustup's Rust has);
# scripts/setup.sh runs inside the root on every call, so a root cached by
# an older checkout gets what the current one needs. Sid's Release file
# can be past its Valid-Until date: apt there does not check it.
#
# Environment: RELPACK_TOOLCHAINS_DIR (default /var/cache/relpack).
# Only the path goes to stdout. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[[ $# -eq 1 ]] || { echo "usage: scripts/toolchain.sh SUITE" >&2; exit 2; }
suite=$1
[[ $suite =~ ^[a-z]+$ ]] || { echo "toolchain: not a Debian suite: $suite" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "toolchain: needs root (debootstrap, mounts)" >&2; exit 1; }
dir=${RELPACK_TOOLCHAINS_DIR:-/var/cache/relpack}/toolchain-$suite
marker=.relpack-toolchain
log() { printf 'toolchain.sh: %s\n' "$*" >&2; }

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

# Installs what scripts/setup.sh asks for, inside root $1.
setup_inside() {
  scripts/enter.sh --ro "$repo" --ro "${RUSTUP_HOME:-$HOME/.rustup}" \
    --ro "${CARGO_HOME:-$HOME/.cargo}/bin" --cd "$repo" "$1" "scripts/setup.sh >&2"
}

if [[ ! -f $dir/$marker ]]; then
  rm -rf --one-file-system "$dir"
  # A copy made whole by an earlier, interrupted run is set up further.
  if [[ ! -f $dir.tmp/.relpack-copied ]]; then
    rm -rf --one-file-system "$dir.tmp"
    base=$(RELPACK_SUITE=$suite RELPACK_ROOTFS_INCLUDE=gcc,libc6-dev,ca-certificates scripts/rootfs.sh)
    cp -a "$base" "$dir.tmp"
    rm -f "$dir.tmp/.relpack-complete"
    touch "$dir.tmp/.relpack-copied"
  fi
  log "a $suite root with its toolchain at $dir (a few minutes)"
  # This machine's network: its name servers and the certificate
  # authorities it trusts (a proxy in the way may have its own).
  cp /etc/resolv.conf "$dir.tmp/etc/resolv.conf"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$dir.tmp/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$dir.tmp/usr/local/share/ca-certificates/"
    chroot "$dir.tmp" update-ca-certificates >/dev/null
  fi
  echo 'Acquire::Check-Valid-Until "false";' >"$dir.tmp/etc/apt/apt.conf.d/99relpack-valid-until"
  setup_inside "$dir.tmp"
  rm "$dir.tmp/.relpack-copied"
  echo "$suite" >"$dir.tmp/$marker"
  mv -T "$dir.tmp" "$dir"
else
  setup_inside "$dir"
fi
printf '%s\n' "$dir"
