#!/usr/bin/env bash
# Installs what relpack's tests and example need, when missing: Erlang/OTP,
# Elixir, rebar3, Debian's jiffy (a real NIF) and the tools the tests use
# (podman, skopeo and runc for the container image tests; QEMU for arm64,
# scripts/qemu.sh).
# Debian/Ubuntu only; needs root (or sudo).
set -euo pipefail

# The toolchain without recommends: the elixir package's pull in desktop
# packages that fail to configure in a root without a desktop.
toolchain=() packages=()
command -v erl >/dev/null 2>&1 || toolchain+=(erlang-nox erlang-dev)
command -v elixir >/dev/null 2>&1 || toolchain+=(elixir)
command -v rebar3 >/dev/null 2>&1 || toolchain+=(rebar3)
[ -d /usr/lib/erlang/lib ] && ls -d /usr/lib/erlang/lib/jiffy-* >/dev/null 2>&1 || toolchain+=(erlang-jiffy)
# ERTS opens libsctp at run time (a recommends of older erlang-base).
/sbin/ldconfig -p | grep -q 'libsctp\.so\.1 ' || toolchain+=(libsctp1)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# Debian unstable dropped erlang-jiffy (the nif fixture's real NIF); the
# stable build (OTP 27, NIF ABI erlang-abi-17.0) is what a sid user would
# have, so it comes from trixie, pinned low so that nothing else does.
jiffy_from_stable() {
  apt-cache show erlang-jiffy >/dev/null 2>&1 && return 0
  grep -q '/sid$' /etc/debian_version 2>/dev/null || return 0
  [ -f /etc/apt/sources.list.d/relpack-trixie.list ] && return 0
  echo "setup: erlang-jiffy comes from trixie (sid has none)" >&2
  echo "deb http://deb.debian.org/debian trixie main" | $sudo tee /etc/apt/sources.list.d/relpack-trixie.list >/dev/null
  printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' | $sudo tee /etc/apt/preferences.d/relpack-trixie >/dev/null
}
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
need debootstrap debootstrap
need shellcheck shellcheck
need busybox busybox
need zstd zstd
need unshare util-linux
need script bsdutils
need podman podman
need skopeo skopeo
need runc runc
# The push tests run a real registry (CNCF distribution) with htpasswd auth.
need docker-registry docker-registry
need htpasswd apache2-utils
need openssl openssl
# The SBOM tests validate with CycloneDX's own library and read the SBOM
# with lib4sbom (PyPI, in a virtual environment, below).
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || packages+=(python3-venv)

# The cross-building tests fetch the target's build of a NIF as a user
# would (`apt-get download erlang-jiffy:arm64`).
update=false
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup: adding arm64 to dpkg's architectures (for apt-get download PACKAGE:arm64)" >&2
  $sudo dpkg --add-architecture arm64
  update=true
fi

if [ $((${#toolchain[@]} + ${#packages[@]})) -gt 0 ] || $update; then
  jiffy_from_stable
  [ $((${#toolchain[@]} + ${#packages[@]})) -eq 0 ] || echo "setup: installing ${toolchain[*]} ${packages[*]}" >&2
  $sudo apt-get update -qq
  if [ ${#toolchain[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${toolchain[@]}" >&2
  fi
  if [ ${#packages[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >&2
  fi
fi
sbom_python=/opt/relpack-py
if ! "$sbom_python/bin/python" -c 'import cyclonedx.validation.json, lib4sbom' >/dev/null 2>&1; then
  echo "setup: installing cyclonedx-python-lib and lib4sbom into $sbom_python" >&2
  $sudo python3 -m venv "$sbom_python"
  $sudo "$sbom_python/bin/pip" install -q 'cyclonedx-python-lib[json-validation]' lib4sbom >&2
fi
# arm64 programs run under QEMU in the tests (never in a build).
$sudo "$(dirname "$0")/qemu.sh" >/dev/null
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found: install Rust with rustup" >&2; exit 1; }
