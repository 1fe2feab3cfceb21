#!/bin/sh
# t010: gmail-worker --help and --version work, and gmail-worker(1) documents
# exactly the options and actions that --help lists, with the same short
# names and defaults, and passes mandoc's lint.
set -eu

: "${MV_BUILD:?MV_BUILD must name the build directory}"
: "${MV_TOP:?MV_TOP must name the source tree}"
WORKER=$MV_BUILD/gmail-worker
PAGE=${MV_MANPAGE:-$MV_TOP/man/gmail-worker.1}

T=t010
. "$MV_TOP/tests/integration/helpman.sh"
hm_worker gmail-worker "$WORKER" "$PAGE"
