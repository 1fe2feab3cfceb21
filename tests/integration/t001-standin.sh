# The stand-ins' own tests (unittest): every endpoint, fault and mode they
# serve (the Gmail API's and the chat-completions one), since the workers'
# tests rely on them being faithful.
set -eu
: "${MV_TOP:?MV_TOP must name the source tree}"
cd "$MV_TOP"
/usr/bin/python3 tests/standin/test_standin.py
/usr/bin/python3 tests/standin/test_ai_standin.py
