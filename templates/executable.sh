#!/bin/sh
# {{ name }} {{ vsn }}: a one-file executable made by relpack. After this
# header comes the release as a {{ codec }} tar archive, checked against the
# SHA-256 below before anything is extracted, then extracted once per user
# and digest; bin/{{ name }} runs from there. `--relpack-info` shows where.
# POSIX sh, tail, sha256sum, mktemp, mv -T, tar and gzip: what a minimal
# Debian (coreutils) or Alpine (busybox) has.
relpack_name={{ name }}
relpack_vsn={{ vsn_quoted }}
relpack_digest={{ digest }}
relpack_offset={{ offset }}
relpack_size={{ size }}
relpack_codec={{ codec }}
relpack_transient={{ transient }}
relpack_default={{ default_command }}

relpack_die() {
  printf '%s: error: %s\n' "$relpack_self" "$*" >&2
  exit 1
}

relpack_extracted() {
  [ -n "$relpack_dir" ] && [ -x "$relpack_dir/bin/$relpack_name" ]
}

relpack_payload() {
  tail -c +$((relpack_offset + 1)) "$relpack_self"
}

# The whole payload, byte for byte, or nothing runs.
relpack_verify() {
  [ -z "${relpack_verified:-}" ] || return 0
  if [ "$relpack_codec" = zstd ] && ! command -v zstd >/dev/null 2>&1; then
    relpack_die "needs \`zstd\` to unpack (built with --compress zstd): install it"
  fi
  relpack_sum=$(relpack_payload | sha256sum) || relpack_die "cannot read the payload"
  relpack_sum=${relpack_sum%% *}
  [ "$relpack_sum" = "$relpack_digest" ] ||
    relpack_die "corrupt: the payload's SHA-256 is $relpack_sum, not $relpack_digest as built; copy or build it again"
  relpack_verified=yes
}

relpack_unpack() {
  case $relpack_codec in
    gzip) relpack_payload | gzip -dc | tar -xf - -C "$1" ;;
    zstd) relpack_payload | zstd -dcq | tar -xf - -C "$1" ;;
    none) relpack_payload | tar -xf - -C "$1" ;;
  esac && [ -x "$1/bin/$relpack_name" ]
}

# This shell's start time: field 22 of /proc/PID/stat (ticks since boot),
# printed for PID $1; nothing, and status 1, when /proc cannot say.
relpack_started() {
  { read -r relpack_line <"/proc/$1/stat"; } 2>/dev/null || return 1
  # shellcheck disable=SC2086 # the fields after the command name
  set -- ${relpack_line##*) }
  [ $# -ge 20 ] || return 1
  shift 19
  printf '%s' "$1"
}

# Temporaries carry their owner: `.o<pid>_<start time>_<boot id>`. A run
# killed half-way (SIGKILL runs no trap) leaves one; a later run removes
# it once that process no longer runs, told soundly, whatever PIDs were
# reused, by the start time and the boot. Without /proc there is no
# owner, and such temporaries go after an hour.
relpack_boot=
{ read -r relpack_boot </proc/sys/kernel/random/boot_id; } 2>/dev/null
relpack_boot=${relpack_boot%%-*}
relpack_owner=
relpack_self_start=$(relpack_started $$) && [ -n "$relpack_boot" ] &&
  relpack_owner=.o$$_${relpack_self_start}_$relpack_boot

# Removes the temporary directories matching glob $1 whose owner is gone.
relpack_sweep() {
  for relpack_sw in $1; do
    [ -d "$relpack_sw" ] || continue
    relpack_sw_o=${relpack_sw%.??????}
    relpack_sw_o=${relpack_sw_o##*.o}
    relpack_sw_pid=${relpack_sw_o%%_*}
    relpack_sw_rest=${relpack_sw_o#*_}
    relpack_sw_start=${relpack_sw_rest%%_*}
    case $relpack_sw_pid:$relpack_sw_start in *[!0-9:]* | :* | *:) continue ;; esac
    if [ "${relpack_sw_rest#*_}" = "$relpack_boot" ] &&
      [ "$(relpack_started "$relpack_sw_pid")" = "$relpack_sw_start" ]; then
      continue
    fi
    rm -rf -- "$relpack_sw" 2>/dev/null
  done
  return 0
}

# Keeps this extraction and the most recent other one of the release;
# older ones, temporary directories of runs that are gone, and those
# without an owner left over an hour ago by interrupted runs, go. A directory leaves its name in one rename, so no
# run ever sees it half removed.
relpack_clean() {
  # shellcheck disable=SC2012 # newest first; the names are relpack's own
  ls -dt -- "$relpack_base/$relpack_name"-*/ 2>/dev/null | {
    relpack_kept=0
    while IFS= read -r relpack_old; do
      relpack_old=${relpack_old%/}
      # Only <name>-<vsn>-<sha256> directories holding bin/<name> are
      # extractions: nothing else in the directory is touched.
      relpack_tail=${relpack_old##*-}
      case $relpack_tail in *[!0-9a-f]*) continue ;; esac
      if [ "$relpack_old" = "$relpack_dir" ] || [ "${#relpack_tail}" -ne 64 ] ||
        [ ! -f "$relpack_old/bin/$relpack_name" ]; then
        continue
      fi
      relpack_kept=$((relpack_kept + 1))
      [ "$relpack_kept" -gt 1 ] || continue
      relpack_gone=$(mktemp -d "$relpack_base/.gone.XXXXXX") &&
        mv -- "$relpack_old" "$relpack_gone/" 2>/dev/null
      rm -rf -- "$relpack_gone"
    done
  }
  relpack_sweep "$relpack_base/.$relpack_name-*.o*_*_*.??????"
  find "$relpack_base" -maxdepth 1 \( -name ".$relpack_name-*-*.??????" -o -name '.gone.??????' \) \
    ! -name '*.o*_*_*.??????' -mmin +60 -exec rm -rf {} + 2>/dev/null
  return 0
}

# An interrupted extraction removes what it wrote. Set before the
# directory is made: a signal between mktemp and the trap left it behind.
relpack_remove_on_signals() {
  relpack_tmp=
  trap 'rm -rf -- "$relpack_tmp"; exit 130' INT
  trap 'rm -rf -- "$relpack_tmp"; exit 143' TERM
  trap 'rm -rf -- "$relpack_tmp"; exit 129' HUP
}

# Extracts into a fresh temporary directory beside the destination and
# renames it into place: when several runs race, one rename wins and the
# others remove their copy. Returns 1 when the cache is not writable.
relpack_extract() {
  (umask 077 && mkdir -p -- "$relpack_base") 2>/dev/null || return 1
  relpack_remove_on_signals
  relpack_tmp=$(mktemp -d "$relpack_base/.$relpack_key$relpack_owner.XXXXXX" 2>/dev/null) || {
    trap - INT TERM HUP
    return 1
  }
  # Another run may have finished while this one checked the digest.
  if relpack_extracted; then
    rmdir -- "$relpack_tmp"
    trap - INT TERM HUP
    return 0
  fi
  relpack_unpack "$relpack_tmp" || {
    rm -rf -- "$relpack_tmp"
    relpack_die "cannot extract into $relpack_base"
  }
  touch -- "$relpack_tmp"
  if mv -T -- "$relpack_tmp" "$relpack_dir" 2>/dev/null; then
    relpack_clean
  else
    rm -rf -- "$relpack_tmp"
    relpack_extracted || relpack_die "cannot move the extraction to $relpack_dir"
  fi
  trap - INT TERM HUP
}

# Extracts under $TMPDIR, runs, and removes the extraction. Not exec'd, so
# the shell stays to clean up: it passes TERM and HUP on to the release
# (an interrupt from the terminal reaches both) and exits with its status.
relpack_run_transient() {
  case $1 in
    start | daemon | reboot)
      relpack_die "\`$1\` from a transient extraction would lose its files while the node runs: run it without --transient, with a writable cache (RELPACK_EXTRACT_DIR)"
      ;;
  esac
  relpack_verify
  relpack_sweep "${TMPDIR:-/tmp}/relpack-$relpack_name.o*_*_*.??????"
  relpack_remove_on_signals
  relpack_tmp=$(mktemp -d "${TMPDIR:-/tmp}/relpack-$relpack_name$relpack_owner.XXXXXX") ||
    relpack_die "cannot create a directory under ${TMPDIR:-/tmp}"
  relpack_unpack "$relpack_tmp" || {
    rm -rf -- "$relpack_tmp"
    relpack_die "cannot extract into ${TMPDIR:-/tmp}"
  }
  # An asynchronous command's standard input is /dev/null unless redirected.
  { command exec 3<&0; } 2>/dev/null || exec 3</dev/null
  RELEASE_ROOT=$relpack_tmp "$relpack_tmp/bin/$relpack_name" "$@" 0<&3 3<&- &
  relpack_child=$!
  exec 3<&-
  trap 'kill -TERM "$relpack_child" 2>/dev/null' TERM
  trap 'kill -HUP "$relpack_child" 2>/dev/null' HUP
  trap ':' INT
  while :; do
    wait "$relpack_child"
    relpack_status=$?
    kill -0 "$relpack_child" 2>/dev/null || break
  done
  rm -rf -- "$relpack_tmp"
  exit "$relpack_status"
}

relpack_main() {
  relpack_self=$0
  relpack_action=run
  relpack_t=$relpack_transient
  while [ $# -gt 0 ]; do
    case $1 in
      --transient) relpack_t=true ;;
      --relpack-info) relpack_action=info ;;
      --relpack-extract-only) relpack_action=extract ;;
      *) break ;;
    esac
    shift
  done
  [ $# -gt 0 ] || set -- "$relpack_default"
  relpack_total=$((relpack_offset + relpack_size))
  relpack_actual=$(wc -c <"$relpack_self") || relpack_die "cannot read it"
  [ "$((relpack_actual + 0))" -eq "$relpack_total" ] ||
    relpack_die "truncated or corrupt: $((relpack_actual + 0)) bytes, $relpack_total as built; copy or build it again"

  relpack_key=$relpack_name-$relpack_vsn-$relpack_digest
  if [ -n "${RELPACK_EXTRACT_DIR:-}" ]; then
    relpack_base=$RELPACK_EXTRACT_DIR
  elif case ${XDG_CACHE_HOME:-} in /*) true ;; *) false ;; esac; then
    relpack_base=$XDG_CACHE_HOME/relpack
  elif [ -n "${HOME:-}" ]; then
    relpack_base=$HOME/.cache/relpack
  else
    # Not a shared directory such as /tmp/relpack-<uid>: someone else
    # could have put a release there first.
    relpack_base=
  fi
  case $relpack_base in /* | '') ;; *) relpack_base=$PWD/$relpack_base ;; esac
  relpack_dir=${relpack_base:+$relpack_base/$relpack_key}

  if [ "$relpack_action" = info ]; then
    if relpack_extracted; then
      relpack_state=extracted
    else
      relpack_state="not extracted"
    fi
    printf 'name: %s\nversion: %s\ndigest: sha256:%s\npayload: %s bytes, %s tar at byte %s\ncache: %s (%s)\ntransient by default: %s\n' \
      "$relpack_name" "$relpack_vsn" "$relpack_digest" "$relpack_size" "$relpack_codec" \
      "$relpack_offset" "${relpack_dir:-none: no RELPACK_EXTRACT_DIR, XDG_CACHE_HOME or HOME}" \
      "$relpack_state" "$relpack_transient"
    exit 0
  fi
  if [ "$relpack_action" = extract ] && [ "$relpack_t" = true ]; then
    relpack_die "--relpack-extract-only keeps the extraction: leave out --transient"
  fi
  if [ "$relpack_t" = false ] && ! relpack_extracted; then
    relpack_verify
    if [ -z "$relpack_base" ]; then
      relpack_why="no RELPACK_EXTRACT_DIR, XDG_CACHE_HOME or HOME to extract to"
    elif ! relpack_extract; then
      relpack_why="$relpack_base is not writable"
    else
      relpack_why=
    fi
    if [ -n "$relpack_why" ]; then
      [ "$relpack_action" = run ] || relpack_die "cannot extract: $relpack_why (set RELPACK_EXTRACT_DIR)"
      printf '%s: %s: extracting under %s for this run\n' \
        "$relpack_self" "$relpack_why" "${TMPDIR:-/tmp}" >&2
      relpack_t=true
    fi
  fi
  if [ "$relpack_action" = extract ]; then
    printf '%s\n' "$relpack_dir"
    exit 0
  fi
  [ "$relpack_t" = false ] || relpack_run_transient "$@"
  RELEASE_ROOT=$relpack_dir
  export RELEASE_ROOT
  exec "$relpack_dir/bin/$relpack_name" "$@"
}

relpack_main "$@"
exit 1
