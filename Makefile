# emo: face images -> shards -> augmented shards -> a trained emotion CNN.
#
# Layout (the dependency rule): formats/ needs only libc + its codecs; ingest/,
# augment/ and train/ use formats/ headers, never each other's (emopredict, a
# program, links both train/ and ingest/). Every directory's *.c files form
# its library; every <dir>/cli/NAME.c is the program NAME; every
# tests/test_*.c is one Check suite; tests/bench/*.c are benchmarks.
# New files are picked up by wildcard: no list to keep by hand.
#
#   make            build everything into build/
#   make test       run the Check suites (the README's test command)
#   make asan       the same suites under ASan+UBSan (build-asan/)
#   make valgrind   the suites under valgrind memcheck
#   make bench      print each stage's throughput (needs ../shared/data)
#   make deps       install missing Debian packages (root) or print the command
#   make install PREFIX=/usr/local
#
# Toggles: OMP=0 builds without OpenMP; SAN=1 builds with sanitizers;
# DEBUG=1 builds -O0.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OMP     ?= 1
SAN     ?= 0
DEBUG   ?= 0
VERSION := 0.1.0

# Missing Debian packages are installed before anything else is parsed (as
# root; otherwise the exact apt-get command is printed and make stops), so
# `make`, `make test` and `make demo` work on a fresh machine as they are.
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
ifndef EMO_DEPS_CHECKED
  DEPS_OK := $(shell sh scripts/deps.sh >&2 && echo yes)
  ifneq ($(DEPS_OK),yes)
    $(error missing system packages (see above))
  endif
  export EMO_DEPS_CHECKED := 1
endif
endif

PKGS := libpng libjpeg libzstd jansson libxxhash libxml-2.0 libcurl openblas

# -march=native only if the compiler takes it (llm.c's probe): CI builds and
# runs on the same machine, so the binaries never travel.
NATIVE := $(shell $(CC) -march=native -x c -E /dev/null >/dev/null 2>&1 && echo -march=native)

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fno-strict-aliasing \
               -DEMO_VERSION='"$(VERSION)"' -Iformats -Iingest -Iaugment -Itrain -Itests/support \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ifeq ($(DEBUG),1)
  OPT := -O0
else
  OPT := -O2 $(NATIVE)
endif
ifeq ($(OMP),1)
  OMPFLAGS := -fopenmp
else
  OMPFLAGS := -Wno-unknown-pragmas
endif
# FUZZ=1: clang with libFuzzer's coverage hooks (make fuzz sets it).
ifeq ($(FUZZ),1)
  SANFLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  BUILD := build-asan
endif
# ISO C mode already disables FP contraction; say it anyway: the face detector
# must reproduce OpenCV's float32 sums bit for bit, so no FMA may be fused in.
CFLAGS  := $(CFLAGS_BASE) $(OPT) $(OMPFLAGS) $(SANFLAGS) -ffp-contract=off $(EXTRA_CFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TESTLIBS := $(shell pkg-config --libs check 2>/dev/null)
LDFLAGS += $(OMPFLAGS) $(SANFLAGS)

MODULES := formats ingest augment train
lib_srcs = $(wildcard $(1)/*.c)
lib_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1)))
LIB_formats := $(BUILD)/lib/libemo.a
LIB_ingest  := $(BUILD)/lib/libemoface.a
LIB_augment := $(BUILD)/lib/libemoaug.a
LIB_train   := $(BUILD)/lib/libemonet.a
ALL_LIBS := $(LIB_train) $(LIB_augment) $(LIB_ingest) $(LIB_formats)

PROG_SRCS := $(foreach m,$(MODULES),$(wildcard $(m)/cli/*.c))
PROGS     := $(patsubst %.c,$(BUILD)/bin/%,$(notdir $(PROG_SRCS)))
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCHES   := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
REPLAYS   := $(patsubst tests/fuzz/%.c,$(BUILD)/replay/%,$(FUZZ_SRCS))
HDRS      := $(foreach m,$(MODULES),$(wildcard $(m)/*.h))
TEST_HDRS := $(wildcard tests/support/*.h)

.PHONY: fuzzers all test asan valgrind bench deps install clean fuzz compare-opencv
all: $(PROGS) $(TESTS) $(BENCHES) $(REPLAYS)

deps:
	@sh scripts/deps.sh

# Per-module extra flags. train/ (the CNN) may fuse multiply-adds: it is
# checked against PyTorch to 1e-4, not bit for bit.
$(BUILD)/obj/train/%.o: CFLAGS += -ffp-contract=fast -O3

$(BUILD)/obj/%.o: %.c $(HDRS) $(TEST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

define lib_rule
$(LIB_$(1)): $(call lib_objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(if $$^,ar rcs $$@ $$^,ar rcs $$@)
endef
$(foreach m,$(MODULES),$(eval $(call lib_rule,$(m))))

# Every program links every library; the archive order lets the linker pull
# only what a program uses.
$(BUILD)/bin/%: $(BUILD)/obj/formats/cli/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bin/%: $(BUILD)/obj/ingest/cli/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bin/%: $(BUILD)/obj/augment/cli/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bin/%: $(BUILD)/obj/train/cli/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/tests/support/test_support.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(TESTLIBS) $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Fuzz targets: the libFuzzer binaries (clang, make fuzz) and, in every
# normal build, the same targets linked with a plain main() that replays the
# committed corpus and crash regressions (zstd's way), run by make test.
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@
$(BUILD)/replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/support/replay_main.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

.SECONDARY:

# Each suite runs in its own process; the run fails if any suite fails.
# Suites find the programs in EMO_BIN and test data in tests/data.
test: all
	@sh scripts/run_tests.sh $(BUILD) $(TESTS) $(REPLAYS)

asan:
	$(MAKE) SAN=1 test

# valgrind 3.19 cannot run AVX-512 code, so memcheck gets its own build
# targeting AVX2 (libraries that dispatch at run time see valgrind's reduced
# cpuid and pick AVX2 kernels by themselves).
valgrind:
	$(MAKE) NATIVE="-mavx2 -mfma -mbmi2" BUILD=build-valgrind all
	@VALGRIND=1 sh scripts/run_tests.sh build-valgrind $(patsubst $(BUILD)/%,build-valgrind/%,$(TESTS) $(REPLAYS))

FUZZ_SECONDS ?= 30
fuzzers: $(FUZZERS)
fuzz:
	@sh scripts/deps.sh --fuzz
	$(MAKE) CC=clang BUILD=build-fuzz OMP=0 FUZZ=1 fuzzers
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

bench: all
	@sh tests/bench/run.sh $(BUILD)

# Face boxes against OpenCV's own detectMultiScale (needs python3-opencv).
compare-opencv: all
	@sh tests/compare/compare_opencv.sh $(BUILD)

# The README's main command: the whole pipeline on the shipped sample
# (pipelines/demo.mk: ingest, augment, train, eval, predict, report), ending
# with demo-out/report/index.html. The other pipelines: pipelines/*.mk.
.PHONY: demo
demo:
	@$(MAKE) --no-print-directory -f pipelines/demo.mk BUILD=$(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/emo
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(ALL_LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(HDRS) $(DESTDIR)$(PREFIX)/include/emo/
	@if [ -d man ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	@# the pretrained model, where emopredict looks for it by default
	@if [ -f models/fer2013.emomodel ]; then install -d $(DESTDIR)$(PREFIX)/share/emo && install -m 644 models/fer2013.emomodel $(DESTDIR)$(PREFIX)/share/emo/; fi

clean:
	rm -rf build build-asan
