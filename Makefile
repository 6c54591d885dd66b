# awsbox — one static binary (musl + BearSSL) for the everyday AWS jobs. See README.md.
#   make          build ./awsbox (builds musl and BearSSL from Debian's source packages into build/ if missing)
#   make check    the layers check, unit tests, integration tests against moto, the FROM-scratch check
#   make demo     walk through every applet against a local moto
#   make ARCH=aarch64   cross-build build/aarch64/awsbox for arm64 (Debian's cross gcc, musl from its source package)
#   make check-arm64    its unit and integration tests under qemu-user (see "arm64" below)
VERSION    := 0.1.0
HOST_ARCH  := $(shell uname -m)
ARCH       ?= $(HOST_ARCH)
ifeq ($(ARCH),$(HOST_ARCH))
B          := build
BIN        := awsbox
else
# Cross: everything under build/ARCH/, the binary too, so a native tree and a cross one coexist.
B          := build/$(ARCH)
BIN        := $(B)/awsbox
EMU        := qemu-$(ARCH)-static
endif
# musl built from Debian's source package with musl's own flags (-Os, no stack protector;
# scripts/musl) and Debian's gcc for ARCH: Debian's musl-tools and musl-dev:arm64 are built -O2
# with the stack protector, 20-29 KB more in awsbox. DEB_ARCH: Debian's name for ARCH (its cross
# gcc, qemu-user's binfmt entry).
MUSL       := $(B)/musl
CC         := $(MUSL)/bin/musl-gcc
DEB_ARCH   := $(patsubst aarch64,arm64,$(patsubst x86_64,amd64,$(ARCH)))
BEARSSL    := $(B)/bearssl-musl
CA_BUNDLE  ?= $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem))
PYTHON     ?= python3

WARN       := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation
# No unwind tables: nothing unwinds (C, no backtraces); aarch64's gcc emits them unless told both.
# No frame pointer: x86-64's -Os already leaves it out; aarch64's gcc keeps it (4 KB of awsbox).
CFLAGS     := -std=gnu11 -Os $(WARN) -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
              -fno-unwind-tables -fomit-frame-pointer -fno-stack-protector -D_GNU_SOURCE -Icore -I$(BEARSSL)/inc
LDFLAGS    := -static -s -Wl,--gc-sections
# aarch64's ld pads RELRO's end to its 64 KiB maximum page size (17 KiB of zeros in the file); a
# static musl binary never applies RELRO (only a dynamic loader mprotects it), so nothing is lost.
ifeq ($(ARCH),aarch64)
LDFLAGS    += -Wl,-z,norelro
endif
LIBS       := $(BEARSSL)/libbearssl.a -lpthread

CORE_SRC   := $(wildcard core/*/*.c)
APPLET_SRC := $(wildcard applets/*.c)
CORE_OBJ   := $(patsubst %.c,$(B)/obj/%.o,$(CORE_SRC))
OBJ        := $(CORE_OBJ) $(patsubst %.c,$(B)/obj/%.o,$(APPLET_SRC)) $(B)/obj/ta.o
UNIT_SRC   := $(wildcard tests/unit/*.c)
# Test-only programs (tests/tools/NAME.c), linked with core: build/tools/NAME
TOOLS      := $(patsubst tests/tools/%.c,$(B)/tools/%,$(wildcard tests/tools/*.c))

.PHONY: all check unit integration scratch-check demo clean distclean deps layers man completion install-docs
all: $(BIN)

$(BIN): $(OBJ) $(BEARSSL)/libbearssl.a
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)

# BearSSL comes in as a package, built with the compiler that builds awsbox.
$(BEARSSL)/libbearssl.a: scripts/bearssl $(CC)
	@scripts/deps build $(DEB_ARCH)
	scripts/bearssl $(BEARSSL) $(CC)
$(CC): scripts/musl scripts/debsrc
	@scripts/deps build $(DEB_ARCH)
	scripts/musl $(MUSL) $(ARCH)-linux-gnu

$(B)/obj/%.o: %.c | $(BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

CFLAGS += -DAWSBOX_VERSION='"$(VERSION)"'
$(B)/obj/applets/main.o: CFLAGS += -DBEARSSL_VERSION='"$(shell cat $(BEARSSL)/VERSION 2>/dev/null)"'
$(B)/obj/applets/main.o: applets/applets.def
# The crypto loops want unrolling and their keys in registers, which -Os does not do.
$(B)/obj/core/base/cpu.o: CFLAGS += -O2

# The compiled-in trust anchors: generated from the build machine's CA bundle, never committed
# (a cross-built brssl runs under qemu-user).
$(B)/ta.c: scripts/gen-anchors $(BEARSSL)/libbearssl.a
	EMU="$(EMU)" scripts/gen-anchors $(BEARSSL)/brssl "$(CA_BUNDLE)" > $@.tmp && mv $@.tmp $@
$(B)/obj/ta.o: $(B)/ta.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Unit tests: every core module except main, with a runner whose last line is "N passed, N failed".
$(B)/unit-tests: $(CORE_OBJ) $(patsubst %.c,$(B)/obj/%.o,$(UNIT_SRC)) $(B)/obj/ta.o
	$(CC) -static -o $@ $^ $(LIBS)

$(B)/tools/%: tests/tools/%.c $(CORE_OBJ) $(B)/obj/ta.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $^ $(LIBS)

check: deps awsbox build/unit-tests $(TOOLS)
	$(MAKE) --no-print-directory layers
	build/unit-tests
	$(MAKE) --no-print-directory fuzz-smoke
	$(PYTHON) tests/integration/run.py
	$(MAKE) --no-print-directory check-tsan
	scripts/scratch-check ./awsbox
	$(MAKE) --no-print-directory check-arm64-quick
	$(MAKE) --no-print-directory size-check

# Binary size is a product feature (README's targets: at most 512 KiB on each architecture): a
# change that grows either binary past it fails here, not in the next bench run.
SIZE_MAX ?= 524288
.PHONY: size-check
size-check:
	@for b in $(BIN) build/aarch64/awsbox; do \
	  n=$$(stat -c %s $$b) || exit 1; \
	  if [ $$n -gt $(SIZE_MAX) ]; then echo "size-check: $$b is $$n bytes, over $(SIZE_MAX)"; exit 1; fi; \
	  echo "size-check: $$b is $$n bytes (at most $(SIZE_MAX))"; \
	done

# What the FROM scratch image holds (Dockerfile.musl): ROOTDIR/bin/awsbox and one symlink per
# applet, listed by the binary itself (a cross-built one runs under qemu-user for that).
ROOTDIR ?= build/root
.PHONY: image-root
image-root: $(BIN)
	rm -rf $(ROOTDIR)/bin && mkdir -p $(ROOTDIR)/bin && cp $(BIN) $(ROOTDIR)/bin/awsbox
	for a in $$($(EMU) $(BIN) --list); do ln -s awsbox "$(ROOTDIR)/bin/$$a" || exit 1; done

unit: build/unit-tests
	build/unit-tests

# The architecture, read from the objects' symbols (scripts/layers, ARCHITECTURE.md): every module
# in a layer, no call from a lower layer up to a higher one, no cycle, core neither prints nor exits.
layers: $(filter-out $(B)/obj/ta.o,$(OBJ))
	@$(PYTHON) scripts/layers $^

integration: awsbox $(TOOLS)
	$(PYTHON) tests/integration/run.py

scratch-check: awsbox
	scripts/scratch-check ./awsbox

# make never edits /etc/apt: enabling deb-src is `scripts/deps deb-src` (or `all`), run by hand or CI.
deps:
	@scripts/deps check

demo: awsbox
	@scripts/deps demo
	$(PYTHON) scripts/demo

# Man pages (build/man/man1) and bash/zsh completion (build/completion), from the binary's own
# --help texts, exit-status tables and option tables (scripts/gen-docs).
man completion: awsbox
	$(PYTHON) scripts/gen-docs ./awsbox build

# Installed only when asked: make install-docs [PREFIX=/usr/local] [DESTDIR=...] puts the man pages
# and both completions where man, bash-completion and zsh look under PREFIX.
PREFIX ?= /usr/local
install-docs: man
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 644 build/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 build/completion/awsbox.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/awsbox
	install -m 644 build/completion/_awsbox $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_awsbox

clean:
	rm -rf $(B)/obj $(B)/ta.c $(B)/unit-tests $(BIN)

distclean:
	rm -rf build awsbox

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ==== arm64: cross-built here, tested under qemu-user ==========================================
#   make ARCH=aarch64    build/aarch64/awsbox (its musl in build/aarch64/musl, its BearSSL in
#                        build/aarch64/bearssl-musl)
#   make check-arm64     unit tests on two CPU models, the whole integration suite and the
#                        FROM-scratch check, all against the arm64 build under qemu-user
#   make check-arm64-quick   what make check runs of it: the unit tests on both CPU models and
#                        a few integration tests of each kind (see ARM64_QUICK)
# qemu-user runs the binaries through binfmt_misc (scripts/deps sets it up), so the tests run
# them, their applet symlinks and --exec children as they run native ones. QEMU_CPU picks the CPU:
# max has the AES, PMULL and CRC32 instructions; qemu 7.2 has no arm64 model without them and no
# property to turn them off, so the second run takes them away with AWSBOX_HWCAP=0 (a mask on
# getauxval(AT_HWCAP), see core/base/cpu.c) on cortex-a53, the smallest model.
ARM64       := $(MAKE) --no-print-directory ARCH=aarch64
ARM64_QUICK ?= test_dispatch test_tls.TLSTest.test_trusted_ca_bundle test_tls.TLSTest.test_cipher_suite_is_fast_aead \
	test_tls.TLSTest.test_untrusted_ca test_tls.TLSTest.test_compiled_in_anchors_in_empty_root \
	test_tls.TLSTest.test_large_download test_tls.TLSTest.test_https_proxy_connect \
	test_s3cp_integrity.S3cp.test_composite_checksum test_s3cp_object.S3cp.test_exit_codes \
	test_s3watch.S3watch.test_found_after_upload \
	test_ssmget.Values test_ssmget.Exec.test_exec_env test_secretget.Raw.test_string_and_n \
	test_sqssend.Single.test_name_url_arn_and_stdin test_awsid.Output test_creds.InstanceMetadata.test_v2_required \
	test_sigv4_botocore.TestSigV4Botocore.test_random_requests test_rdstoken.RdsToken.test_credentials_from_the_chain \
	test_ssmrun.Automation.test_success_prints_outputs_and_status_changes \
	test_lambdainvoke.MotoLambda.test_payload_file_stdin_and_large
.PHONY: check-arm64 check-arm64-quick cross-build cross-unit
check-arm64:
	@scripts/deps check arm64
	$(ARM64) cross-build
	$(ARM64) cross-unit
	AWSBOX_BIN=build/aarch64/awsbox AWSBOX_TOOLS=$(CURDIR)/build/aarch64/tools $(PYTHON) tests/integration/run.py
	scripts/scratch-check build/aarch64/awsbox
check-arm64-quick:
	@scripts/deps check arm64
	$(ARM64) cross-build
	$(ARM64) cross-unit
	AWSBOX_BIN=build/aarch64/awsbox AWSBOX_TOOLS=$(CURDIR)/build/aarch64/tools $(PYTHON) tests/integration/run.py $(ARM64_QUICK)
cross-build: $(BIN) $(B)/unit-tests $(TOOLS)

# make bench-arm64: instructions per byte of the bulk primitives on arm64 with and without the
# ARMv8 AES, PMULL and CRC32 instructions, counted under qemu-user (tests/bench/insns).
.PHONY: bench-arm64
bench-arm64:
	@scripts/deps build arm64
	$(ARM64) build/aarch64/bench/primcount
	tests/bench/insns build/aarch64/bench/primcount
$(B)/bench/primcount: tests/bench/primcount.c $(CORE_OBJ) $(B)/obj/ta.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $^ $(LIBS)
# The whole unit suite on both CPUs; then the tests of the code that dispatches on the extensions
# (cpu: AES-GCM, crc: the CRCs, sha) again, logging every instruction qemu translates
# (QEMU_LOG=in_asm): with the extensions taken away not one of theirs may be reached (on such a
# CPU it would be SIGILL); with them, they must be (else the fast paths went untested).
# AWSBOX_TEST_HW: what test_cpu.c must find.
EXT_INSNS := [[:space:]](aes(e|d|mc|imc)|pmull2?|crc32c?[bhwx])[[:space:]]
EXT_TESTS := cpu crc sha
cross-unit: $(B)/unit-tests
	AWSBOX_TEST_HW=1 QEMU_CPU=max $(B)/unit-tests
	AWSBOX_TEST_HW=0 AWSBOX_HWCAP=0 QEMU_CPU=cortex-a53 $(B)/unit-tests
	@rm -f $(B)/unit-max.log $(B)/unit-noext.log
	for t in $(EXT_TESTS); do \
	  AWSBOX_TEST_HW=1 QEMU_CPU=max QEMU_LOG=in_asm QEMU_LOG_FILENAME=$(B)/unit-max.log.$$t $(B)/unit-tests $$t >/dev/null && \
	  AWSBOX_TEST_HW=0 AWSBOX_HWCAP=0 QEMU_CPU=cortex-a53 QEMU_LOG=in_asm QEMU_LOG_FILENAME=$(B)/unit-noext.log.$$t \
	    $(B)/unit-tests $$t >/dev/null || exit 1; \
	done
	@for i in aese aesmc pmull crc32cx; do cat $(B)/unit-max.log.* | grep -Eq "[[:space:]]$$i[[:space:]]" || \
	  { echo "cross-unit: no $$i instruction ran on -cpu max" >&2; exit 1; }; done
	@! cat $(B)/unit-noext.log.* | grep -E -m 5 '$(EXT_INSNS)' || { echo "cross-unit: the instructions above ran with AWSBOX_HWCAP=0" >&2; exit 1; }
	@rm -f $(B)/unit-max.log.* $(B)/unit-noext.log.*
	@echo "cross-unit: AES, PMULL and CRC32 instructions ran on -cpu max and none with AWSBOX_HWCAP=0"


# ==== fuzzing and sanitizer builds (tests/fuzz, tests/sanitize) ================================
#   make fuzz         every libFuzzer target for FUZZ_SECONDS (60) each, one after another (one
#                     core); FUZZ_RUNS=N runs N executions each instead. Prints executions per target.
#   make fuzz-smoke   FUZZ_SMOKE_SECONDS (1; libFuzzer stops within the next second) each, after
#                     every corpus/ and regress/ input: part of make check
#   make check-asan   unit and integration tests with awsbox built with ASan+UBSan (build/asan/)
#   make valgrind     memcheck on a representative call of each applet (build/valgrind/awsbox)
#   make check-tsan   the parallel transfer tests with awsbox built with ThreadSanitizer
#                     (build/tsan/): part of make check
# clang with Debian's compiler-rt (libclang-rt-14-dev), glibc, and a BearSSL built by clang.
CLANG        ?= clang
SAN_BEARSSL  := build/bearssl-clang
# DWARF 4: valgrind 3.19 cannot read clang 14's default DWARF 5.
SAN_DEBUG    := -g -gdwarf-4 -fno-omit-frame-pointer
SAN_CFLAGS   := -std=gnu11 -O1 $(SAN_DEBUG) $(filter-out -Werror,$(WARN)) -Wno-unknown-warning-option \
                -D_GNU_SOURCE -DAWSBOX_VERSION='"$(VERSION)"' -Icore -I$(SAN_BEARSSL)/inc
SAN_LIBS     := $(SAN_BEARSSL)/libbearssl.a -lpthread -lm
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 1
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(addprefix build/fuzz/bin/,$(FUZZ_NAMES))
SAN_CORE     := $(CORE_SRC)

.PHONY: fuzz fuzz-smoke fuzz-build check-asan check-tsan valgrind

$(SAN_BEARSSL)/libbearssl.a: scripts/bearssl
	@scripts/deps check
	scripts/bearssl $(SAN_BEARSSL) $(CLANG) "-O1 $(SAN_DEBUG) -fPIC"

# Fuzz targets link core from an archive: a target that compiles a core file in (to reach its
# static parsers) or defines net.c/tls.c itself (fuzz_http) keeps the archive's copy out.
build/fuzz/obj/%.o: %.c | $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -fsanitize=fuzzer-no-link $(SAN_FLAGS) -MMD -MP -c $< -o $@
build/san-ta.o: build/ta.c | $(SAN_BEARSSL)/libbearssl.a
	$(CLANG) -O1 -I$(SAN_BEARSSL)/inc -c $< -o $@
build/fuzz/libcore.a: $(patsubst %.c,build/fuzz/obj/%.o,$(SAN_CORE)) build/san-ta.o
	rm -f $@ && ar rcs $@ $^
build/fuzz/bin/%: tests/fuzz/fuzz_%.c build/fuzz/libcore.a $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -Werror -fsanitize=fuzzer $(SAN_FLAGS) -MMD -MP -MF $@.d -o $@ $< build/fuzz/libcore.a $(SAN_LIBS)
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run long $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: fuzz-build
	@tests/fuzz/run smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

# ASan + UBSan: awsbox and the unit tests, dynamic glibc (ASan needs it); tests/tools stay musl.
ASAN_OBJ := $(patsubst %.c,build/asan/obj/%.o,$(SAN_CORE))
build/asan/obj/%.o: %.c | $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@
build/asan/obj/applets/main.o build/valgrind/obj/applets/main.o: SAN_CFLAGS += -DBEARSSL_VERSION='"$(shell cat $(SAN_BEARSSL)/VERSION 2>/dev/null)"'
build/asan/obj/applets/main.o build/valgrind/obj/applets/main.o: applets/applets.def
build/asan/awsbox: $(ASAN_OBJ) $(patsubst %.c,build/asan/obj/%.o,$(APPLET_SRC)) build/san-ta.o
	$(CLANG) $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)
build/asan/unit-tests: $(ASAN_OBJ) $(patsubst %.c,build/asan/obj/%.o,$(UNIT_SRC)) build/san-ta.o
	$(CLANG) $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)

check-asan: build/asan/awsbox build/asan/unit-tests $(TOOLS)
	tests/sanitize/check-asan build/asan/awsbox build/asan/unit-tests

# valgrind cannot follow malloc in a static, stripped musl binary: it gets a plain -g glibc build.
build/valgrind/obj/%.o: %.c | $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -MMD -MP -c $< -o $@
build/valgrind/awsbox: $(patsubst %.c,build/valgrind/obj/%.o,$(SAN_CORE) $(APPLET_SRC)) build/san-ta.o
	$(CLANG) -o $@ $^ $(SAN_LIBS)

valgrind: build/valgrind/awsbox
	@scripts/deps bench
	AWSBOX_BIN=build/valgrind/awsbox $(PYTHON) tests/sanitize/valgrind.py

# ThreadSanitizer: awsbox built with -fsanitize=thread (glibc, the clang BearSSL, which keeps no
# state shared between threads), run on the integration tests of the parallel transfer paths.
TSAN_OBJ := $(patsubst %.c,build/tsan/obj/%.o,$(SAN_CORE) $(APPLET_SRC))
build/tsan/obj/%.o: %.c | $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -fsanitize=thread -MMD -MP -c $< -o $@
build/tsan/obj/applets/main.o: SAN_CFLAGS += -DBEARSSL_VERSION='"$(shell cat $(SAN_BEARSSL)/VERSION 2>/dev/null)"'
build/tsan/obj/applets/main.o: applets/applets.def
build/tsan/awsbox: $(TSAN_OBJ) build/san-ta.o
	$(CLANG) -fsanitize=thread -o $@ $^ $(SAN_LIBS)

check-tsan: build/tsan/awsbox $(TOOLS)
	@scripts/deps check
	tests/sanitize/check-tsan build/tsan/awsbox

-include $(shell find build/fuzz build/asan build/valgrind build/tsan -name '*.d' 2>/dev/null)

# ==== benchmarks (tests/bench) — awsbox against the AWS CLI, rclone and curl in one run ========
#   make bench   size, start-up, one call, many calls, S3 throughput, memory bound, scaling: prints
#                a markdown table with ratios (also build/bench/results.md and results.json).
#                Knobs: BENCH_RUNS, BENCH_XFER_RUNS, BENCH_SIZE_MIB, BENCH_TREE_SIZES, BENCH_ONLY (see
#                tests/bench/bench.py).
# The sink links OpenSSL (libssl-dev) with the system compiler: it is test equipment, not awsbox.
.PHONY: bench
build/bench/s3sink: $(wildcard tests/bench/s3sink/*.c tests/bench/s3sink/*.h)
	@scripts/deps bench
	@mkdir -p build/bench
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-format-truncation -o $@ $(filter %.c,$^) -lssl -lcrypto -lpthread
build/bench/runit: tests/bench/runit.c
	@mkdir -p build/bench
	$(CC) -std=gnu11 -O2 -static -s -Wall -Wextra -Werror -o $@ $<
# primspeed: the crypto and checksum code awsbox links, timed alone (same objects, same BearSSL).
build/bench/primspeed: tests/bench/primspeed.c $(CORE_OBJ) build/obj/ta.o
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -O2 -static -o $@ $^ $(LIBS)
bench: awsbox build/bench/s3sink build/bench/runit build/bench/primspeed
	@scripts/deps bench
	$(PYTHON) tests/bench/bench.py --cc "$(CC)" --ldflags "$(LDFLAGS)" --objs "$(OBJ)" --libs "$(LIBS)"
