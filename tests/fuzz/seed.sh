#!/bin/sh
# Writes the first seeds of every harness into DIR/NAME (default
# tests/fuzz/corpus): the tests' own data (tests/unit/data,
# tests/standin), the example configuration, a few zone files and small
# hand-made edge cases. The committed corpus is these seeds minimised with
# libFuzzer's -merge=1 (see tests/fuzz/run.sh) plus the inputs that found
# bugs; run this only to start again.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/tests/fuzz/corpus}
n=0

# put NAME TEXT: one seed from text with the escapes of printf's %b
# (\n, \r, \t, \\, \0NNN octal).
put() {
	mkdir -p "$out/$1"
	n=$((n + 1))
	printf '%b' "$2" >"$out/$1/seed-$n"
}
# copy NAME FILE...: files as seeds, but those past 16 KiB (a big body
# adds only time to each run).
copy() {
	name=$1
	shift
	mkdir -p "$out/$name"
	for f in "$@"; do
		[ "$(wc -c <"$f")" -le 16384 ] || continue
		cp "$f" "$out/$name/$(basename "$f")"
	done
}
# headers NAME REGEX: the values of matching header lines of the mailboxes.
headers() {
	mkdir -p "$out/$1"
	cat "$top"/tests/standin/mailbox/*/*.eml "$top"/tests/unit/data/*.eml |
	    grep -i -E "^($2):" | sed 's/^[^:]*: *//' | sort -u |
	    while IFS= read -r v; do
		n=$((n + 1))
		printf '%s' "$v" >"$out/$1/hdr-$(printf '%s' "$v" | cksum |
		    cut -d' ' -f1)"
	done
}

copy mime_raw "$top"/tests/standin/mailbox/*/*.eml "$top"/tests/unit/data/*.eml
put mime_raw 'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset="\n\n=E9=\n--b--\n'
put mime_raw 'Subject: =?utf-8?B?w6k=?=\nContent-Transfer-Encoding: base64\n\nw6k'
copy mime_json $(ls "$top"/tests/unit/data/*.json | grep -v expected)

headers rfc2047 'Subject|Content-Type|Content-Disposition'
put rfc2047 '=?UTF-8?Q?caf=C3=A9?= =?ISO-8859-1?B?6Q==?= =?x?q?\n'
put rfc2047 'filename*\nattachment; filename*0*=UTF-8'"''"'r%C3%A9; filename*1="sum\\"e.pdf"'
put rfc2047 'boundary\nmultipart/mixed; boundary="=?utf-8?q?x?="; charset'

headers addr 'From|To|Cc|Reply-To|References|In-Reply-To|Message-ID'
put addr '"A \\"q\\"" <a@x>, undisclosed-recipients:;, b@y (Bob), <@r:c@z>, =?utf-8?q?=C3=A9?= <d@e>'
put addr 'g: a@b, (c) <d@e>;, "unterminated <x@y'

headers date 'Date'
put date 'Mon, 2 Jan 2006 15:04:05 +0000 (UTC)'
put date '29 feb 99 23:59 EST'
put date '2006-01-02 15:04:05'
put date 'Sun, 31 Feb 2021 10:00:00 Z'

put retry '120\n{"error":{"code":429,"message":"Rate Limit Exceeded. Retry after 2026-01-01T00:05:00.000Z","errors":[{"reason":"rateLimitExceeded"}]}}'
put retry 'Thu, 01 Jan 2026 00:10:00 GMT\n{"error":{"message":"Backend Error","errors":[{"reason":"backendError"}]}}'
put retry '-1\n{"error":"invalid_grant","error_description":"Token has been expired"}'
put retry '\nnot json'

put html2text '<html><head><style>p{}</style><title>t</title></head><body><p>Hello&nbsp;&amp; <b>bold</b><br>line</p><ul><li>one<li>two</ul><table><tr><td>a<td>b</tr></table><pre>  x\n  y</pre><a href="https://x.example/">link</a> <img alt="pic"><hr>&#x1F600;&#0;&bogus;</body></html>'
put html2text '<!-- c --><script>x</script><blockquote>q</blockquote>\0342\0200\0213\0302\0255&#xD800;<a href="mailto:a@b">a@b</a>'

put batch '--batch_Qz\r\nContent-Type: application/http\r\nContent-ID: <response-item-0>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"id":"a1"}\r\n--batch_Qz\r\nContent-ID: <response-item-1>\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\n\r\n{"error":{}}\r\n--batch_Qz--\r\n'
put batch '--batch_Qz\nContent-ID: <response-item-3>\n\nHTTP/1.1 404'

copy creds "$top"/tests/standin/credentials/*.json
put creds '{"type":"authorized_user","client_id":"","client_secret":"s","refresh_token":"r"}'

copy conf "$top"/packaging/mailvisord.conf "$top"/tests/unit/data/conf/*.conf
put conf '[job:j]\ncommand = /bin/x {day} "{account}"\n  --more '"'"'a b'"'"'\nargs = day:int(0..9)=1\nschedule = */5 * * * *\ntimezone = Europe/Paris\n[account:a]\ntenant_id = t\nuser_id = u\ncredentials = /c.json\n'

grep -h 'command *=' "$top"/packaging/mailvisord.conf "$top"/tests/unit/data/conf/*.conf |
    sed 's/^[#; ]*command *= *//' | sort -u | while IFS= read -r v; do
	n=$((n + 1))
	mkdir -p "$out/command"
	printf '%s' "$v" >"$out/command/cmd-$(printf '%s' "$v" | cksum | cut -d' ' -f1)"
done
put command '/bin/x "\\'
put command '/bin/x '"'"'a'"'"'\\'"'"''"'"' "b\\"c\\\\" d\\ e {x}'

put sched 'every 1h30m\n@daily|Europe/Paris\n0 2 * * 1-5|America/New_York\n*/15 3 1,15 jan-mar sun|Australia/Lord_Howe'
put sched '30 2 * 3 0|Europe/London\n0 0 30 2 *\nevery 365d\n1-59/7 * * * 7'

mkdir -p "$out/tzif"
for z in UTC Europe/Paris America/New_York Australia/Lord_Howe Asia/Kolkata; do
	cp "/usr/share/zoneinfo/$z" "$out/tzif/$(echo "$z" | tr / _)"
done

put output '{"status":"success","action":"fetch_emails","count":0}\n'
put output '{"change":"added","id":"1"}\n{"change":"deleted","id":"2"}\n{"status":"error","error":{"type":"rate_limited","message":"\\u00e9","retryable":true}}\n\n'
put output 'plain text\n[1,2]\n'

put routes 'GET\n/api/v1/workers/monitor/w%20x/history'
put routes 'POST\n/api/v1/jobs/abc/trigger'
put routes 'DELETE\n/api/v1/workers/scheduler/%2F'
put routes 'PUT\n/healthz'

put reqbody '\0004{"provider":"gmail","full_sync":true,"lookback_days":3,"account":"a"}'
put reqbody '\0015{"args":{"n":1},"account":"a"}'
put reqbody '\0022{"job":"j","tenant_id":"t","user_id":"u","args":{},"idempotency_key":"k"}'
put reqbody '\0025{"id":"1-0","all":false,"id":"2"}'
put reqbody '\0222{}'
echo "seed: $out"
