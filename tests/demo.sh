#!/bin/sh
# make demo: the Gmail API stand-in on a free loopback port with its sample
# mailbox, and gmail-worker fetching the last three days of alice's mail.
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT PIPE TERM

/usr/bin/python3 "$top/tests/standin/gmail-standin" --port 0 \
    --port-file "$T/port" --quiet &
PID=$!
while [ ! -s "$T/port" ]; do sleep 0.05; done
URL=http://127.0.0.1:$(cat "$T/port")
cp "$top/tests/standin/credentials/alice-authorized-user.json" "$T/creds.json"
chmod 600 "$T/creds.json"

echo "Gmail API stand-in at $URL (GMAIL_API_BASE=$URL GMAIL_TOKEN_URI=$URL/token)"
echo "\$ gmail-worker --credentials @alice.json --action fetch_emails --days_back 3 | jq ..."
GMAIL_API_BASE=$URL GMAIL_TOKEN_URI=$URL/token "$build/gmail-worker" \
    --credentials "@$T/creds.json" --action fetch_emails --days_back 3 \
    >"$T/out"
jq '{status, action, user_email, count, history_id,
     emails: [.emails[:3][] | {id, from, subject, date, label_ids,
       body_text: (.body_text // "" | .[:120]),
       attachments: [.attachments[] | {filename, mime_type, size}]}]}' "$T/out"
echo "... $(jq .count "$T/out") emails in all; every field: jq . on the full output."
