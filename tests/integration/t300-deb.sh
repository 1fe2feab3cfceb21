# t300: make deb builds a lintian-clean .deb (packaging/mkdeb.sh); unpacked
# into a scratch root it holds the three programs, their manual pages, the
# systemd unit, the example configuration as a conffile and the system
# user; the installed mailvisord accepts the installed example.
. "$MV_TOP/tests/integration/lib.sh"

# The package never holds sanitizer builds: one run, in make check, is enough.
if [ "${MV_SANITIZE:-0}" = 1 ]; then
	echo "t300: the package is built and checked by make check, not again under the sanitizers"
	exit 77
fi

"$MV_TOP/packaging/mkdeb.sh" "$MV_BUILD" >"$TMP/mkdeb.out" 2>"$TMP/mkdeb.err" ||
    fail "make deb: $(tail -n 30 "$TMP/mkdeb.err")"
deb=$(tail -n 1 "$TMP/mkdeb.out")
[ -f "$deb" ] || fail "make deb printed no package: $(cat "$TMP/mkdeb.out")"
grep -q '^[EW]: ' "$TMP/mkdeb.err" && fail "lintian: $(grep '^[EW]: ' "$TMP/mkdeb.err")"

# The control data.
expect_eq "$(dpkg-deb -f "$deb" Package)" mailvisor Package
expect_eq "$(dpkg-deb -f "$deb" Architecture)" "$(dpkg --print-architecture)" \
    Architecture
version=$(dpkg-deb -f "$deb" Version)
for lib in libcurl3-gnutls libetpan20 libssl3 libjansson4; do
	dpkg-deb -f "$deb" Depends | grep -q "$lib" ||
	    fail "Depends lacks $lib: $(dpkg-deb -f "$deb" Depends)"
done
mkdir "$TMP/ctrl"
dpkg-deb -e "$deb" "$TMP/ctrl"
expect_eq "$(cat "$TMP/ctrl/conffiles")" /etc/mailvisor/mailvisord.conf conffiles
grep -q 'systemd-sysusers.*mailvisor.conf' "$TMP/ctrl/postinst" ||
    fail "postinst does not create the system user"
grep -q 'dpkg-statoverride --update --add mailvisor mailvisor 0700 ' \
    "$TMP/ctrl/postinst" || fail "postinst leaves the credentials to root"

# The files, in a scratch root.
R=$TMP/root
mkdir "$R"
dpkg-deb -x "$deb" "$R"
for p in usr/bin/gmail-worker usr/bin/imap-worker usr/bin/ai-worker \
    usr/sbin/mailvisord \
    usr/bin/mailvisorctl; do
	[ -f "$R/$p" ] && [ -x "$R/$p" ] || fail "/$p: missing or not executable"
	name=$(basename "$p")
	"$R/$p" --version >"$TMP/version" 2>&1 || fail "/$p --version failed"
	expect_eq "$(cat "$TMP/version")" "$name $version" "/$p --version"
done
[ -x "$R/usr/bin/mailvisor-ai" ] || fail "/usr/bin/mailvisor-ai: missing or not executable"
"$R/usr/bin/mailvisor-ai" --help | grep -q 'gmail-worker' ||
    fail "/usr/bin/mailvisor-ai --help"
for m in man1/gmail-worker.1 man1/imap-worker.1 man1/ai-worker.1 \
    man1/mailvisor-ai.1 man1/mailvisorctl.1 \
    man5/mailvisord.conf.5 man8/mailvisord.8; do
	f=$R/usr/share/man/$m.gz
	[ -f "$f" ] || fail "/usr/share/man/$m.gz missing"
	page=$TMP/$(basename "$m")
	gzip -dc "$f" >"$page"
	cmp -s "$page" "$MV_TOP/man/$(basename "$m")" ||
	    fail "/usr/share/man/$m.gz differs from man/$(basename "$m")"
	rc=0
	mandoc -Tlint -Wwarning "$page" >"$TMP/lint" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && [ ! -s "$TMP/lint" ] ||
	    fail "mandoc -Tlint on $m: $(cat "$TMP/lint")"
done
cmp -s "$R/etc/mailvisor/mailvisord.conf" "$MV_TOP/packaging/mailvisord.conf" ||
    fail "/etc/mailvisor/mailvisord.conf is not packaging/mailvisord.conf"
[ -d "$R/etc/mailvisor/credentials" ] || fail "no /etc/mailvisor/credentials"
[ -f "$R/usr/share/doc/mailvisor/copyright" ] || fail "no copyright file"

# The unit: the one in packaging/systemd, with its hardening.
unit=$R/lib/systemd/system/mailvisord.service
cmp -s "$unit" "$MV_TOP/packaging/systemd/mailvisord.service" ||
    fail "the unit is not packaging/systemd/mailvisord.service"
for l in Type=notify NotifyAccess=main WatchdogSec=30 \
    'ExecStart=/usr/sbin/mailvisord -c /etc/mailvisor/mailvisord.conf' \
    'ExecReload=/bin/kill -HUP $MAINPID' User=mailvisor \
    StateDirectory=mailvisor NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
    ProtectKernelTunables=yes ProtectKernelModules=yes \
    ProtectControlGroups=yes \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    RestrictNamespaces=yes LockPersonality=yes MemoryDenyWriteExecute=yes \
    SystemCallArchitectures=native CapabilityBoundingSet= \
    Restart=on-failure KillMode=mixed; do
	grep -qxF -- "$l" "$unit" || fail "the unit lacks '$l'"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# Verified with the scratch root's daemon and manual pages.
	sed "s|/usr/sbin/mailvisord|$R/usr/sbin/mailvisord|g" "$unit" \
	    >"$TMP/mailvisord.service"
	MANPATH=$R/usr/share/man systemd-analyze verify \
	    "$TMP/mailvisord.service" >"$TMP/verify" 2>&1 ||
	    fail "systemd-analyze verify: $(cat "$TMP/verify")"
else
	echo "t300: no systemd-analyze: the unit is not verified"
fi

# The system user, as systemd-sysusers makes it from the package's file.
sysusers=$R/usr/lib/sysusers.d/mailvisor.conf
grep -q '^u mailvisor - ".*" /var/lib/mailvisor /usr/sbin/nologin$' "$sysusers" ||
    fail "sysusers.d: $(cat "$sysusers")"
if command -v systemd-sysusers >/dev/null 2>&1; then
	mkdir -p "$TMP/users/etc"
	systemd-sysusers --root="$TMP/users" "$sysusers" >/dev/null 2>&1 ||
	    fail "systemd-sysusers refused $sysusers"
	grep -q '^mailvisor:x:[0-9]*:[0-9]*:[^:]*:/var/lib/mailvisor:/usr/sbin/nologin$' \
	    "$TMP/users/etc/passwd" || fail "passwd: $(cat "$TMP/users/etc/passwd")"
	grep -q '^mailvisor:x:' "$TMP/users/etc/group" || fail "no group mailvisor"
fi

# The installed daemon accepts the installed example configuration.
rc=0
"$R/usr/sbin/mailvisord" -n -c "$R/etc/mailvisor/mailvisord.conf" \
    >"$TMP/check" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "mailvisord -n on the example: exit $rc: $(cat "$TMP/check")"
expect_eq "$(cat "$TMP/check")" "configuration OK" "mailvisord -n"
echo "t300: $deb ($version) checked"
