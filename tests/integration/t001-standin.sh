# The Gmail API stand-in's own tests (unittest): every endpoint, fault and
# mode it serves, since the worker's tests rely on it being faithful.
set -eu
: "${MV_TOP:?MV_TOP must name the source tree}"
cd "$MV_TOP"
/usr/bin/python3 tests/standin/test_standin.py
