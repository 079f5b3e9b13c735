#!/usr/bin/env bash
# Releases for arm64 built on this amd64 machine, measured against what a
# `docker buildx --platform linux/arm64` user pays: for each fixture (hello,
# crypto, web), in one run,
#   - the host compile (`MIX_ENV=prod mix compile` from a clean _build),
#   - `relpack build` for this machine and `relpack build --target
#     aarch64-linux-gnu --target-root <arm64 root>` (median of RUNS),
#   - the arm64 image's size (`relpack image --platform linux/arm64`),
#   - the arm64 release's `eval` under QEMU in the arm64 root,
#   - and the emulated alternative: the same fixture compiled and released
#     with `mix release` inside an arm64 root with Elixir, under QEMU.
# Prints a Markdown table. The roots come from scripts/rootfs.sh (QEMU
# from scripts/qemu.sh); the one with Elixir takes minutes the first time.
#
#   scripts/bench-cross.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-3}
work=${RELPACK_BENCH_DIR:-$repo/target/bench}/cross

scripts/setup.sh
cargo build --release --quiet
relpack=$repo/target/release/relpack
scripts/qemu.sh >/dev/null
root=$(RELPACK_ROOTFS_ARCH=arm64 RELPACK_ROOTFS_INCLUDE=erlang-base,erlang-crypto,erlang-xmerl,libsctp1 scripts/rootfs.sh)
echo "bench-cross: an arm64 root with Elixir (the emulated build's)" >&2
elixir_root=$(RELPACK_ROOTFS_ARCH=arm64 RELPACK_ROOTFS_INCLUDE=elixir,erlang-crypto,erlang-xmerl,libsctp1 scripts/rootfs.sh)
mkdir -p "$work"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
seconds() { awk -v now="$(date +%s.%N)" -v t0="$1" 'BEGIN { printf "%.2f\n", now - t0 }'; }
# `chroot ROOT CMD` with /proc and /dev, ROOT's /mnt bound to $2.
in_root() {
  local r=$1 mnt=$2
  shift 2
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare -m sh -c 'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && mount --bind "$1" "$0/mnt" && shift && exec chroot "$0" "$@"' \
    "$r" "$mnt" env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}

printf '| fixture | host compile | relpack build (host) | relpack build --target arm64 | arm64 image | eval under QEMU | mix release under QEMU (compile included) | host compile + --target build |\n|---|---|---|---|---|---|---|---|\n' >"$work/table"
for name in hello crypto web; do
  dir=$work/$name
  rm -rf "$dir" && cp -a "$repo/fixtures/$name" "$dir" && rm -rf "$dir/_build"
  t0=$(date +%s.%N)
  (cd "$dir" && MIX_ENV=prod mix compile >/dev/null)
  compile=$(seconds "$t0")
  : >"$work/$name.host" && : >"$work/$name.arm64"
  for r in $(seq "$runs"); do
    echo "bench-cross: $name run $r/$runs" >&2
    rm -rf "$dir/_build/prod/rel" "$dir/_build/prod/"*.tar.gz "$dir/_build/prod/relpack-cache" && sync
    t0=$(date +%s.%N)
    "$relpack" build --path "$dir" --quiet
    seconds "$t0" >>"$work/$name.host"
    rm -rf "$dir/_build/prod/rel" "$dir/_build/prod/"*.tar.gz "$dir/_build/prod/relpack-cache" && sync
    t0=$(date +%s.%N)
    "$relpack" build --path "$dir" --quiet --target aarch64-linux-gnu --target-root "$root"
    seconds "$t0" >>"$work/$name.arm64"
  done
  host=$(median <"$work/$name.host")
  arm64=$(median <"$work/$name.arm64")
  "$relpack" image --path "$dir" --platform linux/arm64 --target-root "$root" --out "$work/$name-arm64.tar" --json >"$work/$name.image.json"
  size=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.1f MB (%.1f MB unpacked)" % (r["size"]/1e6, r["uncompressed"]/1e6))' "$work/$name.image.json")
  release=$(find "$dir/_build/prod/rel" -mindepth 1 -maxdepth 1 -type d | head -1)
  bin=$(basename "$release")
  expr='IO.puts(:erlang.system_info(:system_architecture))'
  t0=$(date +%s.%N)
  in_root "$root" "$release" "/mnt/bin/$bin" eval "$expr" | grep -q '^aarch64'
  boot=$(seconds "$t0")
  # The emulated alternative, as a buildx user pays it: compile and
  # release inside the arm64 root.
  rm -rf "$work/emulated" && mkdir -p "$work/emulated" && cp -a "$repo/fixtures/$name" "$work/emulated/$name" && rm -rf "$work/emulated/$name/_build"
  echo "bench-cross: $name: mix release under QEMU" >&2
  t0=$(date +%s.%N)
  in_root "$elixir_root" "$work/emulated" sh -c "cd /mnt/$name && MIX_ENV=prod mix release --overwrite >/dev/null"
  emulated=$(seconds "$t0")
  total=$(awk -v a="$compile" -v b="$arm64" 'BEGIN { printf "%.2f", a + b }')
  printf '| %s | %s s | %s s | %s s | %s | %s s | %s s | %s s |\n' \
    "$name" "$compile" "$host" "$arm64" "$size" "$boot" "$emulated" "$total" >>"$work/table"
done
echo "QEMU: $("$(scripts/qemu.sh)" --version | head -1); $(nproc) cores; RUNS=$runs" >&2
cat "$work/table"
