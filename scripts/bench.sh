#!/usr/bin/env bash
# relpack against `mix release` on the same compiled projects, in one run:
# fixtures/hello and a generated umbrella (42 apps, ~3,000 modules, plus
# Debian's jiffy, lager and cowlib and OTP's ssl/inets/mnesia/xmerl...).
# Each tool builds each project RUNS times (default 5), alternating, from a
# clean output (no release directory, no tarball, no relpack cache); relpack
# is then also timed rebuilding with nothing changed (its cache warm).
# Prints the medians and relpack/mix ratios of wall time, peak RSS, tarball
# size and unpacked size as a Markdown table.
#
#   scripts/bench.sh [RUNS]
#
# Work files go to $RELPACK_BENCH_DIR (default target/bench/<Debian
# version>, one per toolchain); the large project is generated and
# compiled there once and reused. `mix release` runs with --no-compile, as
# relpack compiles nothing either. In a toolchain root (scripts/enter.sh
# with the checkout mounted, see scripts/test.sh) it measures that
# toolchain's mix.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-5}
# One work directory per toolchain: the projects are compiled by it.
work=${RELPACK_BENCH_DIR:-$repo/target/bench/$(tr / - </etc/debian_version)}

scripts/setup.sh
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
for pkg in erlang-lager erlang-cowlib; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ -n "${missing[*]:-}" ]; then
  echo "bench: installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
cargo build --release --quiet
relpack=$repo/target/release/relpack
mkdir -p "$work"

# The umbrella: app_NN depends on app_(NN-1), so releasing the last one
# ships them all; app_01 brings the OTP and Debian applications.
readonly LARGE_APPS=42 LARGE_MODULES=70
gen_large() {
  local dir=$1 i m prev deps extra
  rm -rf "$dir"
  mkdir -p "$dir/apps"
  cat >"$dir/mix.exs" <<EOF
defmodule Large.MixProject do
  use Mix.Project

  def project do
    [
      apps_path: "apps",
      version: "1.0.0",
      deps: [],
      releases: [
        large: [
          version: "1.0.0",
          applications: [app_$LARGE_APPS: :permanent],
          steps: [:assemble, :tar]
        ]
      ]
    ]
  end
end
EOF
  for i in $(seq -w 1 "$LARGE_APPS"); do
    prev=$(printf '%02d' $((10#$i - 1)))
    if [ "$i" = 01 ]; then
      deps=""
      extra=":crypto, :ssl, :inets, :mnesia, :xmerl, :public_key, :runtime_tools, :os_mon, :jiffy, :lager, :cowlib"
    else
      deps="{:app_$prev, in_umbrella: true}"
      extra=""
    fi
    mkdir -p "$dir/apps/app_$i/lib/app_$i"
    cat >"$dir/apps/app_$i/mix.exs" <<EOF
defmodule App$i.MixProject do
  use Mix.Project

  def project do
    [
      app: :app_$i,
      version: "1.0.0",
      build_path: "../../_build",
      config_path: "../../config/config.exs",
      deps_path: "../../deps",
      lockfile: "../../mix.lock",
      elixir: "~> 1.14",
      deps: [$deps]
    ]
  end

  def application, do: [extra_applications: [:logger${extra:+, $extra}]]
end
EOF
    for m in $(seq -w 1 "$LARGE_MODULES"); do
      cat >"$dir/apps/app_$i/lib/app_$i/mod_$m.ex" <<EOF
defmodule App$i.Mod$m do
  @moduledoc "Module $m of application $i, generated for relpack's benchmark."
  defstruct [:id, :name, tags: []]

  @doc "Adds two numbers."
  def add(a, b), do: a + b

  @doc "Formats a record."
  def format(%__MODULE__{id: id, name: name, tags: tags}),
    do: "#{id}:#{name}:#{Enum.join(tags, ",")}"

  def classify(x) when is_integer(x) and x > $m, do: :big
  def classify(x) when is_integer(x), do: :small
  def classify(x) when is_binary(x), do: {:text, String.length(x)}
  def classify(_), do: :other

  def pipeline(list) do
    list
    |> Enum.map(&(&1 * $((10#$m))))
    |> Enum.filter(&(rem(&1, 3) == 0))
    |> Enum.reduce(%{}, fn x, acc -> Map.update(acc, rem(x, 7), 1, &(&1 + 1)) end)
  end

  def lookup(key) do
    case key do
      :a -> {:ok, "alpha $i $m"}
      :b -> {:ok, "beta $i $m"}
      :c -> {:ok, "gamma $i $m"}
      other -> {:error, {:unknown, other, __MODULE__}}
    end
  end
end
EOF
    done
  done
  mkdir -p "$dir/config"
  echo 'import Config' >"$dir/config/config.exs"
}

# A compiled copy of a project for each tool (their tarballs would collide).
prepare() {
  local name=$1 src=$2
  local base=$work/$name
  if [ ! -f "$base/.compiled" ]; then
    rm -rf "$base"
    mkdir -p "$base"
    cp -a "$src" "$base/mix"
    rm -rf "$base/mix/_build"
    echo "bench: compiling $name with mix (once)" >&2
    (cd "$base/mix" && MIX_ENV=prod mix compile >/dev/null)
    cp -a "$base/mix" "$base/relpack"
    touch "$base/.compiled"
  fi
}

prepare hello "$repo/fixtures/hello"
# mix release makes a tarball only when asked, in the release's steps.
sed -i 's/releases: \[hello: \[\]\]/releases: [hello: [steps: [:assemble, :tar]]]/' "$work/hello/mix/mix.exs"
if [ ! -f "$work/large/.compiled" ]; then
  gen_large "$work/large-src"
fi
prepare large "$work/large-src"

# The runs happen on a fresh ext4 image with a journal, loop-mounted, as
# on most machines and Docker hosts. This machine's own ext4 has no
# journal, and there every file creation scans past each inode freed in
# the last minutes (recently_deleted() in the kernel's fs/ext4/ialloc.c,
# for journal-less ext4 only): with the previous release just deleted,
# both tools' file creation turns quadratic (perf: 80% of relpack's time
# on the large project goes there) and the figures measure the kernel.
# RELPACK_BENCH_IN_PLACE=1 runs in $work instead.
runfs=$work/fs
if mountpoint -q "$runfs"; then umount "$runfs"; fi
if [ "${RELPACK_BENCH_IN_PLACE:-0}" = 1 ]; then
  runfs=$work/in-place && rm -rf "$runfs" && mkdir -p "$runfs"
else
  rm -f "$work/fs.img" && truncate -s 4G "$work/fs.img"
  # Inode tables and journal initialized now, not by a kernel thread
  # writing in the background during the runs.
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$work/fs.img"
  mkdir -p "$runfs" && mount -o loop "$work/fs.img" "$runfs"
  trap 'umount "$runfs" && rm -f "$work/fs.img"' EXIT
fi
cp -a "$work/hello" "$work/large" "$runfs/"

# Runs a command under /usr/bin/time; prints "seconds max_rss_kb".
timed() {
  local out=$work/time.out
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$work/cmd.err" || {
    cat "$work/cmd.err" >&2
    return 1
  }
  tail -n 1 "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

unpacked_bytes() {
  local dir=$runfs/unpacked
  rm -rf "$dir" && mkdir -p "$dir"
  tar xf "$1" -C "$dir"
  du -sb "$dir" | cut -f1
}

# bench NAME RELEASE VSN RELPACK_ARGS...
bench() {
  local name=$1 rel=$2 vsn=$3
  shift 3
  local mixdir=$runfs/$name/mix rpdir=$runfs/$name/relpack tarball r
  : >"$work/$name.mix" && : >"$work/$name.relpack" && : >"$work/$name.warm"
  # One untimed run each: warms the page cache and mix's own checks.
  (cd "$mixdir" && MIX_ENV=prod mix release --no-compile --overwrite --quiet >/dev/null)
  "$relpack" build --path "$rpdir" "$@" >/dev/null
  for r in $(seq "$runs"); do
    echo "bench: $name run $r/$runs" >&2
    rm -rf "$mixdir/_build/prod/rel" "$mixdir/_build/prod/$rel-$vsn.tar.gz"
    sync
    (cd "$mixdir" && timed env MIX_ENV=prod mix release --no-compile --overwrite --quiet) >>"$work/$name.mix"
    rm -rf "$rpdir/_build/prod/rel" "$rpdir/_build/prod/$rel-$vsn.tar.gz" "$rpdir/_build/prod/relpack-cache"
    sync
    timed "$relpack" build --path "$rpdir" "$@" >>"$work/$name.relpack"
    timed "$relpack" build --path "$rpdir" "$@" >>"$work/$name.warm"
  done
  tarball=$mixdir/_build/prod/$rel-$vsn.tar.gz
  mix_tar=$(stat -c %s "$tarball")
  mix_unpacked=$(unpacked_bytes "$tarball")
  tarball=$rpdir/_build/prod/$rel-$vsn.tar.gz
  rp_tar=$(stat -c %s "$tarball")
  rp_unpacked=$(unpacked_bytes "$tarball")
  rp_files=$(tar tzf "$tarball" | wc -l)
  mix_s=$(cut -d' ' -f1 "$work/$name.mix" | median)
  mix_kb=$(cut -d' ' -f2 "$work/$name.mix" | median)
  rp_s=$(cut -d' ' -f1 "$work/$name.relpack" | median)
  rp_kb=$(cut -d' ' -f2 "$work/$name.relpack" | median)
  warm_s=$(cut -d' ' -f1 "$work/$name.warm" | median)
  warm_kb=$(cut -d' ' -f2 "$work/$name.warm" | median)
  # The file system's share: copying the release directory with `cp -a`
  # creates the same files and writes the same bytes, with no stripping,
  # hashing or compressing.
  : >"$work/$name.cp"
  for r in $(seq "$runs"); do
    rm -rf "$runfs/cp-copy" && sync
    timed cp -a "$rpdir/_build/prod/rel" "$runfs/cp-copy" >>"$work/$name.cp"
  done
  cp_s=$(cut -d' ' -f1 "$work/$name.cp" | median)
  # What relpack writes: the release directory and the tarball.
  echo "$name $rp_s $((rp_unpacked + rp_tar)) $rp_files $cp_s" >>"$work/growth"
  awk -v n="$name ($rp_files files)" -v ms="$mix_s" -v rs="$rp_s" -v ws="$warm_s" \
    -v mk="$mix_kb" -v rk="$rp_kb" -v wk="$warm_kb" -v mt="$mix_tar" -v rt="$rp_tar" \
    -v mu="$mix_unpacked" -v ru="$rp_unpacked" 'BEGIN {
      printf "| %s | wall time (s) | %.2f | %.3f | %.3f |\n", n, ms, rs, rs / ms
      printf "| | peak RSS (MB) | %.1f | %.1f | %.2f |\n", mk / 1024, rk / 1024, rk / mk
      printf "| | tarball (MB) | %.2f | %.2f | %.2f |\n", mt / 1e6, rt / 1e6, rt / mt
      printf "| | unpacked (MB) | %.2f | %.2f | %.2f |\n", mu / 1e6, ru / 1e6, ru / mu
      printf "| | rebuild, nothing changed (s) | | %.3f (%.1f MB RSS) | %.3f |\n", ws, wk / 1024, ws / ms
    }' >>"$work/table"
}

# What --upgrade costs: the large project with app_NN at 1.0.1 and one of
# its modules changed, built as release 1.0.1 from the same start each
# time (release 1.0.0 in the output directory, its cache warm), plainly and
# with --upgrade (appups, relup, the upgrade package, 1.0.0 kept).
bench_upgrade() {
  local dir=$runfs/large/relpack base=$work/upgrade-base app=app_$LARGE_APPS kind r
  local args=(build --path "$dir" --name large --app "$app")
  rm -rf "$dir/_build/prod/rel" "$dir/_build/prod/relpack-cache" "$dir"/_build/prod/large-*.tar.gz
  "$relpack" "${args[@]}" --release-version 1.0.0 >/dev/null
  sed -i 's/version: "1.0.0"/version: "1.0.1"/' "$dir/apps/$app/mix.exs"
  sed -i 's/:big/:large/' "$dir/apps/$app/lib/$app/mod_01.ex"
  (cd "$dir" && MIX_ENV=prod mix compile >/dev/null)
  rm -rf "$base" && mkdir -p "$base" && cp -a "$dir/_build/prod/rel" "$dir/_build/prod/relpack-cache" "$base/"
  : >"$work/upgrade.plain" && : >"$work/upgrade.upgrade"
  for r in $(seq "$runs"); do
    echo "bench: upgrade run $r/$runs" >&2
    for kind in plain upgrade; do
      rm -rf "$dir/_build/prod/rel" "$dir/_build/prod/relpack-cache" "$dir/_build/prod/large-1.0.1.tar.gz"
      cp -a "$base/rel" "$base/relpack-cache" "$dir/_build/prod/" && sync
      if [ "$kind" = plain ]; then
        timed "$relpack" "${args[@]}" --release-version 1.0.1 >>"$work/upgrade.plain"
      else
        timed "$relpack" "${args[@]}" --release-version 1.0.1 --upgrade >>"$work/upgrade.upgrade"
      fi
    done
  done
  awk -v app="$app" -v p="$(cut -d' ' -f1 "$work/upgrade.plain" | median)" \
    -v u="$(cut -d' ' -f1 "$work/upgrade.upgrade" | median)" \
    -v pk="$(cut -d' ' -f2 "$work/upgrade.plain" | median)" \
    -v uk="$(cut -d' ' -f2 "$work/upgrade.upgrade" | median)" \
    -v pkg="$(stat -c %s "$dir/_build/prod/rel/large/releases/1.0.1/large.tar.gz")" 'BEGIN {
      printf "large, %s changed, release 1.0.1 from 1.0.0: plain build %.3f s (%.1f MB RSS), --upgrade %.3f s (%.1f MB RSS), x%.2f; upgrade package %.2f MB\n", app, p, pk / 1024, u, uk / 1024, u / p, pkg / 1e6
    }' >"$work/upgrade"
}

: >"$work/table" && : >"$work/growth"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench hello hello 0.1.0
bench large large 1.0.0 --name large --release-version 1.0.0 --app app_$LARGE_APPS
bench_upgrade

echo
echo "$runs runs each, medians; $(nproc) cores, load average $load_before before and $(cut -d' ' -f1-3 /proc/loadavg) after; $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().'), $(elixir --version | tail -n 1)"
echo
echo "| project | measure | mix release | relpack | relpack/mix |"
echo "|---|---|---|---|---|"
cat "$work/table"
echo
awk 'NR == 1 {s = $2; b = $3; f = $4; c = $5} NR == 2 {
  printf "large/hello: relpack time x%.1f, bytes written x%.1f, files written x%.1f; cp -a of the release directory x%.1f (%.3f s, %.3f s)\n", $2 / s, $3 / b, $4 / f, $5 / c, c, $5 }' "$work/growth"
cat "$work/upgrade"

echo
# The one-file executable, on the same file system.
scripts/bench-executable.sh "$runs" "$runfs/executable"
echo
# Container images (relpack image, sizes, start in podman).
scripts/bench-image.sh "$runs"
