#!/usr/bin/env bash
# Installs what relpack's tests and example need, when missing: Erlang/OTP,
# Elixir, rebar3, Debian's jiffy (a real NIF) and the tools the tests use
# (podman, skopeo and runc for the container image tests).
# Debian/Ubuntu only; needs root (or sudo).
set -euo pipefail

packages=()
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
need erl erlang
need elixir elixir
need rebar3 rebar3
need debootstrap debootstrap
need shellcheck shellcheck
need busybox busybox
need zstd zstd
need unshare util-linux
need script bsdutils
need podman podman
need skopeo skopeo
need runc runc
[ -d /usr/lib/erlang/lib ] && ls -d /usr/lib/erlang/lib/jiffy-* >/dev/null 2>&1 || packages+=(erlang-jiffy)

if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "setup: installing ${packages[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >&2
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found: install Rust with rustup" >&2; exit 1; }
