#!/usr/bin/env bash
# Print the path of a cached minimal Debian rootfs of this machine's Debian
# release (bookworm, trixie or sid), creating it first if it is missing. Used to check that relpack's release tarballs boot on a
# machine without Erlang installed:
#
#   dir=$(scripts/rootfs.sh)
#   chroot "$dir" /bin/sh -c 'echo ok'
#
# Environment:
#   RELPACK_SUITE           the Debian suite (default: this machine's, from
#                           /etc/os-release; sid where /etc/debian_version
#                           says so), so that the ERTS of the Erlang installed
#                           here finds a C library at least as new
#   RELPACK_ROOTFS_ARCH     a Debian architecture other than this machine's
#                           (arm64): debootstrap's second stage then runs
#                           under QEMU (scripts/qemu.sh registers it)
#   RELPACK_ROOTFS          cache dir (default /var/cache/relpack/rootfs-SUITE,
#                           rootfs-SUITE-ARCH for another architecture)
#   RELPACK_ROOTFS_INCLUDE  extra packages, comma-separated (e.g. "libssl3");
#                           a non-empty set caches to "<dir>-<hash of the set>"
#   RELPACK_DEBIAN_MIRROR   mirror URL (default: the one apt is configured with)
#
# Only the path goes to stdout; progress goes to stderr. A rootfs counts as
# complete only if it carries the marker file, which is written into a temp
# dir after debootstrap succeeded and before the temp dir is renamed into
# place, so a half-made rootfs is never taken for a complete one.
set -euo pipefail

readonly MARKER=.relpack-complete

# This machine's suite: testing and unstable carry the next release's
# codename in os-release, which no mirror serves as unstable.
host_suite() {
    local codename=""
    if grep -q '/sid$' /etc/debian_version 2>/dev/null; then
        echo sid
        return
    fi
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    echo "${codename:-bookworm}"
}
SUITE=${RELPACK_SUITE:-$(host_suite)}
readonly SUITE

log() { printf 'rootfs.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Normalise the package list: split on commas/whitespace, sort, dedupe.
normalise_include() {
    local -a pkgs=()
    IFS=$', \t\n' read -r -a pkgs <<<"${1:-}" || true
    ((${#pkgs[@]})) || return 0
    printf '%s\n' "${pkgs[@]}" | sed '/^$/d' | LC_ALL=C sort -u | paste -sd, -
}

# The URI of the first enabled "deb" source for $SUITE in apt's configuration
# (one-line *.list files and deb822 *.sources files).
detect_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        awk -v suite="$SUITE" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        awk -v suite="$SUITE" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
                    tolower(enabled) != "no" && uris != "") {
                    split(uris, u, " "); print u[1]; found = 1; exit
                }
                types = suites = uris = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = tolower($1); sub(/:$/, "", key)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                if (key == "types") types = val
                else if (key == "suites") suites = val
                else if (key == "uris") uris = val
                else if (key == "enabled") enabled = val
            }
            END { if (!found) flush() }' "$f"
    done
}

# Unmount anything debootstrap may have left mounted below $1, deepest first.
unmount_below() {
    local root mnt
    root=$(realpath -m "$1")
    awk '{print $2}' /proc/mounts | { grep -E "^${root}/" || true; } | LC_ALL=C sort -r |
        while read -r mnt; do
            umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
        done
}

remove_tree() {
    [[ -e $1 ]] || return 0
    unmount_below "$1"
    rm -rf --one-file-system -- "$1"
}

main() {
    local base include dir parent hash mirror tmp=""
    local arch=${RELPACK_ROOTFS_ARCH:-}
    [[ $arch != "$(dpkg --print-architecture)" ]] || arch=
    base=${RELPACK_ROOTFS:-/var/cache/relpack/rootfs-$SUITE${arch:+-$arch}}
    base=${base%/}
    include=$(normalise_include "${RELPACK_ROOTFS_INCLUDE:-}")
    if [[ -n $include ]]; then
        hash=$(printf '%s' "$include" | sha256sum | cut -c1-12)
        dir="$base-$hash"
    else
        dir=$base
    fi

    if [[ -f $dir/$MARKER ]]; then
        printf '%s\n' "$dir"
        return 0
    fi

    [[ $(id -u) -eq 0 ]] || die "creating $dir needs root (debootstrap, chroot)"
    parent=$(dirname "$dir")
    mkdir -p "$parent"

    # Serialise concurrent builders of the same rootfs.
    exec 9>"$dir.lock"
    flock 9
    if [[ -f $dir/$MARKER ]]; then
        printf '%s\n' "$dir"
        return 0
    fi

    # Leftovers of builders that were killed (we hold the lock, so none runs).
    local old
    for old in "$dir".tmp.* "$dir".stale.*; do
        [[ -d $old ]] || continue
        log "removing leftover $old"
        remove_tree "$old"
    done

    if [[ -e $dir ]]; then
        log "removing incomplete rootfs $dir (no $MARKER)"
        local stale
        stale=$(mktemp -d "$dir.stale.XXXXXX")
        mv -T "$dir" "$stale/old"
        remove_tree "$stale"
    fi

    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap with apt-get"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2
    fi

    if [[ -n ${RELPACK_DEBIAN_MIRROR:-} ]]; then
        mirror=$RELPACK_DEBIAN_MIRROR
    else
        mirror=$(detect_mirror)
        mirror=${mirror%%$'\n'*}
        mirror=${mirror:-http://deb.debian.org/debian}
    fi

    tmp=$(mktemp -d "$dir.tmp.XXXXXX")
    # shellcheck disable=SC2064 # expand $tmp now
    trap "remove_tree '$tmp'" EXIT
    trap 'exit 130' INT TERM

    local args=(--variant=minbase ${arch:+--arch=$arch})
    [[ -n $include ]] && args+=("--include=$include")
    chmod 755 "$tmp" # mktemp -d made it 0700
    log "debootstrap ${args[*]} $SUITE $tmp $mirror (for $dir); this takes a minute or two"
    if ! debootstrap "${args[@]}" "$SUITE" "$tmp" "$mirror" >&2; then
        if [[ -f $tmp/debootstrap/debootstrap.log ]]; then
            log "tail of debootstrap.log:"
            tail -n 30 "$tmp/debootstrap/debootstrap.log" >&2
        fi
        die "debootstrap failed"
    fi
    unmount_below "$tmp"

    # Downloaded .debs are not needed in the rootfs.
    rm -f "$tmp"/var/cache/apt/archives/*.deb
    chroot "$tmp" /bin/sh -c 'true' || die "new rootfs does not run /bin/sh"

    printf 'suite=%s\narch=%s\ninclude=%s\nmirror=%s\n' "$SUITE" "${arch:-$(dpkg --print-architecture)}" "$include" "$mirror" >"$tmp/$MARKER"
    mv -T "$tmp" "$dir"
    trap - EXIT
    log "rootfs ready at $dir"
    printf '%s\n' "$dir"
}

main "$@"
