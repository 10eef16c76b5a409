# deconvscope: every command a user or CI needs. Run as root on Debian; missing packages are installed.
SHELL       := /bin/bash
SWIFT       ?= swift
BIN_RELEASE := .build/release/deconvscope
DEB_PACKAGES := libhdf5-dev libopenblas-dev libpng-dev zlib1g-dev pkg-config hdf5-tools dataset-fashion-mnist python3-pip
# Release builds target AVX2 + FMA when the CPU has them (every x86-64 since 2013, this project's Zen 4
# machines included): Swift's default target is SSE2, where the Winograd transforms and the ReLU and
# pooling loops vectorize 4 wide without blends (measured: 111 -> 92 CPU ms per training batch).
# On other CPUs the flags are left out and the build is the portable one.
# DECONVSCOPE_FMA tells the kernels that fused multiply-add is an instruction (see SIMD8.plusProduct).
# The test build gets the same flags, so the suite (and the CLI tests' debug binary) runs the kernels
# as shipped; without FMA in the target, Swift's `addingProduct` is a libm call per lane.
CPU_FLAGS   ?= $(shell [ "$$(uname -m)" = x86_64 ] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && echo -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DDECONVSCOPE_FMA)
# Release executables are fully static: the Swift runtime, Foundation, glibc and the C libraries'
# Debian archives (libhdf5.a, libopenblas.a, libpng16.a, libz.a, and libsz.a/libaec.a that HDF5's
# szip filter needs) are linked in, so a process starts without the dynamic loader. Debian's
# libhdf5 alone pulls in 44 shared libraries (curl, gnutls, kerberos, ldap ...) for its S3 driver,
# which the static archive leaves out. Measured (perf stat, 40 runs each, alternating):
# `deconvscope --version` 15.4-17.4 ms with the Swift runtime static and the rest dynamic, 2.3 ms
# fully static; a whole `monitor --force` of one snapshot 11 ms less. The binary is 125 MB.
# The linker warns that glibc's NSS and dlopen calls inside Foundation and HDF5 need this glibc's
# shared libraries at run time: the binary is built on the machine that runs it, and deconvscope
# resolves no user names or hosts. Test builds stay dynamic.
RELEASE_FLAGS ?= $(CPU_FLAGS) -Xswiftc -static-executable -Xlinker -lsz -Xlinker -laec
DEMO_RUN    ?= demo
DEMO_FLAGS  ?= --model zf-fmnist --epochs 3 --snapshot-epochs 0,1,2,3 --train-limit 30000 --run $(DEMO_RUN)

.PHONY: all deps pydeps build release test demo colour-demo bench doctor fuzz clean help

all: release

help:
	@echo "make demo    install what is missing, build in release, train zf-fmnist on Fashion-MNIST, write the report"
	@echo "make colour-demo  tint Fashion-MNIST per class into a folder of RGB PNGs, train docs/zf-colour.json on it, write the report"
	@echo "make test    the full test suite (installs h5py, onnx and onnxruntime from PyPI for the independent-reader tests)"
	@echo "make doctor  short runs with known causes (too high / low lr, aliasing, a checkerboard filter, a marker shortcut, a healthy recipe): expected cause, diagnoses found, pass/fail"
	@echo "make bench   release benchmarks: sgemm peak, training images/s, monitor seconds per snapshot, memory"
	@echo "make fuzz    libFuzzer on each file parser (idx cifar png model-json snapshot onnx), FUZZ_SECONDS=600 each, one after another"
	@echo "make clean   remove build products (keeps Checkpoints/ and Reports/)"

# Installs only the Debian packages that are missing (apt-get update first, as on a fresh machine).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# h5py reads our snapshots independently of our own HDF5 code in the tests; onnx builds the ONNX test
# networks and onnxruntime runs them, an engine that shares no code with ours (no PyTorch needed).
pydeps: deps
	@python3 -c "import h5py, numpy" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check h5py numpy
	@python3 -c "import onnx, onnxruntime" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check onnx onnxruntime

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product deconvscope
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product deconvscope-bench

# The suite is XCTest only; Swift Testing's empty runner is off so the run does not end on "0 tests".
# The last line restates XCTest's total (the last "Executed" line) as "N passed, N failed, N skipped".
test: deps pydeps
	$(SWIFT) build --build-tests $(CPU_FLAGS)
	@mkdir -p .build
	@set -o pipefail; $(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log
	@awk '/Executed [0-9]+ tests?, with / { n = $$2; f = 0; s = 0; for (i = 1; i <= NF; i++) { if ($$i ~ /^failures?$$/) f = $$(i-1); if ($$i == "skipped") s = $$(i-2) } } \
	     END { if (n == "") exit 1; print n - f - s " passed, " f " failed, " s " skipped" }' .build/test.log

demo: release
	rm -rf Checkpoints/$(DEMO_RUN) Reports/$(DEMO_RUN)
	$(BIN_RELEASE) train $(DEMO_FLAGS)
	@echo "report: $(CURDIR)/Reports/$(DEMO_RUN)/index.html"

COLOUR_RUN  ?= colour-demo
COLOUR_DATA ?= Checkpoints/colour-data

# A colour image-folder data set (python3 stdlib only: gzip + zlib), then a run on it.
colour-demo: release
	rm -rf $(COLOUR_DATA) Checkpoints/$(COLOUR_RUN) Reports/$(COLOUR_RUN)
	python3 docs/colour-fmnist.py --train-per-class 200 --test-per-class 50 $(COLOUR_DATA)
	$(BIN_RELEASE) train --model docs/zf-colour.json --data folder --data-dir $(COLOUR_DATA) \
	  --epochs 2 --snapshot-epochs 0,1,2 --probes 500 --run $(COLOUR_RUN)
	@echo "report: $(CURDIR)/Reports/$(COLOUR_RUN)/index.html"

bench: release
	.build/release/deconvscope-bench

# The doctor's benchmark (docs/diagnostics.md): each case trains for well under a minute in release.
doctor: release pydeps
	docs/doctor/run.sh $(CURDIR)/$(BIN_RELEASE) $(CURDIR)/.build/doctor

# libFuzzer targets live in their own package (Tests/Fuzz): libFuzzer brings `main`, so they link
# only with --sanitize=fuzzer. Seeds are valid small files written by our own writers (fuzz-seeds,
# built without the sanitizer) plus gzip copies of the IDX ones. Targets run one after another.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= idx cifar png model-json snapshot onnx
FUZZ_WORK    ?= $(CURDIR)/.build/fuzz
FUZZ_PACKAGE := Tests/Fuzz

fuzz: deps
	@for t in $(FUZZ_TARGETS); do \
	  (cd $(FUZZ_PACKAGE) && $(SWIFT) build -c release --sanitize=fuzzer --product fuzz-$$t) || exit 1; \
	done
	@if [ ! -d $(FUZZ_WORK)/seeds ]; then \
	  (cd $(FUZZ_PACKAGE) && $(SWIFT) build -c release --product fuzz-seeds --scratch-path .build-seeds) || exit 1; \
	  $(FUZZ_PACKAGE)/.build-seeds/release/fuzz-seeds $(FUZZ_WORK)/seeds.tmp || exit 1; \
	  for f in $(FUZZ_WORK)/seeds.tmp/idx/*.idx; do gzip -9nc $$f > $$f.gz; done; \
	  mv $(FUZZ_WORK)/seeds.tmp $(FUZZ_WORK)/seeds; \
	fi
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_PACKAGE)/run-fuzzer.sh $$t $(FUZZ_SECONDS) $(FUZZ_PACKAGE)/.build/release $(FUZZ_WORK) || exit 1; \
	done

clean:
	rm -rf .build $(FUZZ_PACKAGE)/.build $(FUZZ_PACKAGE)/.build-seeds
