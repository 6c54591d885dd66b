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
	$(PYTHON) tests/integration/run.py
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

# ==== benchmarks (tests/bench) — awsbox against the AWS CLI in one run =========================
#   make bench   size, start-up, one call, many calls, S3 throughput, memory bound, scaling: prints
#                a markdown table with ratios (also build/bench/results.md and results.json).
#                Knobs: BENCH_RUNS, BENCH_XFER_RUNS, BENCH_SIZE_MIB, BENCH_ONLY (see tests/bench/bench.py).
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
