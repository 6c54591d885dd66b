# awsbox — one static binary (musl + BearSSL) for the everyday AWS jobs. See README.md.
#   make          build ./awsbox (installs musl-tools and builds BearSSL into build/ if missing)
#   make check    unit tests, integration tests against moto, the FROM-scratch check
#   make demo     walk through every applet against a local moto
VERSION    := 0.1.0
CC         := musl-gcc
BEARSSL    := build/bearssl-musl
CA_BUNDLE  ?= $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem))
PYTHON     ?= python3

WARN       := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation
CFLAGS     := -std=gnu11 -Os $(WARN) -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
              -fno-stack-protector -D_GNU_SOURCE -Icore -I$(BEARSSL)/inc
LDFLAGS    := -static -s -Wl,--gc-sections
LIBS       := $(BEARSSL)/libbearssl.a -lpthread

CORE_SRC   := $(wildcard core/*.c)
APPLET_SRC := $(wildcard applets/*.c)
CORE_OBJ   := $(patsubst %.c,build/obj/%.o,$(filter-out core/main.c,$(CORE_SRC)))
OBJ        := $(CORE_OBJ) build/obj/core/main.o $(patsubst %.c,build/obj/%.o,$(APPLET_SRC)) build/obj/ta.o
UNIT_SRC   := $(wildcard tests/unit/*.c)
# Test-only programs (tests/tools/NAME.c), linked with core: build/tools/NAME
TOOLS      := $(patsubst tests/tools/%.c,build/tools/%,$(wildcard tests/tools/*.c))

.PHONY: all check unit integration scratch-check demo clean distclean deps
all: awsbox

awsbox: $(OBJ) $(BEARSSL)/libbearssl.a
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)

# BearSSL comes in as a package, built with the compiler that builds awsbox.
$(BEARSSL)/libbearssl.a: scripts/bearssl
	@scripts/deps build
	scripts/bearssl $(BEARSSL) $(CC)

build/obj/%.o: %.c | $(BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

CFLAGS += -DAWSBOX_VERSION='"$(VERSION)"'
build/obj/core/main.o: CFLAGS += -DBEARSSL_VERSION='"$(shell cat $(BEARSSL)/VERSION 2>/dev/null)"'
build/obj/core/main.o: applets/applets.def

# The compiled-in trust anchors: generated from the build machine's CA bundle, never committed.
build/ta.c: scripts/gen-anchors $(BEARSSL)/libbearssl.a
	scripts/gen-anchors $(BEARSSL)/brssl "$(CA_BUNDLE)" > $@.tmp && mv $@.tmp $@
build/obj/ta.o: build/ta.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Unit tests: every core module except main, with a runner whose last line is "N passed, N failed".
build/unit-tests: $(CORE_OBJ) $(patsubst %.c,build/obj/%.o,$(UNIT_SRC)) build/obj/ta.o
	$(CC) -static -o $@ $^ $(LIBS)

build/tools/%: tests/tools/%.c $(CORE_OBJ) build/obj/ta.o
	@mkdir -p build/tools
	$(CC) $(CFLAGS) -static -o $@ $^ $(LIBS)

check: deps awsbox build/unit-tests $(TOOLS)
	build/unit-tests
	$(MAKE) --no-print-directory fuzz-smoke
	$(PYTHON) tests/integration/run.py
	$(MAKE) --no-print-directory check-tsan
	scripts/scratch-check ./awsbox

unit: build/unit-tests
	build/unit-tests

integration: awsbox $(TOOLS)
	$(PYTHON) tests/integration/run.py

scratch-check: awsbox
	scripts/scratch-check ./awsbox

deps:
	@scripts/deps all

demo: awsbox
	@scripts/deps all
	$(PYTHON) scripts/demo

clean:
	rm -rf build/obj build/ta.c build/unit-tests awsbox

distclean:
	rm -rf build awsbox

-include $(shell find build/obj -name '*.d' 2>/dev/null)

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
SAN_CORE     := $(filter-out core/main.c,$(CORE_SRC))

.PHONY: fuzz fuzz-smoke fuzz-build check-asan check-tsan valgrind

$(SAN_BEARSSL)/libbearssl.a: scripts/bearssl
	@scripts/deps all
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
build/asan/obj/core/main.o build/valgrind/obj/core/main.o: SAN_CFLAGS += -DBEARSSL_VERSION='"$(shell cat $(SAN_BEARSSL)/VERSION 2>/dev/null)"'
build/asan/obj/core/main.o build/valgrind/obj/core/main.o: applets/applets.def
build/asan/awsbox: $(ASAN_OBJ) build/asan/obj/core/main.o $(patsubst %.c,build/asan/obj/%.o,$(APPLET_SRC)) build/san-ta.o
	$(CLANG) $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)
build/asan/unit-tests: $(ASAN_OBJ) $(patsubst %.c,build/asan/obj/%.o,$(UNIT_SRC)) build/san-ta.o
	$(CLANG) $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)

check-asan: build/asan/awsbox build/asan/unit-tests $(TOOLS)
	tests/sanitize/check-asan build/asan/awsbox build/asan/unit-tests

# valgrind cannot follow malloc in a static, stripped musl binary: it gets a plain -g glibc build.
build/valgrind/obj/%.o: %.c | $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -MMD -MP -c $< -o $@
build/valgrind/awsbox: $(patsubst %.c,build/valgrind/obj/%.o,$(SAN_CORE) core/main.c $(APPLET_SRC)) build/san-ta.o
	$(CLANG) -o $@ $^ $(SAN_LIBS)

valgrind: build/valgrind/awsbox
	@scripts/deps all
	AWSBOX_BIN=build/valgrind/awsbox $(PYTHON) tests/sanitize/valgrind.py

# ThreadSanitizer: awsbox built with -fsanitize=thread (glibc, the clang BearSSL, which keeps no
# state shared between threads), run on the integration tests of the parallel transfer paths.
TSAN_OBJ := $(patsubst %.c,build/tsan/obj/%.o,$(SAN_CORE) core/main.c $(APPLET_SRC))
build/tsan/obj/%.o: %.c | $(SAN_BEARSSL)/libbearssl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -fsanitize=thread -MMD -MP -c $< -o $@
build/tsan/obj/core/main.o: SAN_CFLAGS += -DBEARSSL_VERSION='"$(shell cat $(SAN_BEARSSL)/VERSION 2>/dev/null)"'
build/tsan/obj/core/main.o: applets/applets.def
build/tsan/awsbox: $(TSAN_OBJ) build/san-ta.o
	$(CLANG) -fsanitize=thread -o $@ $^ $(SAN_LIBS)

check-tsan: build/tsan/awsbox $(TOOLS)
	@scripts/deps all
	tests/sanitize/check-tsan build/tsan/awsbox

-include $(shell find build/fuzz build/asan build/valgrind build/tsan -name '*.d' 2>/dev/null)

# ==== benchmarks (tests/bench) — awsbox against the AWS CLI, rclone and curl in one run ========
#   make bench   size, start-up, one call, many calls, S3 throughput, memory bound, scaling: prints
#                a markdown table with ratios (also build/bench/results.md and results.json).
#                Knobs: BENCH_RUNS, BENCH_XFER_RUNS, BENCH_SIZE_MIB, BENCH_TREE_SIZES, BENCH_ONLY (see
#                tests/bench/bench.py).
# The sink links OpenSSL (libssl-dev) with the system compiler: it is test equipment, not awsbox.
.PHONY: bench
build/bench/s3sink: tests/bench/s3sink.c
	@scripts/deps all
	@mkdir -p build/bench
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-format-truncation -o $@ $< -lssl -lcrypto -lpthread
build/bench/runit: tests/bench/runit.c
	@mkdir -p build/bench
	$(CC) -std=gnu11 -O2 -static -s -Wall -Wextra -Werror -o $@ $<
# primspeed: the crypto and checksum code awsbox links, timed alone (same objects, same BearSSL).
build/bench/primspeed: tests/bench/primspeed.c $(CORE_OBJ) build/obj/ta.o
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -O2 -static -o $@ $^ $(LIBS)
bench: awsbox build/bench/s3sink build/bench/runit build/bench/primspeed
	@scripts/deps all
	$(PYTHON) tests/bench/bench.py --cc "$(CC)" --ldflags "$(LDFLAGS)" --objs "$(OBJ)" --libs "$(LIBS)"
