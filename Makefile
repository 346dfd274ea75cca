# make demo   install, build, start the runtime, show its status, stop it
# make test   install, build, lint, run every test (labels unit, integration, slow; see scripts/test.sh)
JOBS ?= $(shell nproc)

.PHONY: all deps build test demo lint format clean

all: build

deps:
	./scripts/install-deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default -j$(JOBS)

lint: deps
	./scripts/lint.sh

format:
	./scripts/lint.sh --fix

test: build lint
	./scripts/test.sh

demo: build
	./scripts/demo.sh

clean:
	rm -rf build build-debug
