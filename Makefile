# surgeon — the two commands that do all set-up:
#   make demo   build in release and run the demo on the bundled MNIST data
#   make test   run the whole test suite
# Both install missing Debian packages first (scripts/install-deps.sh). `make test` ends with
# scripts/check-extensions.sh: a layer type added with the plugin and one registry line, and an
# extension package built against this checkout.

SWIFT ?= swift
DEMO_ARGS ?=

.PHONY: deps demo test build release bench format clean

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

clean:
	rm -rf .build
