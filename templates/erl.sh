#!/bin/sh
# Starts this release's bundled ERTS (replaces OTP's `erl`, whose ROOTDIR is
# fixed at install time): the root is wherever the release was unpacked.
BINDIR=$(CDPATH='' cd "$(dirname "$0")" && pwd -P)
ROOTDIR=$(dirname "$(dirname "$BINDIR")")
EMU=beam
PROGNAME=erl
export BINDIR ROOTDIR EMU PROGNAME
exec "$BINDIR/erlexec" "$@"
