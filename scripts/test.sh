#!/usr/bin/env bash
# The full test suite: unit tests, the systools/mix release oracles, and the
# end-to-end tests that compile the fixtures with mix, package them with
# relpack and boot them (system Erlang hidden; in a minimal Debian rootfs),
# on every toolchain users compile with: this machine's, then each suite
# of RELPACK_TOOLCHAINS (default "trixie sid": OTP 27 / Elixir 1.18 and
# OTP 29 / Elixir 1.20), in a root of that suite (scripts/toolchain.sh)
# where its own mix and rebar3 compile the fixtures and this checkout's
# relpack packages them. RELPACK_TOOLCHAINS= runs this machine's alone.
# Arguments go to `cargo test`. Needs root for unshare/chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

suite_on_this_machine() {
  scripts/setup.sh
  echo "test: minimal Debian rootfs at $(RELPACK_ROOTFS_INCLUDE=libsctp1 scripts/rootfs.sh)" >&2
  echo "test: $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().'), $(elixir --short-version 2>/dev/null | sed 's/^/Elixir /')" >&2
  cargo test --no-fail-fast "$@"

  # The library example, on a freshly compiled copy of the hello fixture.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -a fixtures/hello "$work/hello"
  rm -rf "$work/hello/_build"
  (cd "$work/hello" && MIX_ENV=prod mix compile >/dev/null)
  cargo run --quiet --example library -- "$work/hello" "$work/release"
  "$work/release/bin/hello" eval 'IO.puts(Hello.hello())' | grep -qx world
  echo "example: library example built a release that boots"
}

# Inside a toolchain root, or this machine's part: this suite alone.
if [[ -n ${RELPACK_TOOLCHAIN:-} ]]; then
  suite_on_this_machine "$@"
  exit 0
fi

status=0 summary=()
start=$SECONDS
# A process of its own: `set -e` holds there (not in an `if` condition).
if RELPACK_TOOLCHAIN=host scripts/test.sh "$@"; then result=passed; else result=FAILED status=1; fi
summary+=("this machine ($(cat /etc/debian_version)): $result in $((SECONDS - start)) s")

cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
for suite in ${RELPACK_TOOLCHAINS-trixie sid}; do
  start=$SECONDS
  echo "test: the whole suite on $suite's toolchain" >&2
  # The checkout and cargo's home at their own paths, so that the tests
  # built here are fresh there and nothing is compiled twice.
  if root=$(scripts/toolchain.sh "$suite") &&
    scripts/enter.sh --bind "$repo" --bind "$cargo_home" --ro "$rustup_home" \
      --env RELPACK_TOOLCHAIN="$suite" "$root" "scripts/test.sh $(printf '%q ' "$@")"; then
    result=passed
  else
    result=FAILED status=1
  fi
  summary+=("$suite: $result in $((SECONDS - start)) s (root built or checked included)")
done
printf 'test: %s\n' "${summary[@]}" >&2
exit "$status"
