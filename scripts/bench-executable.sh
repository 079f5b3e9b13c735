#!/usr/bin/env bash
# The one-file executable of fixtures/hello, measured in DIR (scripts/bench.sh
# runs it on its journaled ext4 image): what `--executable` adds to a build
# (from a clean output), the executable's size, and the wall time to `eval`
# output of a first run (digest check and extraction into an empty cache)
# and of later runs (extraction reused), beside `bin/hello eval` run from
# the unpacked tarball. Medians of RUNS (default 5); a Markdown table.
#
#   scripts/bench-executable.sh [RUNS] DIR
#
# Needs target/release/relpack (scripts/bench.sh builds it) and mix.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-5}
work=${2:?usage: scripts/bench-executable.sh [RUNS] DIR}
relpack=$repo/target/release/relpack
[ -x "$relpack" ] || cargo build --release --quiet
mkdir -p "$work"
project=$work/hello
if [ ! -f "$work/.compiled" ]; then
  rm -rf "$project" && cp -a "$repo/fixtures/hello" "$project" && rm -rf "$project/_build"
  echo "bench-executable: compiling hello with mix (once)" >&2
  (cd "$project" && MIX_ENV=prod mix compile >/dev/null)
  touch "$work/.compiled"
fi
out=$project/_build/prod
export RELPACK_EXTRACT_DIR=$work/cache
expr='IO.puts(Hello.hello())'

seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", (e - s) / 1e9 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
clean_output() { rm -rf "$out/rel" "$out"/hello-*.tar.gz "$out"/hello-*.run "$out/relpack-cache"; sync; }

: >"$work/plain" && : >"$work/exe" && : >"$work/first" && : >"$work/later" && : >"$work/direct"
"$relpack" build --path "$project" --executable --quiet # warms the page cache
for r in $(seq "$runs"); do
  echo "bench-executable: run $r/$runs" >&2
  clean_output
  seconds "$relpack" build --path "$project" --quiet >>"$work/plain"
  clean_output
  seconds "$relpack" build --path "$project" --executable --quiet >>"$work/exe"
done
run=$work/hello.run
cp "$out/hello-0.1.0.run" "$run"
rm -rf "$work/unpacked" && mkdir -p "$work/unpacked" && tar xzf "$out/hello-0.1.0.tar.gz" -C "$work/unpacked"
for r in $(seq "$runs"); do
  rm -rf "$RELPACK_EXTRACT_DIR" && sync
  seconds "$run" eval "$expr" >>"$work/first"
  seconds "$run" eval "$expr" >>"$work/later"
  seconds "$work/unpacked/bin/hello" eval "$expr" >>"$work/direct"
done
[ "$("$run" eval "$expr")" = world ] || { echo "bench-executable: the executable does not print world" >&2; exit 1; }

plain=$(median <"$work/plain")
exe=$(median <"$work/exe")
awk -v p="$plain" -v e="$exe" -v runs="$runs" \
  -v es="$(stat -c %s "$run")" -v ts="$(stat -c %s "$out/hello-0.1.0.tar.gz")" \
  -v f="$(median <"$work/first")" -v l="$(median <"$work/later")" -v d="$(median <"$work/direct")" 'BEGIN {
    printf "hello, %d runs each, medians (wall time)\n\n", runs
    print "| measure | value |"
    print "|---|---|"
    printf "| build, tarball only (s) | %.3f |\n", p
    printf "| build with --executable (s) | %.3f (+%.3f) |\n", e, e - p
    printf "| executable (MB) | %.2f (tarball %.2f + header %d bytes) |\n", es / 1e6, ts / 1e6, es - ts
    printf "| first run to eval output, extraction included (s) | %.3f |\n", f
    printf "| later runs to eval output (s) | %.3f |\n", l
    printf "| bin/hello eval from the unpacked tarball (s) | %.3f |\n", d
  }'
