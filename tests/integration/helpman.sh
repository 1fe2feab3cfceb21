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
