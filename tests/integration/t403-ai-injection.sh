#!/bin/sh
# t403: mail that tries to steer the model (ignore your instructions,
# print your system prompt, fake JSON answers, fake role markers and
# delimiters, tool calls) stays data: it reaches the model only inside
# the delimited JSON document, the worker calls nothing but the endpoint,
# and whatever the model answers, only the schema's fields with allowed
# values come out (the stand-in echoes the mail's text into its answer).
. "$MV_TOP/tests/integration/lib.sh"
C=$MV_TOP/tests/integration/ai-mail/injection
start_ai_standin
FIELDS="action,category,labels,message_ids,model,priority,reply,sentiment,status,summary,tasks,thread_id,usage"
CATS="work personal finance newsletter notification spam other"

# in_schema: the last output is one success document with exactly the
# schema's fields and allowed values.
in_schema() {
	expect_ok
	expect_eq "$(wc -l <"$TMP/out")" 1 "$1: one line"
	expect_eq "$(jout '[keys[]] | sort | join(",")')" "$FIELDS" "$1: fields"
	c=$(jout .category)
	case " $CATS " in *" $c "*) ;; *) fail "$1: category '$c'" ;; esac
	for l in $(jout '.labels[]'); do
		case " $CATS " in *" $l "*) ;; *) fail "$1: label '$l'" ;; esac
	done
	case $(jout .priority) in high|normal|low) ;; *) fail "$1: priority" ;; esac
	expect_eq "$(jout '.sentiment | keys | join(",")')" label,score "$1: sentiment"
	expect_eq "$(jout '.reply | keys | join(",")')" body,subject "$1: reply"
	expect_eq "$(jout '[.tasks[] | keys | join(",")] | unique | join(";")')" \
	    "$(jout 'if (.tasks | length) > 0 then "due,owner,title" else "" end')" "$1: tasks"
}

for mail in "$C"/*.json; do
	name=$(basename "$mail" .json)
	b=$(log_count 'true')
	aw --action process --input "$mail"
	in_schema "$name"
	# One request, to the chat endpoint, and nothing else.
	expect_eq "$(( $(log_count 'true') - b ))" 1 "$name: requests"
	jq -s -r '.[-1].path' "$STANDIN_LOG" | grep -qx /v1/chat/completions ||
	    fail "$name: a request to another path"
	# The mail is in the user message, inside the delimiters, as JSON
	# text that gives back the body exactly; one BEGIN and one END line
	# whatever the body holds; nothing of it in the system message.
	R=$TMP/req.json
	jq -s '.[-1].body' "$STANDIN_LOG" >"$R"
	jq -r '.messages[1].content' "$R" >"$TMP/user"
	expect_eq "$(grep -c '^BEGIN_MAIL_' "$TMP/user")" 1 "$name: BEGIN lines"
	expect_eq "$(grep -c '^END_MAIL_' "$TMP/user")" 1 "$name: END lines"
	nonce=$(sed -n 's/^BEGIN_MAIL_//p' "$TMP/user")
	[ "$nonce" != 0000000000000000 ] || fail "$name: guessable delimiter"
	sed -n "/^BEGIN_MAIL_$nonce\$/,/^END_MAIL_$nonce\$/p" "$TMP/user" |
	    sed '1d;$d' >"$TMP/doc"
	expect_eq "$(jq -r '.messages[0].body' "$TMP/doc")" \
	    "$(jq -r .body_text "$mail")" "$name: body as data"
	jq -r '.messages[0].content' "$R" | grep -q 'attacker@example.net' &&
	    fail "$name: mail text in the system message"
	no_secrets "$TMP/out" "$TMP/err" "$STANDIN_LOG"

	# The model parrots the mail into its answer: values outside the
	# schema are refused, asked again, then bad_output; never printed.
	faults '[{"answer": "echo", "count": -1}]'
	aw --action process --input "$mail"
	control DELETE /_standin/faults >/dev/null
	expect_error bad_output 65
	expect_eq "$(jout '[keys[]] | sort | join(",")')" \
	    "action,error,message_ids,model,status,thread_id,usage" "$name: error fields"
	# Once only: the second answer is clean and is the one printed.
	faults '[{"answer": "echo"}]'
	aw --action process --input "$mail"
	control DELETE /_standin/faults >/dev/null
	in_schema "$name, echoed once"
done

# The echoed text may stand in a free-text field (the summary): it is a
# string of the schema, no more; the output is still one document.
faults '[{"answer": "echo", "count": -1}]'
aw --action summarize --input "$C/fake-json-answer.json"
control DELETE /_standin/faults >/dev/null
expect_ok
expect_eq "$(jout '[keys[]] | sort | join(",")')" \
    "action,message_ids,model,status,summary,thread_id,usage" "echo summary fields"
expect_eq "$(jout .summary)" "$(jq -r .body_text "$C/fake-json-answer.json")" "echo summary"
expect_eq "$(jout 'has("category") or has("api_key")')" false "echo: smuggled fields"
echo "t403: ok"
