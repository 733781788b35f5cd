# surgeon — the two commands that do all set-up:
#   make demo   build in release and run the demo on the bundled MNIST data
#   make test   run the whole test suite
# Both install missing Debian packages first (scripts/install-deps.sh). `make test` ends with
# scripts/check-extensions.sh: a layer type added with the plugin and one registry line, and an
# extension package built against this checkout.
#   make fuzz   build Fuzz/ (libFuzzer + ASan) and run each parser's target FUZZ_SECONDS (default 30)
#   make asan   build and run the whole suite under AddressSanitizer (scratch folder .build-asan)
#   make tsan   the same under ThreadSanitizer (.build-tsan; Fuzz/tsan.supp documents any suppression)
# The corpus replay (Tests/SurgeonFuzzEntriesTests) is part of `make test`.

SWIFT ?= swift
DEMO_ARGS ?=

.PHONY: deps demo test build release bench format clean fuzz asan tsan

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product surgeon
	$(SWIFT) build -c release --product surgeon-bench

demo: release
	.build/release/surgeon demo $(DEMO_ARGS)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing
	scripts/check-extensions.sh

# Formats every Swift file with the toolchain's swift-format and .swift-format (120 columns).
format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests Plugins

bench: release
	.build/release/surgeon-bench train --variant vgg --threads 1
	.build/release/surgeon-bench train --variant vgg --threads 2

FUZZ_SECONDS ?= 30

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh

# allocator_may_return_null: libhdf5 asks malloc for sizes read from damaged files (up to 2^61 bytes) and
# reports "memory allocation failed" when it gets NULL, as it does without a sanitizer; the sanitizers' default is
# to abort instead.
# detect_leaks=0: swift-corelibs-xctest never frees test-case instances, so a leak check at exit reports
# everything the tests' setUp and stored properties hold (215 of the 217 reports of the last run; the other 2,
# Foundation's read buffer for an empty file, are avoided in ShellProcess.tail). Leaks are checked where they
# can be told apart: by every fuzz target, per input (make fuzz).
asan: deps
	nice -n 19 $(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=0" nice -n 19 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan --disable-swift-testing

tsan: deps
	nice -n 19 $(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="suppressions=$(CURDIR)/Fuzz/tsan.supp allocator_may_return_null=1" \
	  nice -n 19 $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --disable-swift-testing

clean:
	rm -rf .build .build-asan .build-tsan Fuzz/.build
