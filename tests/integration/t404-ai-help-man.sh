#!/bin/sh
# t404: ai-worker --help and --version work, and ai-worker(1) documents
# exactly the options and actions that --help lists, with the same short
# names and defaults, and passes mandoc's lint.
set -eu

: "${MV_BUILD:?MV_BUILD must name the build directory}"
: "${MV_TOP:?MV_TOP must name the source tree}"

T=t404
. "$MV_TOP/tests/integration/helpman.sh"
hm_worker ai-worker "$MV_BUILD/ai-worker" \
    "${MV_MANPAGE:-$MV_TOP/man/ai-worker.1}"
