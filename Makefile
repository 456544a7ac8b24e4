# groundwork: one build for the library, the gw command, the tests and the benchmarks.
#
#   make               build libgroundwork.a and ./gw (release: -O3, OpenMP, no fast-math)
#   make test          set-up, build, then run every test suite; ends with "N passed, N failed"
#   make DEBUG=1 test  the same at -O0 -g with AddressSanitizer and UBSan
#   make demo          set-up, build, generate data, train, evaluate, write the report
#   make bench         gw bench beside the PyTorch mirror, with the ratio gw/PyTorch
#   make suite S=tensor_arena   build and run one suite (see `make list-suites`)

CC      ?= gcc
ARCH    ?= native
DEBUG   ?= 0

comma   := ,
PKGS    := hdf5 openblas yaml-0.1 jansson
WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers -Wno-format-truncation \
           -Wshadow=local
CFLAGS_COMMON := -std=gnu11 -fopenmp -fno-fast-math -I. -MMD -MP $(WARN) \
                 $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I/usr/include/stb
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lstb -lm
# Run against the OpenMP build of OpenBLAS even if the system default points elsewhere.
BLAS_DIR := $(shell pkg-config --variable=libdir openblas 2>/dev/null)
LDFLAGS_COMMON := -fopenmp $(if $(BLAS_DIR),-Wl$(comma)-rpath$(comma)$(BLAS_DIR))

# BUILD=dir puts every output (objects, library, gw, tests) under dir, so two builds can
# run side by side; by default a release build puts gw and the library at the top.
ifeq ($(DEBUG),1)
  BUILD   ?= build/debug
  CFLAGS  := $(CFLAGS_COMMON) -O0 -g -fsanitize=address,undefined -fno-omit-frame-pointer
  LDFLAGS := $(LDFLAGS_COMMON) -fsanitize=address,undefined
  GW      := $(BUILD)/gw
  LIBGW   := $(BUILD)/libgroundwork.a
else ifdef BUILD
  CFLAGS  := $(CFLAGS_COMMON) -O3 -march=$(ARCH) -g
  LDFLAGS := $(LDFLAGS_COMMON)
  GW      := $(BUILD)/gw
  LIBGW   := $(BUILD)/libgroundwork.a
else
  BUILD   := build/release
  CFLAGS  := $(CFLAGS_COMMON) -O3 -march=$(ARCH) -g
  LDFLAGS := $(LDFLAGS_COMMON)
  GW      := gw
  LIBGW   := libgroundwork.a
endif

# The library: every layer below the command line, in dependency order.
LAYERS   := tensor tensor/kernels autograd nn models datasets train eval
LIB_SRCS := $(foreach d,$(LAYERS),$(wildcard $(d)/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
GW_SRCS  := $(wildcard cli/*.c) $(wildcard bench/*.c)
GW_OBJS  := $(GW_SRCS:%.c=$(BUILD)/%.o)

# Tests: each tests/<folder>/test_<name>.c is one Criterion suite binary; tests/common/ is
# shared by all of them.
TEST_SRCS   := $(wildcard tests/*/test_*.c)
TEST_COMMON := $(wildcard tests/common/*.c)
TEST_BINS   := $(foreach t,$(TEST_SRCS),$(BUILD)/tests/$(subst /,_,$(patsubst tests/%.c,%,$(t))))
TEST_COMMON_OBJS := $(TEST_COMMON:%.c=$(BUILD)/%.o)

SETUP_STAMP := build/.setup-done

.PHONY: all setup test demo bench clean list-suites suite fixtures
all: $(LIBGW) $(GW)

# One set-up step for every target: installs the Debian packages that are missing.
setup: $(SETUP_STAMP)
$(SETUP_STAMP): scripts/setup.sh
	@scripts/setup.sh
	@mkdir -p build && touch $@

$(BUILD)/tests/%.o: CFLAGS += -Itests/common
# The data generator must give the same pixels on any machine: no fused multiply-adds there.
$(BUILD)/datasets/%.o: CFLAGS += -ffp-contract=off

$(BUILD)/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBGW): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(GW): $(GW_OBJS) $(LIBGW)
	$(CC) $(LDFLAGS) -o $@ $(GW_OBJS) $(LIBGW) $(LIBS)

# tests/<dir>/test_<name>.c -> $(BUILD)/tests/<dir>_test_<name>
define test_rule
$(BUILD)/tests/$(subst /,_,$(patsubst tests/%.c,%,$(1))): $(BUILD)/$(1:.c=.o) $(TEST_COMMON_OBJS) $(LIBGW)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$< $(TEST_COMMON_OBJS) $(LIBGW) $(LIBS) -lcriterion
endef
$(foreach t,$(TEST_SRCS),$(eval $(call test_rule,$(t))))

test: $(LIBGW) $(GW) $(TEST_BINS)
	@GW_BIN=$(abspath $(GW)) scripts/run_tests.sh $(TEST_BINS)

list-suites:
	@for t in $(TEST_BINS); do basename $$t; done

suite: $(LIBGW) $(GW) $(TEST_BINS)
	@GW_BIN=$(abspath $(GW)) scripts/run_tests.sh $(BUILD)/tests/$(S)

demo: $(LIBGW) $(GW)
	@scripts/demo.sh

bench: $(GW)
	@scripts/bench.sh

# Regenerates the golden fixtures with Debian's python3-torch (not needed to run the tests).
fixtures:
	/usr/bin/python3 tests/golden/make_fixtures.py tests/golden/fixtures
	/usr/bin/python3 tests/golden/make_nn_fixtures.py tests/golden/fixtures

clean:
	rm -rf build gw libgroundwork.a

-include $(LIB_OBJS:.o=.d) $(GW_OBJS:.o=.d) $(TEST_SRCS:%.c=$(BUILD)/%.d) $(TEST_COMMON_OBJS:.o=.d)
