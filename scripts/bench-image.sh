#!/usr/bin/env bash
# Container images, measured: `relpack image` against `relpack build` on
# the same compiled fixtures (hello, crypto, web), each RUNS times (default
# 5) from a clean output; the image's size as stored and unpacked; the
# classic final stage for comparison (the debootstrap minbase rootfs with
# the packages `relpack inspect --packages` lists, plus the release);
# `relpack image --push` to a loopback registry (Debian's docker-registry,
# plain HTTP): to a new repository (every blob uploaded) and again (every
# blob already there); and, in podman, the time from `podman run` to the
# web fixture's first HTTP answer. Prints a Markdown table. Run by scripts/bench.sh, or alone:
#
#   scripts/bench-image.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-5}
work=${RELPACK_BENCH_DIR:-$repo/target/bench}/image

scripts/setup.sh
cargo build --release --quiet
relpack=$repo/target/release/relpack
mkdir -p "$work"

# podman on this kind of VM: runc, and limits no higher than the host's.
export CONTAINERS_CONF=$work/containers.conf
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
prefix=relpack-bench-$$
# The registry: on a free loopback port, storage in the work directory.
registry_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf "$work/registry" && mkdir -p "$work/registry"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry/data" "$registry_port" >"$work/registry/config.yml"
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true; podman rm -f -t 0 "$prefix-web" >/dev/null 2>&1 || true; podman rmi -f "$prefix/web:1" >/dev/null 2>&1 || true' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$registry_port") 2>/dev/null; do sleep 0.1; done

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
seconds() { awk -v now="$(date +%s.%N)" -v t0="$1" 'BEGIN { printf "%.3f\n", now - t0 }'; }

: >"$work/table"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for name in hello crypto web; do
  dir=$work/$name
  if [ ! -f "$dir/.compiled" ]; then
    rm -rf "$dir" && cp -a "$repo/fixtures/$name" "$dir" && rm -rf "$dir/_build"
    echo "bench-image: compiling $name with mix (once)" >&2
    (cd "$dir" && MIX_ENV=prod mix compile >/dev/null)
    touch "$dir/.compiled"
  fi
  : >"$work/$name.build" && : >"$work/$name.image" && : >"$work/$name.push" && : >"$work/$name.again"
  for r in $(seq "$runs"); do
    echo "bench-image: $name run $r/$runs" >&2
    rm -rf "$dir/_build/prod/rel" "$dir/_build/prod/"*.tar.gz "$dir/_build/prod/relpack-cache" && sync
    t0=$(date +%s.%N)
    "$relpack" build --path "$dir" --quiet
    seconds "$t0" >>"$work/$name.build"
    rm -rf "$dir/_build/prod/rel" "$work/$name.tar" && sync
    t0=$(date +%s.%N)
    "$relpack" image --path "$dir" --tag "$prefix/$name:1" --expose 4000 --out "$work/$name.tar" --json >"$work/$name.json"
    seconds "$t0" >>"$work/$name.image"
    for kind in push again; do
      rm -rf "$dir/_build/prod/rel" && sync
      t0=$(date +%s.%N)
      "$relpack" image --path "$dir" --tag "$prefix/$name:1" --out "$work/$name.tar" --quiet \
        --push "127.0.0.1:$registry_port/bench/$name-$r:1"
      seconds "$t0" >>"$work/$name.$kind"
    done
  done
  stored=$(stat -c %s "$work/$name.tar")
  unpacked=$(sed -n 's/^  "uncompressed": \([0-9]*\),*$/\1/p' "$work/$name.json")
  packages=$("$relpack" inspect --path "$dir" --packages | paste -sd, -)
  rootfs=$(RELPACK_ROOTFS_INCLUDE=$packages scripts/rootfs.sh)
  classic=$(($(du -sb --exclude=./.relpack-complete "$rootfs" | cut -f1) + $(du -sb "$dir/_build/prod/rel" | cut -f1)))
  awk -v n="$name" -v b="$(median <"$work/$name.build")" -v i="$(median <"$work/$name.image")" \
    -v p="$(median <"$work/$name.push")" -v a="$(median <"$work/$name.again")" \
    -v s="$stored" -v u="$unpacked" -v c="$classic" 'BEGIN {
      printf "| %s | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f |\n", n, b, i, p, a, s / 1e6, u / 1e6, c / 1e6
    }' >>"$work/table"
done

# From `podman run -d` to the first HTTP answer of the web fixture.
podman load -q -i "$work/web.tar" >/dev/null
: >"$work/start"
for r in $(seq "$runs"); do
  port=$((20000 + RANDOM % 20000))
  t0=$(date +%s.%N)
  podman run -d --name "$prefix-web" -p "127.0.0.1:$port:4000" "$prefix/web:1" >/dev/null
  until { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3 | grep -q 200; } 2>/dev/null; do
    sleep 0.02
  done
  exec 3>&-
  seconds "$t0" >>"$work/start"
  podman rm -f -t 10 "$prefix-web" >/dev/null
done

echo
echo "Images: $runs runs each, medians; $(nproc) cores, load average $load_before before and $(cut -d' ' -f1-3 /proc/loadavg) after; $(podman --version)"
echo
echo "| fixture | relpack build (s) | relpack image (s) | image --push, new repository (s) | image --push, again (s) | image stored (MB) | image unpacked (MB) | minbase + packages + release (MB) |"
echo "|---|---|---|---|---|---|---|---|"
cat "$work/table"
echo
echo "web: podman run to first HTTP answer $(median <"$work/start") s (median of $runs)"
