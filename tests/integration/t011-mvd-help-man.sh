#!/bin/sh
# t011: mailvisord --help and --version work, mailvisord(8) documents
# exactly the options that --help lists, with the same short names and the
# same default configuration file, and the exit statuses seen here; the
# daemon's manual pages pass mandoc's lint; usage errors exit 64.
set -eu

: "${MV_BUILD:?MV_BUILD must name the build directory}"
: "${MV_TOP:?MV_TOP must name the source tree}"
MVD=$MV_BUILD/mailvisord
PAGE=${MV_MANPAGE:-$MV_TOP/man/mailvisord.8}
CONFPAGE=${MV_CONFPAGE:-$MV_TOP/man/mailvisord.conf.5}

T=t011
. "$MV_TOP/tests/integration/helpman.sh"

[ -x "$MVD" ] || fail "no executable $MVD (build it first)"
[ -f "$PAGE" ] || fail "no manual page $PAGE"

# run CMD...: runs it with stdout in $TMP/out, stderr in $TMP/err and the
# exit status in $RC. Never fails itself.
run() {
	RC=0
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}

# --help: exit 0, usage on stdout, nothing on stderr; -h the same.
run "$MVD" --help
[ "$RC" -eq 0 ] || fail "mailvisord --help exited $RC"
[ ! -s "$TMP/err" ] ||
    fail "mailvisord --help wrote to stderr: $(head -c 300 "$TMP/err")"
grep -q '^usage: mailvisord ' "$TMP/out" ||
    fail "mailvisord --help prints no 'usage: mailvisord' line"
cp "$TMP/out" "$TMP/help"
run "$MVD" -h
[ "$RC" -eq 0 ] || fail "mailvisord -h exited $RC"
cmp -s "$TMP/help" "$TMP/out" || fail "-h and --help print differently"

# --version and -V: exit 0, "mailvisord VERSION" on stdout.
for opt in --version -V; do
	run "$MVD" "$opt"
	[ "$RC" -eq 0 ] || fail "mailvisord $opt exited $RC"
	grep -q '^mailvisord [0-9][0-9]*\.[0-9][0-9.]*' "$TMP/out" ||
	    fail "mailvisord $opt printed '$(head -c 100 "$TMP/out")'"
	[ ! -s "$TMP/err" ] || fail "mailvisord $opt wrote to stderr"
done

# Usage errors exit 64 with the usage on stderr and nothing on stdout,
# before any configuration is read.
for args in --no-such-option -Z --run -c operand --check-config=yes \
    "-n operand"; do
	# shellcheck disable=SC2086
	run "$MVD" $args
	[ "$RC" -eq 64 ] || disagree "mailvisord $args exited $RC, not 64"
	grep -q '^usage: mailvisord ' "$TMP/err" ||
	    disagree "mailvisord $args printed no usage on stderr"
	[ ! -s "$TMP/out" ] || disagree "mailvisord $args wrote to stdout"
done

# The exit statuses the page must explain: 0 and 64 (seen above), 78 for a
# file that cannot be loaded, 0 with "configuration OK" for a good one.
run "$MVD" -n -c "$TMP/missing.conf"
[ "$RC" -eq 78 ] || disagree "-n with a missing file exited $RC, not 78"
: >"$TMP/empty.conf"
run "$MVD" --check-config --config "$TMP/empty.conf"
[ "$RC" -eq 0 ] || disagree "-n with an empty file exited $RC, not 0"
grep -qx 'configuration OK' "$TMP/out" ||
    disagree "-n with a good file printed '$(head -c 100 "$TMP/out")'"

hm_lint "$PAGE" "$CONFPAGE"

# --help's options: "name|short|default" (short and default may be empty).
awk -v OFS='|' '
/^ +-/ {
	name = ""; short = ""; def = ""
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^-[A-Za-z],$/ && short == "")
			short = substr($i, 2, 1)
		else if ($i ~ /^--[A-Za-z]/) {
			name = substr($i, 3)
			break
		}
	}
	if (name == "")
		next
	if (match($0, /\(default [^)]*\)/))
		def = substr($0, RSTART + 9, RLENGTH - 10)
	print name, short, def
}' "$TMP/help" >"$TMP/help-opts"

hm_man_options "$PAGE"

hm_options

# Where --help gives a default, the manual's entry names it too.
while IFS='|' read -r name short def; do
	[ -n "$def" ] || continue
	case $(hm_entry "$name") in
	*"$def"*) ;;
	*) disagree "--$name: --help says default '$def'; the manual's" \
	    "entry does not" ;;
	esac
done <"$TMP/help-opts"

# Every flag of the SYNOPSIS, and every "Fl" anywhere in the page, is a
# real option; every option appears in the SYNOPSIS. Short flags count by
# letter ("Fl dn" is -d and -n), long ones by name.
{
	cut -d '|' -f1 "$TMP/help-opts" | sed 's/^/--/'
	cut -d '|' -f2 "$TMP/help-opts" | sed '/^$/d; s/^/-/'
} | sort -u >"$TMP/help-flags"
flags() {
	awk -v synopsis="$1" '
	/^\.Sh / { on = ($2 == "SYNOPSIS"); next }
	synopsis == "yes" && !on { next }
	/^\./ {
		for (i = 1; i <= NF; i++) {
			if ($i != "Fl" && $i != ".Fl")
				continue
			for (j = i + 1; j <= NF; j++) {
				t = $j
				if (t == "|")
					continue
				if (t ~ /^[A-Z][a-z][a-z]?$/ || t !~ /^-?[A-Za-z]/)
					break
				if (t ~ /^-/)
					print "-" t
				else
					for (k = 1; k <= length(t); k++)
						print "-" substr(t, k, 1)
			}
		}
	}' "$PAGE" | sort -u
}
flags yes >"$TMP/synopsis-flags"
flags no >"$TMP/page-flags"
for f in $(comm -23 "$TMP/page-flags" "$TMP/help-flags"); do
	disagree "the manual mentions $f, which --help does not list"
done
while IFS='|' read -r name short def; do
	if [ -n "$short" ]; then
		grep -qx -- "-$short" "$TMP/synopsis-flags" ||
		    grep -qx -- "--$name" "$TMP/synopsis-flags" ||
		    disagree "-$short (--$name) is not in the SYNOPSIS"
	else
		grep -qx -- "--$name" "$TMP/synopsis-flags" ||
		    disagree "--$name is not in the SYNOPSIS"
	fi
done <"$TMP/help-opts"

# The manual's EXIT STATUS: one top-level "It N" item per status; the
# statuses seen above are all there.
awk '
/^\.Sh / { on = ($0 ~ /^\.Sh EXIT STATUS/); depth = 0; next }
!on { next }
/^\.Bl/ { depth++ }
/^\.El/ { depth-- }
/^\.It [0-9]+$/ && depth == 1 { print $2 }' "$PAGE" | sort -u >"$TMP/man-exits"
for s in 0 64 78; do
	grep -qx "$s" "$TMP/man-exits" ||
	    disagree "exit status $s is not in the manual's EXIT STATUS"
done

hm_done "mailvisord and $PAGE"
echo "t011: $(wc -l <"$TMP/help-names") options agree; exit statuses" \
    "documented; lint clean"
