#!/bin/sh
# t012: mailvisorctl --help and --version work, and mailvisorctl(1)
# documents exactly the commands (with their argument and options), the
# options (with the same short names and defaults) and the exit statuses
# that --help lists; the page passes mandoc's lint; usage errors exit 64
# before anything is sent.
set -eu

: "${MV_BUILD:?MV_BUILD must name the build directory}"
: "${MV_TOP:?MV_TOP must name the source tree}"
CTL=$MV_BUILD/mailvisorctl
PAGE=${MV_MANPAGE:-$MV_TOP/man/mailvisorctl.1}

T=t012
. "$MV_TOP/tests/integration/helpman.sh"

[ -x "$CTL" ] || fail "no executable $CTL (build it first)"
[ -f "$PAGE" ] || fail "no manual page $PAGE"

# run CMD...: stdout in $TMP/out, stderr in $TMP/err, exit status in $RC;
# no daemon may be found through the environment or a default file.
run() {
	RC=0
	env -u MAILVISOR_URL -u MAILVISOR_TOKEN -u MAILVISOR_TOKEN_FILE \
	    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}

# --help: exit 0, usage on stdout, nothing on stderr; -h the same.
run "$CTL" --help
[ "$RC" -eq 0 ] || fail "mailvisorctl --help exited $RC"
[ ! -s "$TMP/err" ] ||
    fail "mailvisorctl --help wrote to stderr: $(head -c 300 "$TMP/err")"
grep -q '^usage: mailvisorctl ' "$TMP/out" ||
    fail "mailvisorctl --help prints no 'usage: mailvisorctl' line"
cp "$TMP/out" "$TMP/help"
for h in -h "queues --help" "--help no-such-command"; do
	# shellcheck disable=SC2086
	run "$CTL" $h
	[ "$RC" -eq 0 ] || fail "mailvisorctl $h exited $RC"
	cmp -s "$TMP/help" "$TMP/out" || fail "$h and --help print differently"
done
awk 'length($0) > 79 { exit 1 }' "$TMP/help" ||
    disagree "--help has lines longer than 79 columns"

# --version and -V: exit 0, "mailvisorctl VERSION" on stdout.
for opt in --version -V; do
	run "$CTL" "$opt"
	[ "$RC" -eq 0 ] || fail "mailvisorctl $opt exited $RC"
	grep -q '^mailvisorctl [0-9][0-9]*\.[0-9][0-9.]*$' "$TMP/out" ||
	    fail "mailvisorctl $opt printed '$(head -c 100 "$TMP/out")'"
	[ ! -s "$TMP/err" ] || fail "mailvisorctl $opt wrote to stderr"
done

# Usage errors: 64, "mailvisorctl: ..." on stderr, nothing on stdout, and
# no configuration read (-c names a file that does not exist).
while IFS='|' read -r args why; do
	# shellcheck disable=SC2086
	run "$CTL" -c "$TMP/missing.conf" $args
	[ "$RC" -eq 64 ] || disagree "mailvisorctl $args exited $RC, not 64"
	grep -q "^mailvisorctl: .*$why" "$TMP/err" ||
	    disagree "mailvisorctl $args: stderr '$(head -c 200 "$TMP/err")'" \
	    "does not say '$why'"
	[ ! -s "$TMP/out" ] || disagree "mailvisorctl $args wrote to stdout"
done <<'EOF'
|no command
--no-such-option queues|unknown option --no-such-option
-Z queues|unknown option -Z
frobnicate|unknown command 'frobnicate'
scheduler frobnicate|scheduler: unknown subcommand; one of:
scheduler|scheduler: a subcommand is needed; one of:
scheduler pause|JOB is missing
queues extra|unexpected argument 'extra'
queues --full|--full does not apply to queues
enqueue echo --user u|--tenant is required
trigger echo --arg novalue|K=V or K:=JSON
trigger echo --arg =1|K=V or K:=JSON
trigger echo --arg :=1|bad name
trigger echo --arg a=1 --arg a=2|--arg a given twice
trigger echo --arg a:={x|not JSON
dlq reprocess|give an ID or --all
dlq reprocess 1-0 --all|give an ID or --all
dlq peek --count 0|--count: '0' is not an integer from 1 to 1000
--timeout=x queues|--timeout: 'x' is not an integer
--json=yes queues|--json takes no value
queues --url|--url needs a value
--url ftp://h queues|is not an http:// or https:// URL
--url http://u:p@h queues|credentials in the URL are refused
--url http://h/?x=1 queues|without spaces, query or fragment
EOF

hm_lint "$PAGE"

# --help's options: "name|short|default", names with '-', each option's
# help joined from its lines.
awk -v OFS='|' '
function flush() {
	if (line == "")
		return
	name = ""; short = ""; def = ""
	n = split(line, t, / +/)
	for (i = 1; i <= n; i++) {
		if (t[i] ~ /^-[A-Za-z],$/ && short == "")
			short = substr(t[i], 2, 1)
		else if (t[i] ~ /^--[A-Za-z]/) {
			name = substr(t[i], 3)
			break
		}
	}
	if (match(line, /\(default [^)]*\)/))
		def = substr(line, RSTART + 9, RLENGTH - 10)
	print name, short, def
	line = ""
}
/^OPTIONS/ { on = 1; next }
on && !/^ / { flush(); on = 0 }
on && /^  +-/ { flush(); line = $0; next }
on && /^  +[^ -]/ { line = line " " $0 }
END { flush() }' "$TMP/help" >"$TMP/help-opts"
[ -s "$TMP/help-opts" ] || fail "no options found in --help"
cut -d '|' -f1 "$TMP/help-opts" | sort >"$TMP/help-names"

# --help's commands: "words|argument|option,option", the argument's name
# in lower case, each command's synopsis joined from its lines.
awk -v OFS='|' '
function flush() {
	if (line == "")
		return
	sub(/^ +/, "", line)
	n = split(line, t, / +/)
	words = ""; arg = ""; opts = ""
	for (i = 1; i <= n && t[i] ~ /^[a-z]+$/; i++)
		words = words (words == "" ? "" : " ") t[i]
	if (i <= n && t[i] ~ /^\[?[A-Z_]+\]?$/) {
		arg = tolower(t[i])
		gsub(/[][]/, "", arg)
	}
	for (; i <= n; i++)
		if (t[i] ~ /^\[?--[a-z]/) {
			o = t[i]
			gsub(/^\[?--|\]?(\.\.\.)?$/, "", o)
			opts = opts (opts == "" ? "" : ",") o
		}
	print words, arg, opts
	line = ""
}
/^COMMANDS/ { on = 1; next }
on && !/^ / { flush(); on = 0 }
on && /^  [a-z]/ { flush(); line = $0; next }
on && /^    [^ ]/ { line = line " " $0; next }
END { flush() }' "$TMP/help" | sort >"$TMP/help-cmds"
[ -s "$TMP/help-cmds" ] || fail "no commands found in --help"

hm_man_options "$PAGE"

hm_options

# Where --help gives a default, the manual's entry says it is the default.
while IFS='|' read -r name short def; do
	[ -n "$def" ] || continue
	case " $(hm_entry "$name") " in
	*" default is $def "*|*" default is $def. "*|*" by default $def "*) ;;
	*) disagree "--$name: --help says default '$def'; the manual's" \
	    "entry does not" ;;
	esac
done <"$TMP/help-opts"

# The manual's COMMANDS: "words|argument|options" from each top-level
# ".It Cm" line: the command's words, the argument right after them (or
# in an Op), and every "Fl -name".
awk -v OFS='|' '
/^\.Sh / { on = ($2 == "COMMANDS"); depth = 0; next }
!on { next }
/^\.Bl/ { depth++ }
/^\.El/ { depth-- }
/^\.It Cm / && depth == 1 {
	words = ""; arg = ""; opts = ""
	for (i = 3; i <= NF && $i ~ /^[a-z]+$/; i++)
		words = words (words == "" ? "" : " ") $i
	if ($i == "Ar")
		arg = $(i + 1)
	else if (($i == "Op" || $i == "Oo") && $(i + 1) == "Ar")
		arg = $(i + 2)
	for (; i < NF; i++)
		if ($i == "Fl" && $(i + 1) ~ /^-[a-z]/)
			opts = opts (opts == "" ? "" : ",") substr($(i + 1), 2)
	print words, arg, opts
}' "$PAGE" >"$TMP/man-cmds.raw"
# Options in the same (sorted) order on both sides.
for f in help-cmds man-cmds.raw; do
	while IFS='|' read -r w a o; do
		o=$(printf '%s\n' "$o" | tr ',' '\n' | sed '/^$/d' | sort |
		    paste -sd, -)
		printf '%s|%s|%s\n' "$w" "$a" "$o"
	done <"$TMP/$f" | sort >"$TMP/$f.norm"
done
comm -23 "$TMP/help-cmds.norm" "$TMP/man-cmds.raw.norm" >"$TMP/only-help"
comm -13 "$TMP/help-cmds.norm" "$TMP/man-cmds.raw.norm" >"$TMP/only-man"
while IFS= read -r l; do
	disagree "command '$l' (words|argument|options) of --help is not so" \
	    "in the manual's COMMANDS"
done <"$TMP/only-help"
while IFS= read -r l; do
	disagree "command '$l' (words|argument|options) of the manual is" \
	    "not so in --help"
done <"$TMP/only-man"

# The global options (those of no command) are all in the SYNOPSIS.
cut -d '|' -f3 "$TMP/help-cmds" | tr ',' '\n' | sed '/^$/d' |
    sort -u >"$TMP/cmd-opts"
awk '
/^\.Sh / { on = ($2 == "SYNOPSIS"); next }
on {
	for (i = 1; i < NF; i++) {
		if ($i != "Fl" && $i != ".Fl")
			continue
		for (j = i + 1; j <= NF; j++) {
			t = $j
			if (t == "|")
				continue
			if (t ~ /^-[a-z]/)
				print substr(t, 2)
			else if (t ~ /^[A-Za-z]$/)
				print "short:" t
			else
				break
		}
	}
}' "$PAGE" | sort -u >"$TMP/synopsis"
while IFS='|' read -r name short def; do
	grep -qx "$name" "$TMP/cmd-opts" && continue
	grep -qx "$name" "$TMP/synopsis" ||
	    grep -qx "short:$short" "$TMP/synopsis" ||
	    disagree "--$name is not in the SYNOPSIS"
done <"$TMP/help-opts"

# Every "Fl -name" anywhere in the page is a real option.
awk '
/^\./ {
	for (i = 1; i < NF; i++)
		if ($i == "Fl" && $(i + 1) ~ /^-[A-Za-z]/)
			print substr($(i + 1), 2)
}' "$PAGE" | sort -u >"$TMP/man-refs"
for n in $(comm -23 "$TMP/man-refs" "$TMP/help-names"); do
	disagree "the manual mentions Fl -$n, which --help does not list"
done

# Every mailvisorctl command line of the examples uses real options and
# a real command.
awk '
/^\.Bd -literal/ { lit = 1; next }
/^\.Ed/ { lit = 0; next }
lit { print }' "$PAGE" | sed 's/\\e$/ \\/' | awk '
/mailvisorctl/ { cmd = 1; line = "" }
cmd {
	line = line " " $0
	if ($NF != "\\") {
		sub(/.*mailvisorctl /, "", line)
		sub(/\|.*/, "", line)
		print line
		cmd = 0
	}
}' >"$TMP/examples"
[ -s "$TMP/examples" ] || disagree "no mailvisorctl command in EXAMPLES"
set -f
while IFS= read -r ex; do
	# shellcheck disable=SC2086
	set -- $ex
	words=
	while [ $# -gt 0 ]; do
		case $1 in
		--*=*) o=${1#--}; o=${o%%=*} ;;
		--*) o=${1#--} ;;
		-?) o=; shift; continue ;;
		\\) shift; continue ;;
		*) case $words in *" "*" "*) ;; *) words="$words $1" ;; esac
		   shift; continue ;;
		esac
		grep -qx "$o" "$TMP/help-names" ||
		    disagree "an example uses --$o, which --help does not list"
		shift
	done
	found=0
	while IFS='|' read -r w a o; do
		case " ${words# } " in " $w "*) found=1 ;; esac
	done <"$TMP/help-cmds"
	[ "$found" -eq 1 ] ||
	    disagree "an example runs '${words# }', not a command of --help"
done <"$TMP/examples"
set +f

# EXIT STATUS: the statuses --help lists are the manual's items.
sed -n '/^EXIT STATUS/,/^$/p' "$TMP/help" | grep -o '\b[0-9][0-9]*\b' |
    grep -v -e '^[1-5]0[0-9]$' | sort -u >"$TMP/help-exits"
awk '
/^\.Sh / { on = ($0 ~ /^\.Sh EXIT STATUS/); depth = 0; next }
!on { next }
/^\.Bl/ { depth++ }
/^\.El/ { depth-- }
/^\.It [0-9]+$/ && depth == 1 { print $2 }' "$PAGE" | sort -u >"$TMP/man-exits"
[ -s "$TMP/help-exits" ] || disagree "no exit statuses in --help"
for s in $(comm -23 "$TMP/help-exits" "$TMP/man-exits"); do
	disagree "exit status $s is in --help but not in the manual"
done
for s in $(comm -13 "$TMP/help-exits" "$TMP/man-exits"); do
	disagree "exit status $s is in the manual but not in --help"
done

hm_done "mailvisorctl and $PAGE"
echo "t012: $(wc -l <"$TMP/help-cmds") commands," \
    "$(wc -l <"$TMP/help-names") options and" \
    "$(wc -l <"$TMP/help-exits") exit statuses agree; lint clean"
