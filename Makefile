# vipd - plain Makefile. `make` builds build/vipd and build/vipctl;
# `make check` runs every test; `make demo` runs the three-node demo.

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/vipd
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

CC      ?= cc
PKGS    := yaml-0.1 jansson libcurl libmnl libmicrohttpd libcap libcrypto libsystemd
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wundef \
           -Wcast-align -Wwrite-strings -Wvla
ifeq ($(CI),true)
WARN    += -Werror
endif
ifdef WERROR
WARN    += -Werror
endif

CFLAGS  ?= -O2 -g
# Project flags stay in force when CFLAGS is given on the command line.
XCFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DVIPD_VERSION='"$(VERSION)"' \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS))
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer

B       := build
MAINS   := src/vipd.c src/vipctl.c
LIBSRC  := $(filter-out $(MAINS),$(wildcard src/*.c))
LIBOBJ  := $(LIBSRC:src/%.c=$(B)/obj/%.o)
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNITSRC:tests/unit/%.c=$(B)/tests/%)
TOOLSRC := $(wildcard tests/tools/*.c)
TOOLBIN := $(TOOLSRC:tests/tools/%.c=$(B)/tools/%)

.PHONY: all check unit integration demo install uninstall clean deps asan deb soak

all: $(B)/vipd $(B)/vipctl

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(XCFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libvipd.a: $(LIBOBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/vipd: $(B)/obj/vipd.o $(B)/libvipd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/vipctl: $(B)/obj/vipctl.o $(B)/libvipd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libvipd.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(XCFLAGS) $(CFLAGS) -Isrc -MMD -MP -o $@ $< \
		$(filter %.o,$^) $(B)/libvipd.a $(LDLIBS) $(shell pkg-config --libs cmocka) \
		$(TEST_LDFLAGS)

# Link-time fakes: an object given before libvipd.a that defines every
# symbol of a module keeps that module's object out of the link
# (tests/unit/fake_*.h say what each records and lets a test drive);
# testkit.o holds the helpers the tests on the fakes share.
$(B)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(XCFLAGS) $(CFLAGS) -Isrc -MMD -MP -c -o $@ $<

FAKES := $(patsubst tests/unit/%.c,$(B)/tests/%.o,$(wildcard tests/unit/fake_*.c)) $(B)/tests/testkit.o
$(B)/tests/test_session $(B)/tests/test_elect $(B)/tests/test_watch $(B)/tests/test_elect_cleanup $(B)/tests/test_leadermove $(B)/tests/test_vip $(B)/tests/test_daemon $(B)/tests/test_notify $(B)/tests/test_conflict $(B)/tests/test_links: $(FAKES)
# test_etcd checks every free() of vipd's own code for secrets left behind.
$(B)/tests/test_etcd: TEST_LDFLAGS := -Wl,--wrap=free

$(B)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(XCFLAGS) $(CFLAGS) -MMD -MP -o $@ $<

# Run as root, check/demo first install whatever Debian packages are
# missing, so a fresh machine needs nothing done by hand.
deps:
	@if [ "$$(id -u)" = 0 ]; then scripts/install-deps; fi

check: deps
	$(MAKE) all tests-bin
	tests/run-all

tests-bin: $(UNITBIN) $(TOOLBIN)

unit: all tests-bin
	tests/run-all unit config

integration: all tests-bin
	tests/run-all integration

demo: deps
	$(MAKE) all tests-bin
	scripts/demo

# `make bench` (root): vipd at TTL 3 s and 5 s against keepalived on the
# integration lab; prints the tables and writes docs/benchmarks.md
# (scripts/bench; BENCH_QUICK=1 for a short run). keepalived comes from
# `scripts/install-deps --bench`.
.PHONY: bench
bench:
	@if [ "$$(id -u)" = 0 ]; then scripts/install-deps --bench; fi
	$(MAKE) all tests-bin
	scripts/bench

# The chaos soak (root): random faults on a 3-node lab for DURATION
# seconds, never two owners, an owner within its bound whenever one can
# exist (tests/soak/run; docs/testing.md, "The chaos soak"). SEED=N
# replays a run's draws. CI runs DURATION=180.
DURATION ?= 600
soak: deps
	$(MAKE) all tests-bin
	tests/soak/run --duration $(DURATION) $(if $(SEED),--seed $(SEED))

# The daemon and unit tests built with ASan + UBSan in build-asan/; run the
# integration suite against it with LAB_VIPD=$$PWD/build-asan/vipd.
asan:
	$(MAKE) B=build-asan CFLAGS="-O1 -g $(SANITIZE)" LDFLAGS="$(SANITIZE)" \
		build-asan/vipd build-asan/vipctl $(UNITBIN:$(B)/%=build-asan/%)

# The man pages and the unit name the installed paths (@DOCDIR@, ...).
MANPAGES := man/vipd.8 man/vipctl.8 man/vipd.yaml.5
SUBST := sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@PREFIX@|$(PREFIX)|g' \
	-e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@UNITDIR@|$(UNITDIR)|g'

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/vipd $(DESTDIR)$(SBINDIR)/vipd
	install -m 0755 $(B)/vipctl $(DESTDIR)$(BINDIR)/vipctl
	install -d $(DESTDIR)$(SYSCONFDIR)/vipd
	install -m 0644 examples/vipd.yaml $(DESTDIR)$(SYSCONFDIR)/vipd/vipd.yaml.example
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for m in $(MANPAGES); do \
		s=$${m##*.}; $(SUBST) $$m >$(DESTDIR)$(MANDIR)/man$$s/$${m#man/} && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$$s/$${m#man/} || exit 1; \
	done
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|/etc/vipd|$(SYSCONFDIR)/vipd|g' \
		-e 's|/usr/local/share/doc/vipd|$(DOCDIR)|g' \
		contrib/systemd/vipd.service >$(DESTDIR)$(UNITDIR)/vipd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vipd.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vipd $(DESTDIR)$(BINDIR)/vipctl
	rm -f $(DESTDIR)$(SYSCONFDIR)/vipd/vipd.yaml.example
	-rmdir $(DESTDIR)$(SYSCONFDIR)/vipd 2>/dev/null
	rm -f $(DESTDIR)$(UNITDIR)/vipd.service
	rm -f $(DESTDIR)$(MANDIR)/man8/vipd.8 $(DESTDIR)$(MANDIR)/man8/vipctl.8 \
		$(DESTDIR)$(MANDIR)/man5/vipd.yaml.5
	rm -rf $(DESTDIR)$(DOCDIR)

# The Debian package (debian/), built with debhelper from a copy of the
# tree in build/deb/ (dpkg-buildpackage writes its results to the parent
# of the source directory): the .deb ends up in build/. Needs dpkg-dev,
# debhelper and the build dependencies (scripts/install-deps has them).
# tests/package/run installs it, checks it and purges it.
deb:
	rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	tar -c --exclude=./$(B) --exclude=./build --exclude=./build-asan \
		--exclude=./build-fuzz --exclude=./.git . | tar -x -C $(B)/deb/src
	cd $(B)/deb/src && dpkg-buildpackage -us -uc -b
	cp $(B)/deb/*.deb $(B)/deb/*.changes $(B)/deb/*.buildinfo $(B)/
	@ls -1 $(B)/*.deb

clean:
	rm -rf $(B) build-asan

-include $(wildcard $(B)/obj/*.d $(B)/tests/*.d $(B)/tools/*.d)

# ---- fuzzing ---------------------------------------------------------------
# `make fuzz`: every libFuzzer harness in tests/fuzz (fuzz_NAME.c) built with
# clang, -fsanitize=fuzzer,address,undefined, into build-fuzz/, then run for
# FUZZ_SECONDS each, one after another, on a copy of its seed corpus
# (tests/fuzz/corpus/NAME); fails on any crash, leak, timeout or sanitizer
# report. `make fuzz-build` only builds. See docs/testing.md, "Fuzzing".

FUZZ_SECONDS ?= 60
FUZZ_CC   ?= clang
FZ        := build-fuzz
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
# Library code gets coverage instrumentation; harnesses link the runtime.
FUZZ_CFLAGS := -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(FZ)/fuzz_%)
FUZZ_OBJ   := $(LIBSRC:src/%.c=$(FZ)/obj/%.o)

.PHONY: fuzz fuzz-build clean-fuzz

$(FZ)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(XCFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FZ)/libvipd.a: $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# A harness may #include the src/*.c it fuzzes (to reach static parsers);
# the archive then supplies only the other modules.
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FZ)/libvipd.a
	$(FUZZ_CC) $(CPPFLAGS) $(XCFLAGS) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer \
		-Isrc -MMD -MP -o $@ $< $(FZ)/libvipd.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	$(MAKE) fuzz-build
	tests/fuzz/run $(FZ) $(FUZZ_SECONDS) $(FUZZ_NAMES)

clean-fuzz:
	rm -rf $(FZ)

clean: clean-fuzz

-include $(wildcard $(FZ)/obj/*.d $(FZ)/*.d)
# ---- end of fuzzing ----------------------------------------------------------

# ---- CI checks ---------------------------------------------------------------
# Each prints one "ok"/"not ok" line per case and a closing summary line,
# and fails on any finding.
#   make asan-check      unit and config suites on the ASan + UBSan build
#                        (build-asan/): leaks and undefined behaviour fail
#   make valgrind-check  memcheck on every unit test binary of build/
#   make shellcheck      every shell file under scripts/, tests/, .ci/, contrib/

SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: asan-check valgrind-check shellcheck

asan-check: deps
	$(MAKE) asan
	@$(SAN_ENV) TESTS_BUILD=build-asan tests/run-all unit config; rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "asan-check: passed (unit and config suites, build-asan/)"; \
	else echo "asan-check: FAILED (unit and config suites, build-asan/)"; fi; exit $$rc

valgrind-check: deps
	$(MAKE) all tests-bin
	tests/valgrind-unit

shellcheck: deps
	tests/shellcheck-all
# ---- end of CI checks --------------------------------------------------------
