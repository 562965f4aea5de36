# clickmill: build, test and demo. `make demo` and `make check` do all set-up on Debian 12.

CC = mpicc
PKGS = hdf5-openmpi libmicrohttpd jansson
CPPFLAGS = -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wstrict-prototypes
LDLIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

# SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer, built apart in sanitize/ (so
# that both builds can stay), and the tests run on that build: `make check SANITIZE=1`.
# CHECK_SCRIPTS chooses the integration scripts test/run.sh runs (default: all).
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
OUT = sanitize/
# Open MPI keeps memory until exit by design: leaks are not reported; every other finding
# stops the process with an error, which the tests see as a crash.
export ASAN_OPTIONS = detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
endif
BUILD = $(OUT)build
BIN = $(OUT)bin
export CLICKMILL = $(BIN)/clickmill

# Debian packages the build, the tests and the demo need.
# python3-h5py: the tests read an event store the way other programs would (test/store.sh).
# libmicrohttpd-dev, libjansson-dev: `serve`'s HTTP server and JSON (docs/serve.md says why);
# curl: the server's tests; time (/usr/bin/time) and procps (pgrep): peak memory and processes
# in the tests.
DEPS = make gcc pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools \
       libcsv-dev check sqlite3 python3-h5py libmicrohttpd-dev libjansson-dev curl time procps

LIB_SRC = $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ = $(LIB_SRC:src/%.c=$(BUILD)/%.o)
TESTS = $(patsubst test/%.c,$(BIN)/tests/%,$(wildcard test/check_*.c))

.PHONY: all deps check check-cluster valgrind test unit demo fidelity bench clean format fuzz fuzz-deps
all: $(BIN)/clickmill

$(BUILD)/%.o: src/%.c $(wildcard include/clickmill/*.h) | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libclickmill.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BIN)/clickmill: $(BUILD)/main.o $(BUILD)/libclickmill.a | $(BIN)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/tests/%: test/%.c $(BUILD)/libclickmill.a | $(BIN)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libclickmill.a $(CHECK_LIBS) $(LDLIBS) -o $@

$(BUILD) $(BIN) $(BIN)/tests:
	mkdir -p $@

# Installs what is missing (as root), or says what to install.
deps:
	@missing=""; \
	for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null || exit 1; \
	else \
	  echo "deps: missing packages:$$missing"; \
	  echo "deps: run: sudo apt-get install -y$$missing"; exit 1; \
	fi

# The unit tests (Check) and the integration tests (mpirun with 1, 2, 3 and 7 ranks).
check: deps
	$(MAKE) all
	$(MAKE) test

# The jobs/ scripts submitted to a real one-node SLURM cluster that the test starts on loopback
# (as root; installs slurm-wlm and munge when missing). .ci/run runs it after check.
check-cluster: all
	@if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "check-cluster: installing slurm-wlm munge"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends slurm-wlm munge >/dev/null || exit 1; \
	  else echo "check-cluster: needs root, or: sudo apt-get install slurm-wlm munge"; exit 1; fi; \
	fi
	test/cluster.sh

test: $(BIN)/clickmill $(TESTS)
	test/run.sh $(TESTS)

unit: $(TESTS)
	test/run.sh --unit $(TESTS)

# The unit tests under valgrind, each test in the one process (CK_FORK=no) so that valgrind
# sees it: any invalid read or write, use of uninitialised memory or definite leak fails.
valgrind: $(TESTS)
	@command -v valgrind >/dev/null || $(MAKE) --no-print-directory deps DEPS=valgrind
	@for t in $(TESTS); do \
	  CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite $$t >$$t.valgrind 2>&1 \
	    || { tail -n 40 $$t.valgrind; echo "valgrind: $$t: errors"; exit 1; }; \
	  echo "valgrind: $$t: $$(grep -E '^[0-9]+%: Checks' $$t.valgrind), no memory error"; \
	done

demo: deps
	$(MAKE) all
	test/demo.sh

# Generates ROWS rows (default 1,000,000) with 2 ranks and compares the shape figures with the
# published October 2019 figures: `make fidelity ROWS=42448764` for the full month.
ROWS ?= 1000000
fidelity: all
	mkdir -p demo-data
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
	  mpirun --oversubscribe -np 2 bin/clickmill generate --rows $(ROWS) -o demo-data/fidelity.csv
	test/fidelity.sh demo-data/fidelity.csv

# Fuzz targets (clang's libFuzzer with AddressSanitizer and UBSan): `make fuzz` builds each
# fuzz/NAME.c with the library's sources into bin/fuzz/NAME and runs it for FUZZ_SECONDS
# (default 60) on its corpus in fuzz/corpus/NAME, seeded from fuzz/seeds/NAME (or test/data).
# A finding stops with the input that caused it; fuzz/regressions/NAME/ holds earlier findings,
# each run first. CI runs it for 30 s per target.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS = $(patsubst fuzz/%.c,bin/fuzz/%,$(wildcard fuzz/*.c))

FUZZ_OBJ = $(LIB_SRC:src/%.c=bin/fuzz/obj/%.o)
.SECONDARY: $(FUZZ_OBJ)

bin/fuzz/obj/%.o: src/%.c $(wildcard include/clickmill/*.h) | bin/fuzz/obj
	OMPI_CC=clang $(CC) $(CPPFLAGS) -std=c11 -D_GNU_SOURCE \
	  $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_FLAGS)) -c $< -o $@

bin/fuzz/%: fuzz/%.c $(FUZZ_OBJ) | bin/fuzz
	OMPI_CC=clang $(CC) $(CPPFLAGS) -std=c11 -D_GNU_SOURCE $(FUZZ_FLAGS) $< $(FUZZ_OBJ) $(LDLIBS) -o $@

bin/fuzz bin/fuzz/obj:
	mkdir -p $@

FUZZ_DEPS = clang libclang-rt-14-dev
fuzz-deps:
	@$(MAKE) --no-print-directory deps DEPS="$(FUZZ_DEPS)"

$(FUZZ_TARGETS): | fuzz-deps

fuzz: $(FUZZ_TARGETS)
	@for target in $(FUZZ_TARGETS); do \
	  name=$$(basename $$target); corpus=fuzz/corpus/$$name; mkdir -p $$corpus; \
	  if [ -z "$$(ls $$corpus)" ]; then \
	    if [ -d fuzz/seeds/$$name ]; then cp fuzz/seeds/$$name/* $$corpus/; \
	    else cp test/data/*.csv test/data/bad/*.csv $$corpus/; fi; \
	  fi; \
	  if [ -d fuzz/regressions/$$name ]; then \
	    $$target fuzz/regressions/$$name/* >bin/fuzz/log 2>&1 || { tail -n 40 bin/fuzz/log; exit 1; }; \
	  fi; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	  $$target -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    $$corpus >bin/fuzz/log 2>&1; \
	  status=$$?; grep -E "^(#[0-9]+\s+DONE|Done [0-9]+ runs)" bin/fuzz/log | tail -n 1; \
	  [ $$status -eq 0 ] || { tail -n 40 bin/fuzz/log; exit 1; }; \
	done

# Benchmarks, not part of check (they take minutes): clickmill analyze against DuckDB and
# pandas on generated files of 1M and 10M rows (bench/analyze.sh), then clickmill train against
# scikit-learn and XGBoost at 1M rows (bench/train.sh), then live scoring: predict --stream
# events per second and serve's /predict latency under wrk (bench/live.sh). BENCH_FULL=1 adds the
# full October size, 42,448,764 rows, to the first and trains on it. Data in bench-data/, results
# in bench-results/.
BENCH_FULL ?= 0
bench: all
	@status=0; \
	BENCH_FULL=$(BENCH_FULL) bench/analyze.sh || status=1; \
	bench/train.sh $(if $(filter 1,$(BENCH_FULL)),42448764,1000000) || status=1; \
	bench/live.sh || status=1; \
	exit $$status

format:
	clang-format -i src/*.c include/clickmill/*.h test/*.c fuzz/*.c

clean:
	rm -rf build bin sanitize
