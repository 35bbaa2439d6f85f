# fwd - userspace firewall for Linux gateways.
# `make` builds build/fwd; `make check` runs every test (see README.md).

CC        ?= cc
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
DESTDIR   ?=
WERROR    ?= -Werror
B         ?= build

PKGS      := libnetfilter_queue libmnl yaml-0.1 liburcu-qsbr libcap-ng libseccomp
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

.PHONY: all deps check unit golden e2e asan bench fuzz demo install uninstall clean
all: $(B)/fwd

# Every target that compiles or runs fwd makes sure the Debian packages are there.
deps: $(DEPSTAMP)
$(DEPSTAMP): packaging/deps.sh
	@mkdir -p build
	@sh packaging/deps.sh
	@touch $@

$(B)/obj/%.o: fwd/%.c $(wildcard include/fwd/*.h) | $(DEPSTAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKGCFLAGS) $(CFLAGS) -c -o $@ $<

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

golden: $(B)/fwd
	@sh tests/golden/run.sh $(B)/fwd

e2e: $(B)/fwd
	@sh tests/e2e/run.sh $(B)/fwd

# The unit and golden tests again, built with ASan and UBSan by clang.
asan:
	@$(MAKE) --no-print-directory B=build/asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" unit golden

check: all
	@$(MAKE) --no-print-directory unit golden asan e2e
	@echo "make check: all suites passed"

bench: $(B)/fwd $(BENCH_BIN)
	@sh tests/bench/run.sh $(B)

fuzz:
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

demo: $(B)/fwd
	@sh tests/demo.sh $(B)/fwd

install: $(B)/fwd
	install -D -m 0755 $(B)/fwd $(DESTDIR)$(SBINDIR)/fwd

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/fwd

clean:
	rm -rf build
