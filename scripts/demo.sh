#!/usr/bin/env bash
# The main job on the shipped example: compile fixtures/hello with mix,
# package it with relpack, unpack the tarball elsewhere and boot it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a fixtures/hello "$work/hello"
rm -rf "$work/hello/_build"
(cd "$work/hello" && MIX_ENV=prod mix compile)
target/release/relpack build --path "$work/hello" --env prod
mkdir "$work/unpacked"
tar xzf "$work/hello/_build/prod/hello-0.1.0.tar.gz" -C "$work/unpacked"
echo "Booting the unpacked release:"
"$work/unpacked/bin/hello" eval 'IO.puts("Hello.hello() = #{inspect(Hello.hello())}")'
