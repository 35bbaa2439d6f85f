# fwd - userspace firewall for Linux gateways.
# `make` builds build/fwd; `make check` runs every test (see README.md).

CC        ?= cc
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
DESTDIR   ?=
WERROR    ?= -Werror
B         ?= build

PKGS      := libnetfilter_queue libmnl yaml-0.1 liburcu-qsbr libcap-ng libseccomp libcurl json-c
WARN      := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wcast-qual -fstack-protector-strong $(WERROR)
OPT       ?= -O2 -g
CPPFLAGS  += -Iinclude -D_GNU_SOURCE
CFLAGS    += $(OPT) $(WARN) $(EXTRA_CFLAGS)
PKGCFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS    += $(PKGLIBS) -lpthread $(EXTRA_LDFLAGS)

SRC       := $(wildcard fwd/*.c)
OBJ       := $(SRC:fwd/%.c=$(B)/obj/%.o)
LIBOBJ    := $(filter-out $(B)/obj/main.o,$(OBJ))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TESTLIB   := $(wildcard tests/lib/*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
DEPSTAMP  := build/.deps-ok
JOBS      ?= $(shell nproc 2>/dev/null || echo 1)

.PHONY: all built deps check check-system unit golden e2e asan tsan scan bench fuzz soak demo install uninstall deb lintian clean graph
all: $(B)/fwd

# Every target that compiles or runs fwd makes sure the Debian packages are there.
deps: $(DEPSTAMP)
$(DEPSTAMP): packaging/deps.sh
	@mkdir -p build
	@sh packaging/deps.sh
	@touch $@

# -MMD -MP: each object's header dependencies, from the compiler (build/obj/*.d).
$(B)/obj/%.o: fwd/%.c | $(DEPSTAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKGCFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJ:.o=.d)

$(B)/libfwd.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/fwd: $(B)/obj/main.o $(B)/libfwd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(TESTLIB) $(B)/libfwd.a $(wildcard tests/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/lib $(PKGCFLAGS) $(CFLAGS) -o $@ $< $(TESTLIB) $(B)/libfwd.a \
		$(LDFLAGS) $(LDLIBS) -lcmocka

$(B)/bench/%: tests/bench/%.c $(TESTLIB) $(B)/libfwd.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/lib $(PKGCFLAGS) $(CFLAGS) -o $@ $< $(TESTLIB) $(B)/libfwd.a \
		$(LDFLAGS) $(LDLIBS)

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

# The binaries of one build (B) that check's suites run: made with -j$(JOBS) first.
built: $(B)/fwd $(UNIT_BIN)

# The objects' dependency graph (nm): fails when modules form a cycle.
graph: $(LIBOBJ)
	@python3 tests/tools/modgraph.py $(LIBOBJ)

golden: $(B)/fwd
	@sh tests/golden/run.sh $(B)/fwd

e2e: $(B)/fwd $(UNIT_BIN) $(B)/bench/spoof $(B)/bench/blast $(B)/bench/sink
	@sh tests/e2e/run.sh $(B)/fwd $(B)

# The unit and golden tests again, built with ASan and UBSan by clang.
ASAN_MAKE = $(MAKE) --no-print-directory B=build/asan CC=clang \
	OPT="-O1 -g -fno-omit-frame-pointer" \
	EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	EXTRA_LDFLAGS="-fsanitize=address,undefined"
asan:
	@$(ASAN_MAKE) -j$(JOBS) built
	@$(ASAN_MAKE) unit golden

# The threaded unit tests (dynamic tables under several writers, the log
# ring, the control socket under concurrent clients and reloads, CrowdSec's
# outbox under four producers, the client against a server thread) built
# with ThreadSanitizer by clang: every unit test that starts a thread.
TSAN_TESTS := $(basename $(notdir $(shell grep -l pthread_create tests/unit/*.c)))
tsan:
	@$(MAKE) --no-print-directory -j$(JOBS) B=build/tsan CC=clang OPT="-O1 -g" \
		EXTRA_CFLAGS="-fsanitize=thread" EXTRA_LDFLAGS="-fsanitize=thread" \
		$(TSAN_TESTS:%=build/tsan/tests/%)
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		sh tests/run-unit.sh $(TSAN_TESTS:%=build/tsan/tests/%)

# clang's static analyzer over every object; a report fails the target.
scan:
	@rm -rf build/scan
	@scan-build --status-bugs -o build/scan/report $(MAKE) --no-print-directory -j$(JOBS) \
		B=build/scan OPT="-O1 -g" build/scan/fwd

# check runs every fuzz target briefly, so that the targets keep building
# and their corpora keep passing; `make fuzz` alone runs them longer.
check: all
	@$(MAKE) --no-print-directory -j$(JOBS) built
	@$(MAKE) --no-print-directory graph unit golden asan tsan scan e2e
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
	@echo "make check: all suites passed"

# The package under a real systemd: debootstrap (cached in $(B)/system),
# systemd-nspawn, install, reload, watchdog, kill -9, node_exporter, purge.
check-system: $(B)/fwd
	@bash tests/system/run.sh $(B)

bench: $(B)/fwd $(BENCH_BIN)
	@sh tests/bench/run.sh $(B)

fuzz:
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# Not part of check: SOAK_SECONDS (default 600) of load and churn.
soak: $(B)/fwd $(B)/bench/blast
	@bash tests/soak/soak.sh $(B)/fwd $(B)

demo: $(B)/fwd
	@sh tests/demo.sh $(B)/fwd

# Installation paths. /etc is not under PREFIX: the unit and fwd's default
# -c name /etc/fwd/rules.yaml. systemd also reads units from
# /usr/local/lib/systemd/system, so the unit follows PREFIX too.
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/fwd
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANPAGES   := packaging/man/fwd.8 packaging/man/fwd-rules.5
EXAMPLES   := $(wildcard rules/*.yaml rules/*.netset)
HAFILES    := packaging/ha/keepalived.conf packaging/ha/conntrackd.conf packaging/ha/fwd-ha-notify
ETCFILES   := fwd/rules.yaml:rules/default.yaml logrotate.d/fwd:packaging/fwd.logrotate

# The files under /etc are an operator's: installed when absent, never
# overwritten, and removed by uninstall only while unchanged.
install: $(B)/fwd
	install -D -m 0755 $(B)/fwd $(DESTDIR)$(SBINDIR)/fwd
	@for m in $(MANPAGES); do \
		s=$${m##*.}; d=$(DESTDIR)$(MANDIR)/man$$s; \
		echo "install $$m -> $$d/$${m##*/}.gz"; \
		mkdir -p $$d && gzip -9n -c $$m >$$d/$${m##*/}.gz && chmod 0644 $$d/$${m##*/}.gz || exit 1; \
	done
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	sed -e 's|/usr/sbin/fwd|$(SBINDIR)/fwd|g' -e 's|/etc/fwd/|$(SYSCONFDIR)/fwd/|g' \
		packaging/fwd.service >$(DESTDIR)$(UNITDIR)/fwd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/fwd.service
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(DOCDIR)/examples/ha
	install -m 0644 $(HAFILES) $(DESTDIR)$(DOCDIR)/examples/ha/
	@for e in $(ETCFILES); do \
		f=$(DESTDIR)$(SYSCONFDIR)/$${e%%:*}; \
		if [ -e $$f ]; then echo "keep $$f (exists)"; \
		else echo "install $${e#*:} -> $$f"; install -D -m 0644 $${e#*:} $$f || exit 1; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/fwd $(DESTDIR)$(UNITDIR)/fwd.service
	rm -f $(DESTDIR)$(MANDIR)/man8/fwd.8.gz $(DESTDIR)$(MANDIR)/man5/fwd-rules.5.gz
	rm -rf $(DESTDIR)$(DOCDIR)
	@for e in $(ETCFILES); do \
		f=$(DESTDIR)$(SYSCONFDIR)/$${e%%:*}; \
		if [ -e $$f ] && ! cmp -s $$f $${e#*:}; then echo "keep $$f (changed)"; \
		else rm -f $$f; fi; \
	done
	@rmdir $(DESTDIR)$(SYSCONFDIR)/fwd 2>/dev/null || true

# build/fwd_VERSION_ARCH.deb, built the Debian way: the tree is copied to
# $(B)/deb/fwd with packaging/debian as debian/, and dpkg-buildpackage runs
# debhelper there (packaging/debian/rules: the distribution's hardening
# flags, dh_installsystemd's maintainer scripts). No root or fakeroot needed
# (Rules-Requires-Root: no). `make lintian` checks the result.
DEBDIR  = $(B)/deb
deb: | $(DEPSTAMP)
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/fwd
	tar -cf - --exclude=./build --exclude=./.git --exclude='./tests/fuzz/corpus-run' . | \
		tar -C $(DEBDIR)/fwd -xf -
	rm -rf $(DEBDIR)/fwd/debian && cp -r packaging/debian $(DEBDIR)/fwd/debian
	cd $(DEBDIR)/fwd && dpkg-buildpackage -b --no-sign -j2 >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; exit 1; }
	@for f in $(DEBDIR)/fwd_*.deb; do mv $$f $(B)/ && echo "make deb: built $(B)/$${f##*/}"; done

lintian: deb
	lintian --info --display-info --pedantic $(B)/fwd_*.deb

clean:
	rm -rf build
