#!/usr/bin/env bash
# Registers QEMU's user-mode emulator for arm64 programs in binfmt_misc, so
# that an arm64 Debian root runs under chroot (debootstrap's second stage,
# the tests that boot arm64 releases). The build itself never runs target
# code: emulation is for the tests.
#
# Bookworm's qemu-user-static (7.2) crashes the arm64 BEAM at start (a
# segmentation fault in the JIT); trixie's QEMU 10 runs it. So the static
# qemu-aarch64 comes from trixie's qemu-user package (fetched with a private
# apt state, nothing added to this machine's sources) unless this machine's
# own is version 8 or newer. It is registered with the F flag (the kernel
# opens it now, so it works in chroots and containers) and P (argv[0]
# kept) and C (credentials from the program). binfmt_misc is global to the
# machine: roots entered with scripts/enter.sh see the registration.
#
# Prints the interpreter's path. Needs root.
set -euo pipefail
name=qemu-aarch64
binfmt=/proc/sys/fs/binfmt_misc
cache=${RELPACK_TOOLCHAINS_DIR:-/var/cache/relpack}
log() { printf 'qemu.sh: %s\n' "$*" >&2; }

mountpoint -q "$binfmt" || mount -t binfmt_misc binfmt_misc "$binfmt"
if [[ -f $binfmt/$name ]] && grep -qx enabled "$binfmt/$name" && grep -q '^flags: .*F' "$binfmt/$name"; then
  sed -n 's/^interpreter //p' "$binfmt/$name"
  exit 0
fi

# QEMU's major version, from `qemu-aarch64 --version`.
major() { "$1" --version 2>/dev/null | sed -n 's/^qemu-aarch64 version \([0-9]*\).*/\1/p'; }

interp=""
for candidate in /usr/bin/qemu-aarch64-static /usr/bin/qemu-aarch64; do
  if [[ -x $candidate ]] && [[ $(major "$candidate") -ge 8 ]] && ! ldd "$candidate" >/dev/null 2>&1; then
    interp=$candidate
    break
  fi
done
if [[ -z $interp ]]; then
  interp=$cache/qemu/qemu-aarch64
  if ! [[ -x $interp ]]; then
    log "fetching trixie's static qemu-aarch64 (bookworm's crashes the arm64 BEAM)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    echo "deb http://deb.debian.org/debian trixie main" >"$work/sources.list"
    apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
    apt-get -qq "${apt_private[@]}" update >&2
    (cd "$work" && apt-get -qq "${apt_private[@]}" download qemu-user:amd64 >&2)
    dpkg-deb --fsys-tarfile "$work"/qemu-user_*.deb | tar -x -C "$work" ./usr/bin/qemu-aarch64
    mkdir -p "$(dirname "$interp")"
    install -m 0755 "$work/usr/bin/qemu-aarch64" "$interp.tmp"
    mv "$interp.tmp" "$interp"
  fi
fi
[[ $(major "$interp") -ge 8 ]] || { log "error: $interp is not QEMU 8 or newer"; exit 1; }

[[ -f $binfmt/$name ]] && echo -1 >"$binfmt/$name"
# The ELF header of an aarch64 executable, as Debian's qemu-user registers it.
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
printf ':%s:M::%s:%s:%s:PFC\n' "$name" "$magic" "$mask" "$interp" >"$binfmt/register"
log "registered $interp for arm64 programs"
printf '%s\n' "$interp"
