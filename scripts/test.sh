#!/usr/bin/env bash
# The full test suite: unit tests, the systools/mix release oracles, and the
# end-to-end tests that compile the fixtures with mix, package them with
# relpack and boot them (system Erlang hidden; in a minimal Debian rootfs).
# Needs root for unshare/chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "test: minimal Debian rootfs at $(scripts/rootfs.sh)" >&2
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
