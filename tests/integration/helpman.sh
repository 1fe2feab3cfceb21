# The part the --help-versus-manual tests (t010, t011, t012) share:
# sourced by each once it has set T (its name, for messages). Sets TMP
# (removed at exit) and fail() and disagree(): disagreements are all
# reported, then the test fails once (hm_done).

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mv-$T.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT PIPE TERM

fail() {
	echo "$T: FAIL: $*" >&2
	exit 1
}

bad=0
disagree() {
	echo "$T: $*" >&2
	bad=1
}

command -v mandoc >/dev/null 2>&1 ||
    fail "mandoc is not installed (make deps installs it)"

# hm_lint PAGE...: each page that exists passes mandoc's lint at warning
# level, silently.
hm_lint() {
	for p in "$@"; do
		[ -f "$p" ] || continue
		rc=0
		mandoc -Tlint -Wwarning "$p" >"$TMP/lint" 2>&1 || rc=$?
		if [ -s "$TMP/lint" ] || [ "$rc" -ne 0 ]; then
			cat "$TMP/lint" >&2
			disagree "mandoc -Tlint -Wwarning $p: exit $rc, output above"
		fi
	done
}

# hm_man_options PAGE [_]: the manual's OPTIONS into $TMP/man-opts, one
# line per top-level item: "name<TAB>short<TAB> words of its text ", the
# words being the text without macro names, cut at anything but letters,
# digits and _ / . -; name "?" (and the item's line) for an item that
# names no long option. With "_", names are written with '_' for '-'.
hm_man_options() {
	awk -v OFS='\t' -v canon="${2:-}" '
	function flush() {
		if (name != "") {
			gsub(/[^A-Za-z0-9_\/.-]+/, " ", text)
			print name, short, " " text " "
		}
		name = ""; short = ""; text = ""
	}
	/^\.Sh / { if (on) flush(); on = ($2 == "OPTIONS"); depth = 0; next }
	!on { next }
	/^\.Bl/ { depth++ }
	/^\.El/ { depth--; if (depth == 0) flush() }
	/^\.It/ && depth == 1 {
		flush()
		for (i = 1; i < NF; i++) {
			if ($i != "Fl")
				continue
			t = $(i + 1)
			if (t ~ /^-[A-Za-z]/ && name == "") {
				name = substr(t, 2)
				if (canon == "_")
					gsub(/-/, "_", name)
			} else if (t ~ /^[A-Za-z]$/ && short == "")
				short = t
		}
		if (name == "")
			print "?", "", $0
		next
	}
	/^\./ { l = $0; sub(/^\.[A-Za-z]+/, "", l); text = text " " l; next }
	{ text = text " " $0 }
	END { if (on) flush() }' "$1" >"$TMP/man-opts"
}

# hm_options: --help's options in $TMP/help-opts ("name|short|default")
# against the manual's in $TMP/man-opts ("name<TAB>short<TAB>text", name
# "?" for an item that names no long option): no such item, the same
# names, each documented once, with the same short name (or none on both
# sides). Leaves the sorted names in $TMP/help-names and $TMP/man-names.
hm_options() {
	[ -s "$TMP/help-opts" ] || fail "no options found in --help"
	awk -F '\t' '$1 == "?" { print $3 }' "$TMP/man-opts" >"$TMP/man-odd"
	while IFS= read -r l; do
		disagree "OPTIONS item names no long option: $l"
	done <"$TMP/man-odd"
	cut -d '|' -f1 "$TMP/help-opts" | sort >"$TMP/help-names"
	awk -F '\t' '$1 != "?" { print $1 }' "$TMP/man-opts" |
	    sort >"$TMP/man-names"
	[ -s "$TMP/man-names" ] || disagree "no options found in the manual's OPTIONS"
	for n in $(comm -23 "$TMP/help-names" "$TMP/man-names"); do
		disagree "--$n is in --help but not in the manual's OPTIONS"
	done
	for n in $(comm -13 "$TMP/help-names" "$TMP/man-names"); do
		disagree "--$n is in the manual's OPTIONS but not in --help"
	done
	for n in $(uniq -d "$TMP/man-names"); do
		disagree "--$n is documented more than once in the manual's OPTIONS"
	done
	while IFS='|' read -r name short def; do
		line=$(awk -F '\t' -v n="$name" '$1 == n { print; exit }' \
		    "$TMP/man-opts")
		[ -n "$line" ] || continue
		mshort=$(printf '%s\n' "$line" | cut -f2)
		[ "$short" = "$mshort" ] ||
		    disagree "--$name: short option '$short' in --help," \
		    "'$mshort' in the manual"
	done <"$TMP/help-opts"
}

# hm_entry NAME: the text of the manual's entry of --NAME in
# $TMP/man-opts, on stdout.
hm_entry() {
	awk -F '\t' -v n="$1" '$1 == n { print $3; exit }' "$TMP/man-opts"
}

# hm_done WHAT: fails once if anything disagreed.
hm_done() {
	[ "$bad" -eq 0 ] || fail "$1 disagree (above)"
}

# hm_worker PROG BINARY PAGE: a worker's --help and --version work, and
# its manual documents exactly the options and actions --help lists, with
# the same short names and defaults, and passes mandoc's lint.
hm_worker() {
	prog=$1
	bin=$2
	PAGE=$3
	[ -x "$bin" ] || fail "no executable $bin (build it first)"
	[ -f "$PAGE" ] || fail "no manual page $PAGE"

	# --help: exit 0, usage on stdout, nothing on stderr; -h the same.
	rc=0
	"$bin" --help >"$TMP/help" 2>"$TMP/help.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "$prog --help exited $rc"
	[ ! -s "$TMP/help.err" ] ||
	    fail "$prog --help wrote to stderr: $(head -c 300 "$TMP/help.err")"
	grep -q "^usage: $prog " "$TMP/help" ||
	    fail "$prog --help prints no 'usage: $prog' line"
	grep -q '^OPTIONS' "$TMP/help" || fail "$prog --help has no OPTIONS"
	"$bin" -h >"$TMP/help-h" 2>/dev/null || fail "$prog -h failed"
	cmp -s "$TMP/help" "$TMP/help-h" || fail "-h and --help print differently"

	# --version: exit 0, "$prog VERSION".
	rc=0
	"$bin" --version >"$TMP/version" 2>/dev/null || rc=$?
	[ "$rc" -eq 0 ] || fail "$prog --version exited $rc"
	grep -q "^$prog [0-9][0-9.]*" "$TMP/version" ||
	    fail "$prog --version printed '$(head -c 100 "$TMP/version")'"

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

	# Every --option in the examples' $prog command lines is real.
	awk -v prog="$prog" '
	/^\.Bd -literal/ { lit = 1; next }
	/^\.Ed/ { lit = 0; next }
	!lit { next }
	$0 ~ prog { cmd = 1 }
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

	hm_done "$prog --help and $PAGE"
	echo "$T: $(wc -l <"$TMP/help-names") options and" \
	    "$(wc -l <"$TMP/help-actions") actions agree; lint clean"
}
