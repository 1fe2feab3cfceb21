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

[ -x "$WORKER" ] || fail "no executable $WORKER (build it first)"
[ -f "$PAGE" ] || fail "no manual page $PAGE"

# --help: exit 0, usage on stdout, nothing on stderr; -h the same.
rc=0
"$WORKER" --help >"$TMP/help" 2>"$TMP/help.err" || rc=$?
[ "$rc" -eq 0 ] || fail "gmail-worker --help exited $rc"
[ ! -s "$TMP/help.err" ] ||
    fail "gmail-worker --help wrote to stderr: $(head -c 300 "$TMP/help.err")"
grep -q '^usage: gmail-worker ' "$TMP/help" ||
    fail "gmail-worker --help prints no 'usage: gmail-worker' line"
grep -q '^OPTIONS' "$TMP/help" || fail "gmail-worker --help has no OPTIONS"
"$WORKER" -h >"$TMP/help-h" 2>/dev/null || fail "gmail-worker -h failed"
cmp -s "$TMP/help" "$TMP/help-h" || fail "-h and --help print differently"

# --version: exit 0, "gmail-worker VERSION".
rc=0
"$WORKER" --version >"$TMP/version" 2>/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "gmail-worker --version exited $rc"
grep -q '^gmail-worker [0-9][0-9.]*' "$TMP/version" ||
    fail "gmail-worker --version printed '$(head -c 100 "$TMP/version")'"

hm_lint "$PAGE"

# --help's options: "name|short|default" (short and default may be
# empty), names with '_' as the canonical spelling.
awk -v OFS='|' '
/^OPTIONS/ { on = 1; next }
on && /^[^ ]/ { on = 0 }
on && /^ +-/ {
	name = ""; short = ""; def = ""
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^-[A-Za-z],$/ && short == "")
			short = substr($i, 2, 1)
		else if ($i ~ /^--[A-Za-z]/) {
			name = substr($i, 3)
			break
		}
	}
	gsub(/-/, "_", name)
	if (match($0, /\(default [^)]*\)/))
		def = substr($0, RSTART + 9, RLENGTH - 10)
	print name, short, def
}' "$TMP/help" >"$TMP/help-opts"

# --help's actions: the names before the description, "a, b, c   text".
awk '
/^ACTIONS/ { on = 1; next }
on && /^[^ ]/ { on = 0 }
on && /^ +[a-z]/ {
	line = $0
	sub(/^ +/, "", line)
	sub(/  .*/, "", line)
	n = split(line, a, /, */)
	for (i = 1; i <= n; i++)
		if (a[i] ~ /^[a-z_]+$/)
			print a[i]
}' "$TMP/help" | sort >"$TMP/help-actions"
[ -s "$TMP/help-actions" ] || fail "no actions found in --help"

hm_man_options "$PAGE" _

hm_options

# Where --help gives a default, the manual's entry names it too (as words).
while IFS='|' read -r name short def; do
	[ -n "$def" ] || continue
	words=" $(hm_entry "$name" | sed 's/[^A-Za-z0-9_][^A-Za-z0-9_]*/ /g') "
	want=$(printf '%s\n' "$def" | sed 's/[^A-Za-z0-9_][^A-Za-z0-9_]*/ /g')
	case $words in
	*" default "*" $want "*|*" $want "*" default "*) ;;
	*) disagree "--$name: --help says default '$def'; the manual's" \
	    "entry does not" ;;
	esac
done <"$TMP/help-opts"

# Every "Fl -name" anywhere in the page names a real option.
awk '
/^\./ {
	for (i = 1; i < NF; i++)
		if ($i == "Fl" && $(i + 1) ~ /^-[A-Za-z]/) {
			t = substr($(i + 1), 2)
			gsub(/-/, "_", t)
			print t
		}
}' "$PAGE" | sort -u >"$TMP/man-refs"
for n in $(comm -23 "$TMP/man-refs" "$TMP/help-names"); do
	disagree "the manual mentions Fl -$n, which --help does not list"
done

# Every --option in the examples' gmail-worker command lines is real.
awk '
/^\.Bd -literal/ { lit = 1; next }
/^\.Ed/ { lit = 0; next }
!lit { next }
/gmail-worker/ { cmd = 1 }
cmd {
	for (i = 1; i <= NF; i++)
		if ($i ~ /^--[A-Za-z]/) {
			t = substr($i, 3)
			sub(/=.*/, "", t)
			gsub(/-/, "_", t)
			print t
		}
	cmd = ($NF == "\\e")
}' "$PAGE" | sort -u >"$TMP/man-examples"
for n in $(comm -23 "$TMP/man-examples" "$TMP/help-names"); do
	disagree "an example in the manual uses --$n, which --help does not" \
	    "list"
done

# The manual's ACTIONS: one top-level "It Cm name" item per action.
awk '
/^\.Sh / { on = ($2 == "ACTIONS"); depth = 0; next }
!on { next }
/^\.Bl/ { depth++ }
/^\.El/ { depth-- }
/^\.It Cm / && depth == 1 { print $3 }' "$PAGE" | sort >"$TMP/man-actions"
for a in $(comm -23 "$TMP/help-actions" "$TMP/man-actions"); do
	disagree "action $a is in --help but not in the manual's ACTIONS"
done
for a in $(comm -13 "$TMP/help-actions" "$TMP/man-actions"); do
	disagree "action $a is in the manual's ACTIONS but not in --help"
done

hm_done "gmail-worker --help and $PAGE"
echo "t010: $(wc -l <"$TMP/help-names") options and" \
    "$(wc -l <"$TMP/help-actions") actions agree; lint clean"
