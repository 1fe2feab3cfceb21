# Mailvisor: gmail-worker, imap-worker, ai-worker, mailvisord, mailvisorctl.
#
#   make              build everything
#   make check        install missing Debian packages (as root), build, run
#                     every unit and integration test
#   make sanitize     the same under AddressSanitizer + UBSan (build-san/)
#   make fuzz         libFuzzer on every parser of outside data, FUZZ_SECONDS
#                     (60) each, one after the other (clang, build-fuzz/);
#                     check and sanitize replay the saved corpus of each
#                     (tests/fuzz/corpus/NAME) without clang
#   make soak         the long soak: 100 000 runs (SOAK_RUNS) through the
#                     daemon, fds, zombies and memory checked; 40 rounds
#                     (CHAOS_ROUNDS) of kill -9 among daemons consuming a
#                     stream
#   make demo         install missing Debian packages (as root), build, run
#                     mailvisord syncing the Gmail API stand-in's mailboxes
#   make bench        benchmarks (print figures, never fail on time;
#                     bench/imap.sh needs the packages of tests/deps.sh check)
#   make deb          the Debian package in $(BUILD)/deb/, checked by lintian
#   make install      PREFIX=/usr/local DESTDIR= BINDIR SBINDIR MANDIR

.DELETE_ON_ERROR:
.SECONDEXPANSION:

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
INSTALL	?= install

CC	?= cc
CFLAGS	?= -O2 -g
WERROR	?= 1
SANITIZE ?= 0
FUZZ	?= 0
FUZZ_SECONDS ?= 60
BUILD	?= build

PKGS	= libcurl jansson libcrypto libbsd-overlay
DPKGS	= libevent hiredis inih jansson libbsd-overlay
MV_WARN	= -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	  -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2
ifeq ($(WERROR),1)
MV_WARN	+= -Werror
endif
MV_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP -I. $(MV_WARN) \
	    $(shell pkg-config --cflags $(PKGS) $(DPKGS) 2>/dev/null)
MV_LIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
MVD_LIBS = $(shell pkg-config --libs $(DPKGS) 2>/dev/null)
# imap-worker: libetpan for IMAP and POP3 over its own OpenSSL connection
# (libetpan's pkg-config also names GnuTLS, SASL and Berkeley DB, which
# it links itself, and a no-PIE specs file: -letpan alone).
IMAP_LIBS = -letpan $(shell pkg-config --libs libssl 2>/dev/null) $(MV_LIBS)
ifeq ($(SANITIZE),1)
MV_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
MV_LDFLAGS += -fsanitize=address,undefined
endif
# make fuzz: clang's coverage for libFuzzer in every object, the fuzzer's
# main() only in the harnesses (FUZZ_MAIN).
ifeq ($(FUZZ),1)
MV_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined \
	     -fno-omit-frame-pointer -fno-sanitize-recover=undefined
MV_LDFLAGS += -fsanitize=address,undefined
FUZZ_MAIN = -fsanitize=fuzzer
else
FUZZ_MAIN = $(OBJ)/tests/fuzz/replay.o
endif

SHARED_SRC	= $(sort $(wildcard shared/*.c))
# The common mail code: RFC 5322/MIME to the EMAIL object, charsets,
# encoded words, addresses, dates, MIME composition, credentials and OAuth2
# grants; linked by the mail workers (gmail-worker), not by ai-worker.
MAIL_SRC	= $(addprefix common/,addr.c charset.c compose.c creds.c date.c \
		  mime.c oauth.c rfc2047.c)
COMMON_SRC	= $(filter-out $(MAIL_SRC),$(sort $(wildcard common/*.c)))
WORKER_SRC	= $(sort $(wildcard gmail-worker/*.c))
AI_SRC		= $(sort $(wildcard ai-worker/*.c))
IMAP_SRC	= $(sort $(wildcard imap-worker/*.c))
SUPER_SRC	= $(sort $(wildcard supervisor/*.c))
SUPER_MAINS	= supervisor/mailvisord.c supervisor/mailvisorctl.c
CHECK_SRC	= $(sort $(wildcard tests/unit/check_*.c))
FUZZ_SRC	= $(sort $(wildcard tests/fuzz/fuzz_*.c))

OBJ		= $(BUILD)/obj
SHARED_OBJS	= $(SHARED_SRC:%.c=$(OBJ)/%.o)
# The workers' common code (HTTP engine, retries, pacing, output, HTML to
# text), linked by gmail-worker and ai-worker; never by the daemon.
COMMON_OBJS	= $(COMMON_SRC:%.c=$(OBJ)/%.o)
MAIL_OBJS	= $(MAIL_SRC:%.c=$(OBJ)/%.o)
WORKER_OBJS	= $(filter-out $(OBJ)/gmail-worker/main.o,$(WORKER_SRC:%.c=$(OBJ)/%.o))
AI_OBJS		= $(filter-out $(OBJ)/ai-worker/main.o,$(AI_SRC:%.c=$(OBJ)/%.o))
IMAP_OBJS	= $(filter-out $(OBJ)/imap-worker/main.o,$(IMAP_SRC:%.c=$(OBJ)/%.o))
SUPER_OBJS	= $(patsubst %.c,$(OBJ)/%.o,$(filter-out $(SUPER_MAINS),$(SUPER_SRC)))
CHECKS		= $(CHECK_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZERS		= $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
TEST_WORKERS	= $(patsubst tests/workers/%.c,$(BUILD)/tests/%,$(wildcard tests/workers/*.c))

PROGS		= $(BUILD)/gmail-worker $(BUILD)/ai-worker $(BUILD)/imap-worker \
		  $(BUILD)/mailvisord \
		  $(if $(wildcard supervisor/mailvisorctl.c),$(BUILD)/mailvisorctl)
# mailvisorctl: the route table, the configuration reader for [http], and
# its own parts in supervisor/ctl/.
CTL_OBJS	= $(addprefix $(OBJ)/supervisor/,routes.o conf.o sched.o backoff.o \
		  ctl/target.o ctl/client.o ctl/print.o)

# The objects each unit test links besides shared/ (one line per test).
CHECK_DEPS_check_shared	=
CHECK_DEPS_check_charset = common/charset.o
CHECK_DEPS_check_rfc2047 = common/rfc2047.o common/charset.o
CHECK_DEPS_check_addr	= common/addr.o common/rfc2047.o common/charset.o
CHECK_DEPS_check_date	= common/date.o
CHECK_DEPS_check_html2text = common/html2text.o
CHECK_DEPS_check_mime	= common/mime.o common/html2text.o common/charset.o common/rfc2047.o common/addr.o common/date.o
CHECK_DEPS_check_creds	= common/creds.o common/oauth.o
CHECK_DEPS_check_compose = common/compose.o common/rfc2047.o common/charset.o
CHECK_DEPS_check_pace	= common/pace.o
CHECK_DEPS_check_redact = common/redact.o
CHECK_DEPS_check_retry	= common/retry.o
CHECK_DEPS_check_batch	= gmail-worker/batch.o common/retry.o common/rfc2047.o common/charset.o
CHECK_DEPS_check_opts	= gmail-worker/opts.o common/cli.o
CHECK_DEPS_check_msgid	= imap-worker/msgid.o
CHECK_DEPS_check_mutf7	= imap-worker/mutf7.o
CHECK_DEPS_check_gmlabels = imap-worker/gmlabels.o imap-worker/mutf7.o
CHECK_LIBS_check_gmlabels = -letpan
CHECK_DEPS_check_uidset = imap-worker/uidset.o
CHECK_DEPS_check_account = imap-worker/account.o common/creds.o
CHECK_DEPS_check_ai_schema = ai-worker/schema.o
CHECK_DEPS_check_ai_chat = ai-worker/chat.o
CHECK_DEPS_check_ai_prompt = ai-worker/prompt.o ai-worker/input.o ai-worker/schema.o common/html2text.o
CHECK_DEPS_check_conf	= supervisor/conf.o supervisor/sched.o supervisor/backoff.o
CHECK_DEPS_check_sched	= supervisor/sched.o
CHECK_DEPS_check_backoff = supervisor/backoff.o
CHECK_DEPS_check_child	= supervisor/child.o
CHECK_DEPS_check_record	=
CHECK_DEPS_check_stats	= supervisor/rds.o supervisor/stats.o \
			  tests/unit/redis_scratch.o
CHECK_DEPS_check_routes	= supervisor/routes.o
CHECK_DEPS_check_ctl	= supervisor/ctl/print.o supervisor/ctl/target.o supervisor/ctl/client.o supervisor/routes.o supervisor/conf.o supervisor/sched.o supervisor/backoff.o
CHECK_DEPS_check_metrics = supervisor/metrics.o
CHECK_DEPS_check_queue = supervisor/queue.o supervisor/rds.o supervisor/stats.o supervisor/conf.o supervisor/sched.o supervisor/backoff.o \
			  tests/unit/redis_scratch.o

# The objects each fuzz harness links besides shared/ and tests/fuzz/fuzz.o
# (one line per harness; tests/fuzz/fuzz_NAME.c, corpus in
# tests/fuzz/corpus/NAME).
MIME_DEPS	= common/mime.o common/html2text.o common/charset.o common/rfc2047.o common/addr.o common/date.o
FUZZ_DEPS_fuzz_mime_raw	= $(MIME_DEPS)
FUZZ_DEPS_fuzz_mime_json = $(MIME_DEPS)
FUZZ_DEPS_fuzz_rfc2047	= common/rfc2047.o common/charset.o
FUZZ_DEPS_fuzz_addr	= common/addr.o common/rfc2047.o common/charset.o
FUZZ_DEPS_fuzz_date	= common/date.o
FUZZ_DEPS_fuzz_retry	= common/retry.o
FUZZ_DEPS_fuzz_html2text = common/html2text.o
FUZZ_DEPS_fuzz_batch	= gmail-worker/batch.o common/retry.o common/rfc2047.o common/charset.o
FUZZ_DEPS_fuzz_creds	= common/creds.o common/oauth.o
FUZZ_DEPS_fuzz_imapnames = imap-worker/msgid.o imap-worker/mutf7.o imap-worker/uidset.o
FUZZ_DEPS_fuzz_ai_input = ai-worker/input.o
FUZZ_DEPS_fuzz_conf	= supervisor/conf.o supervisor/sched.o supervisor/backoff.o
FUZZ_DEPS_fuzz_command	= supervisor/conf.o supervisor/sched.o supervisor/backoff.o
FUZZ_DEPS_fuzz_sched	= supervisor/sched.o
FUZZ_DEPS_fuzz_tzif	= supervisor/sched.o
FUZZ_DEPS_fuzz_output	= supervisor/child.o
FUZZ_DEPS_fuzz_routes	= supervisor/routes.o
FUZZ_DEPS_fuzz_reqbody	= supervisor/reqbody.o supervisor/routes.o

all: $(PROGS)

$(BUILD)/gmail-worker: $(OBJ)/gmail-worker/main.o $(WORKER_OBJS) $(MAIL_OBJS) \
		$(COMMON_OBJS) $(SHARED_OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) -o $@ $^ $(MV_LIBS)

$(BUILD)/ai-worker: $(OBJ)/ai-worker/main.o $(AI_OBJS) $(COMMON_OBJS) \
		$(SHARED_OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) -o $@ $^ $(MV_LIBS)

$(BUILD)/imap-worker: $(OBJ)/imap-worker/main.o $(IMAP_OBJS) $(MAIL_OBJS) \
		$(COMMON_OBJS) $(SHARED_OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) -o $@ $^ $(IMAP_LIBS)

$(BUILD)/mailvisord: $(OBJ)/supervisor/mailvisord.o $(SUPER_OBJS) $(SHARED_OBJS) \
		$(OBJ)/supervisor/dashboard_html.o
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) -o $@ $^ $(MVD_LIBS)

# The dashboard page as dashboard_html[] and dashboard_html_len (C made
# with od and sed, then compiled), linked into mailvisord only.
$(OBJ)/supervisor/dashboard_html.o: supervisor/dashboard.html
	@mkdir -p $(@D)
	@echo "  GEN     $(@:.o=.c)"
	@{ echo '/* Generated from $<: do not edit. */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char dashboard_html[];'; \
	  echo 'extern const size_t dashboard_html_len;'; \
	  echo 'const unsigned char dashboard_html[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; \
	  echo 'const size_t dashboard_html_len = sizeof(dashboard_html) - 1;'; \
	} >$(@:.o=.c)
	@$(CC) $(CFLAGS) $(filter-out -MMD -MP,$(MV_CFLAGS)) -c -o $@ $(@:.o=.c)

$(BUILD)/mailvisorctl: $(OBJ)/supervisor/mailvisorctl.o $(CTL_OBJS) $(SHARED_OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) -o $@ $^ $(MV_LIBS) \
		$$(pkg-config --libs inih)

$(BUILD)/tests/mv-%: tests/workers/mv-%.c
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(MV_WARN) $(LDFLAGS) -o $@ $<

# The baseline loop keeps its own style and flags (it defines _GNU_SOURCE).
$(BUILD)/spawnlimit: bench/spawnlimit.c
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -O2 -Wall $(LDFLAGS) -o $@ $< -lhiredis

$(BUILD)/rwait: bench/rwait.c
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(MV_WARN) $(LDFLAGS) -o $@ $< -lhiredis

# Static: a run then costs the supervisor's work, not the loader's.
$(BUILD)/okworker: bench/okworker.c
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -O2 $(MV_WARN) $(LDFLAGS) -static -o $@ $<

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(MV_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(SHARED_OBJS) \
		$$(addprefix $(OBJ)/,$$(CHECK_DEPS_$$*))
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) -o $@ $^ $(MV_LIBS) $(MVD_LIBS) \
		$(CHECK_LIBS_$*) $$(pkg-config --libs check)

# A harness: libFuzzer's main() under make fuzz, else the replay driver.
$(BUILD)/tests/fuzz/%: $(OBJ)/tests/fuzz/%.o $(OBJ)/tests/fuzz/fuzz.o \
		$(SHARED_OBJS) $$(addprefix $(OBJ)/,$$(FUZZ_DEPS_$$*)) \
		$(filter-out -fsanitize=fuzzer,$(FUZZ_MAIN))
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(MV_LDFLAGS) $(filter -fsanitize=fuzzer,$(FUZZ_MAIN)) \
		-o $@ $(filter %.o,$^) $(MV_LIBS) $(MVD_LIBS)

# Tests build argv arrays from string literals.
$(OBJ)/tests/unit/%.o: MV_CFLAGS += -Wno-write-strings

checks: $(CHECKS) $(TEST_WORKERS) $(FUZZERS)

fuzzers: $(FUZZERS)

deps:
	@tests/deps.sh

check: deps
	@$(MAKE) --no-print-directory all checks
	@tests/run-unit.sh $(BUILD)
	@tests/fuzz/replay.sh $(BUILD)
	@tests/run-integration.sh $(BUILD)

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-san SANITIZE=1 all checks
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 tests/run-unit.sh build-san && \
	 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 tests/fuzz/replay.sh build-san && \
	 ASAN_OPTIONS=detect_leaks=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 SOAK_RUNS=3000 QUEUE_JOBS=1000 \
	 MV_SANITIZE=1 \
	 tests/run-integration.sh build-san

# clang and its libFuzzer runtime (tests/deps.sh fuzz), then each harness
# FUZZ_SECONDS on its saved corpus, new inputs in build-fuzz/corpus/NAME
# (tests/fuzz/run.sh: FUZZ_MERGE=1 merges them into the saved corpus).
fuzz:
	@tests/deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang FUZZ=1 fuzzers
	@tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

demo:
	@tests/deps.sh demo
	@$(MAKE) --no-print-directory all
	@tests/demo.sh $(BUILD)

# make check runs t150 with 5 000 runs; this is the long one.
soak: deps
	@$(MAKE) --no-print-directory all checks
	@SOAK_RUNS=$${SOAK_RUNS:-100000} CHAOS_ROUNDS=$${CHAOS_ROUNDS:-40} \
	 TEST_TIMEOUT=3600 JOBS=1 ONLY="t150-mvd-soak t246-mvd-consume-chaos" \
	 tests/run-integration.sh $(BUILD)

# Builds from a copy of the tree; needs debhelper and lintian (make deps).
deb:
	@packaging/mkdeb.sh $(BUILD)

BENCH_BIN = $(BUILD)/runstat $(BUILD)/spawnloop $(BUILD)/spawnlimit \
	    $(BUILD)/okworker $(BUILD)/rwait

bench: all checks $(BENCH_BIN)
	@bench/run.sh $(BUILD)
	@bench/quota.sh $(BUILD)
	@bench/sync.sh $(BUILD)
	@bench/mvd.sh $(BUILD)
	@bench/ai.sh $(BUILD)
	@bench/imap.sh $(BUILD)

bench-bin: all checks $(BENCH_BIN)

$(BUILD)/runstat $(BUILD)/spawnloop: $(BUILD)/%: bench/%.c
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE $(MV_WARN) $(LDFLAGS) -o $@ $<

install: all
	$(INSTALL) -D -m 0755 $(BUILD)/gmail-worker $(DESTDIR)$(BINDIR)/gmail-worker
	$(INSTALL) -D -m 0755 $(BUILD)/ai-worker $(DESTDIR)$(BINDIR)/ai-worker
	$(INSTALL) -D -m 0755 $(BUILD)/imap-worker $(DESTDIR)$(BINDIR)/imap-worker
	$(INSTALL) -D -m 0755 ai-worker/mailvisor-ai $(DESTDIR)$(BINDIR)/mailvisor-ai
	$(INSTALL) -D -m 0755 $(BUILD)/mailvisord $(DESTDIR)$(SBINDIR)/mailvisord
	$(INSTALL) -D -m 0755 $(BUILD)/mailvisorctl $(DESTDIR)$(BINDIR)/mailvisorctl
	$(INSTALL) -D -m 0644 man/gmail-worker.1 $(DESTDIR)$(MANDIR)/man1/gmail-worker.1
	$(INSTALL) -D -m 0644 man/ai-worker.1 $(DESTDIR)$(MANDIR)/man1/ai-worker.1
	$(INSTALL) -D -m 0644 man/imap-worker.1 $(DESTDIR)$(MANDIR)/man1/imap-worker.1
	$(INSTALL) -D -m 0644 man/mailvisor-ai.1 $(DESTDIR)$(MANDIR)/man1/mailvisor-ai.1
	$(INSTALL) -D -m 0644 man/mailvisorctl.1 $(DESTDIR)$(MANDIR)/man1/mailvisorctl.1
	$(INSTALL) -D -m 0644 man/mailvisord.8 $(DESTDIR)$(MANDIR)/man8/mailvisord.8
	$(INSTALL) -D -m 0644 man/mailvisord.conf.5 $(DESTDIR)$(MANDIR)/man5/mailvisord.conf.5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gmail-worker $(DESTDIR)$(SBINDIR)/mailvisord
	rm -f $(DESTDIR)$(BINDIR)/mailvisorctl $(DESTDIR)$(BINDIR)/ai-worker
	rm -f $(DESTDIR)$(BINDIR)/imap-worker $(DESTDIR)$(BINDIR)/mailvisor-ai
	rm -f $(DESTDIR)$(MANDIR)/man1/ai-worker.1
	rm -f $(DESTDIR)$(MANDIR)/man1/imap-worker.1
	rm -f $(DESTDIR)$(MANDIR)/man1/mailvisor-ai.1
	rm -f $(DESTDIR)$(MANDIR)/man1/gmail-worker.1
	rm -f $(DESTDIR)$(MANDIR)/man1/mailvisorctl.1
	rm -f $(DESTDIR)$(MANDIR)/man8/mailvisord.8
	rm -f $(DESTDIR)$(MANDIR)/man5/mailvisord.conf.5

lint-man:
	mandoc -Tlint -Wwarning man/*.[158]

clean:
	rm -rf build build-san build-fuzz

.PHONY: all checks fuzzers deps check sanitize soak fuzz demo deb bench bench-bin install uninstall lint-man clean

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
