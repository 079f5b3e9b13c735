#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 300 s each),
# seeding the corpora from the real OTP installation (.app/.rel/.script
# texts, .boot files, shared objects) and, for the configuration readers,
# from the project's fixtures and tests/config_corpus. Prints one summary
# line per target; exits non-zero if any target found a crash (artifacts
# in fuzz/artifacts).
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 enables them on stable.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
otp=${OTP_ROOT:-/usr/lib/erlang}
export RUSTC_BOOTSTRAP=1

seed() { # target, find arguments...
  local dir=fuzz/corpus/$1
  shift
  mkdir -p "$dir"
  find "$otp" "$@" -size -64k -print0 2>/dev/null | head -z -n 200 |
    while IFS= read -r -d '' f; do cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"; done
}
seed term_text \( -name '*.app' -o -name '*.rel' -o -name '*.script' -o -name '*.config' \) -type f
seed app_file -name '*.app' -type f
seed etf -name '*.boot' -type f
seed elf \( -name '*.so' -o -name 'erl_child_setup' -o -name 'heart' \) -type f
# The config readers' seeds are the project's own fixtures and corpus.
seed_local() { # target, file name pattern, directories...
  local dir=fuzz/corpus/$1 name=$2
  shift 2
  mkdir -p "$dir"
  find "$@" -name "$name" -size -64k -type f -print0 |
    while IFS= read -r -d '' f; do cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"; done
}
seed_local elixir_config '*.exs' fixtures tests
seed_local rebar_config rebar.config fixtures
# The corpus's m_*.exs are mix.exs files; its config files exercise the
# same evaluator.
seed_local mix_exs mix.exs fixtures
seed_local mix_exs '*.exs' tests/config_corpus

status=0
for target in ${FUZZ_TARGETS:-term_text etf app_file elf elixir_config rebar_config mix_exs}; do
  log=$(mktemp)
  if cargo fuzz run -O "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=30 >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -40 "$log" >&2
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')
  rss=$(grep -Eo 'rss: [0-9]+Mb' "$log" | tail -1 || echo '?')
  echo "fuzz $target: $result, $runs runs in ${seconds}s, coverage $cov edges, peak $rss"
  rm -f "$log"
done
exit $status
