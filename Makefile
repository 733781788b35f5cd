# surgeon — the two commands that do all set-up:
#   make demo   build in release and run the demo on the bundled MNIST data
#   make test   run the whole test suite
# Both install missing Debian packages first (scripts/install-deps.sh).

SWIFT ?= swift
DEMO_ARGS ?=

.PHONY: deps demo test build release bench clean

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

bench: release
	.build/release/surgeon-bench train --variant vgg --threads 1
	.build/release/surgeon-bench train --variant vgg --threads 2

clean:
	rm -rf .build
