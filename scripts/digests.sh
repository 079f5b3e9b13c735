#!/usr/bin/env bash
# The sha256 of every fixture's tarball and one-file executable, built by
# RELPACK (default: this checkout's release build) with a fixed cookie.
# Each fixture is compiled once into WORKDIR and kept, so a later run with
# another relpack build compares byte for byte: run it before and after a
# change that must not change the output, and diff the two listings.
#
#   scripts/digests.sh WORKDIR [RELPACK] > digests.txt
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$1
relpack=${2:-$repo/target/release/relpack}
[ -x "$relpack" ] || (cd "$repo" && cargo build --release --quiet)
mkdir -p "$work"
for f in configured crypto distillery hello included nif rebar_hello umbrella upgrader web shapes; do
  p=$work/$f
  if [ ! -d "$p" ]; then
    cp -r "$repo/fixtures/$f" "$p"
    rm -rf "$p/_build"
    if [ -f "$p/rebar.config" ]; then
      (cd "$p" && rebar3 compile >/dev/null)
    else
      (cd "$p" && MIX_ENV=prod mix compile >/dev/null)
    fi
  fi
  rm -rf "$p"/_build/*/rel "$p"/_build/*/relpack-cache "$p"/_build/*/*.tar.gz "$p"/_build/*/*.run
  (cd "$p" && "$relpack" build -q --cookie fixed-digest-cookie --executable)
  for t in "$p"/_build/*/*.tar.gz "$p"/_build/*/*.run; do
    echo "$(sha256sum <"$t" | cut -c1-64)  $f/$(basename "$t")"
  done
done
