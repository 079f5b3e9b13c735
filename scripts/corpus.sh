#!/usr/bin/env bash
# Runs `relpack config` over a directory of real projects' configuration
# files, one project per subdirectory laid out as the project has it
# (mix.exs, rel/config.exs, config/*.exs), and prints a table: each file
# (mix.exs, rel/config.exs, the config/config.exs set) read on its own with
# `relpack config --file`, then the whole project with `relpack config`;
# the outcome and, for a failure, relpack's one-line message.
#
#   scripts/corpus.sh DIR [relpack config options, e.g. --no-elixir]
#
# Outcomes:
#   native   read without starting a BEAM
#   elixir   read with the `elixir` fallback
#   error    relpack stopped with a one-line message naming file:line
#   PANIC    relpack crashed (a bug: it must never happen)
# For a file read, the detail lists the releases it declares.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [relpack config options]" >&2; exit 2; }
corpus=$(cd "$1" && pwd)
shift
cd "$(dirname "$0")/.."
cargo build --quiet --release
relpack=$PWD/target/release/relpack
err=$(mktemp)
trap 'rm -f "$err"' EXIT

files=0 files_read=0 projects=0 projects_read=0 panics=0
# One run: prints the table row, counts it. $1 project, $2 what, then args.
measure() {
  local project=$1 what=$2 out code outcome detail releases
  shift 2
  set +e
  out=$(cd "$corpus/$project" && MIX_ENV=prod "$relpack" config --env prod "$@" 2>"$err")
  code=$?
  set -e
  if [ $code -eq 0 ]; then
    outcome=native
    grep -q "evaluation = elixir" <<<"$out" && outcome=elixir
    releases=$(grep -oE '^release\.(name = [A-Za-z0-9_]+|[A-Za-z0-9_]+ = defined)' <<<"$out" |
      sed -E 's/^release\.name = //; s/^release\.//; s/ = defined//' | paste -sd, - || true)
    detail="releases: ${releases:-none}"
  elif [ $code -ge 101 ]; then
    outcome=PANIC detail=$(head -c 300 "$err" | tr '\n' ' ')
    panics=$((panics + 1))
  else
    outcome=error detail=$(head -c 300 "$err" | tr '\n' ' ')
  fi
  printf '%-50s %-16s %-7s %s\n' "$project" "$what" "$outcome" "$detail"
  [ $code -eq 0 ]
}

printf '%-50s %-16s %-7s %s\n' project file outcome detail
for dir in "$corpus"/*/; do
  project=$(basename "$dir")
  [ -f "$dir/mix.exs" ] || continue
  for file in mix.exs rel/config.exs config/config.exs; do
    [ -f "$dir/$file" ] || continue
    files=$((files + 1))
    if measure "$project" "$file" --file "$file" "$@"; then files_read=$((files_read + 1)); fi
  done
  projects=$((projects + 1))
  if measure "$project" "(project)" "$@"; then projects_read=$((projects_read + 1)); fi
done
echo
echo "files read: $files_read of $files ($((files ? files_read * 100 / files : 0)) %)"
echo "projects read whole: $projects_read of $projects ($((projects ? projects_read * 100 / projects : 0)) %)"
echo "panics: $panics"
