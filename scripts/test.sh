#!/usr/bin/env bash
# The full test suite: unit tests, the systools/mix release oracles, and the
# end-to-end tests that compile the fixtures with mix, package them with
# relpack and boot them (system Erlang hidden; in a minimal Debian rootfs).
# Needs root for unshare/chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "test: minimal Debian rootfs at $(scripts/rootfs.sh)" >&2
cargo test "$@"
