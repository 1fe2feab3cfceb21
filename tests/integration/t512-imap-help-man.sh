#!/bin/sh
# t512: imap-worker --help and --version work, and imap-worker(1) documents
# exactly the options and actions that --help lists, with the same short
# names and defaults, and passes mandoc's lint.
set -eu

: "${MV_BUILD:?MV_BUILD must name the build directory}"
: "${MV_TOP:?MV_TOP must name the source tree}"

T=t512
. "$MV_TOP/tests/integration/helpman.sh"
hm_worker imap-worker "$MV_BUILD/imap-worker" \
    "${MV_MANPAGE:-$MV_TOP/man/imap-worker.1}"
