# qapprove — build, try and test. See README.md.
GO      ?= go
BIN     := bin/qapprove
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CGO_ENABLED := 1

.PHONY: all build demo test test-deps test-unit test-keychain release release-deps release-check bench bench-anchors bench-memory bench-console fuzz lint clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/qapprove

## demo: open the console on the embedded sandbox with sample data
demo: build
	./$(BIN) demo

## test: everything, with the race detector, plus the real-keychain tests
## (test-deps installs the Debian packages they need when run as root)
test: test-deps lint test-unit test-keychain

test-deps:
	sh scripts/test-deps.sh

test-unit:
	$(GO) test -race -count=1 -timeout 20m ./...

test-keychain:
	bash scripts/keychain-test.sh

## release: reproducible binaries for linux/amd64, linux/arm64 and
## windows/amd64 in dist/, with SHA256SUMS and CycloneDX SBOMs (make
## release VERSION=vX.Y.Z; release-deps installs the cross compilers as root)
release: release-deps
	sh scripts/release.sh $(VERSION) dist

release-deps:
	sh scripts/test-deps.sh release

## release-check: builds the release twice (the second time from a copy of
## the tree with an empty build cache) and compares the bytes; runs the
## arm64 binary under qemu-user; checks the Windows binary's PE header.
## Not part of test: about 2.5 min on 2 cores, as it always compiles cold.
release-check:
	sh scripts/release-check.sh

## bench: all benchmarks (numbers go to docs/BENCHMARKS.md), the blst
## anchors side by side (bench-anchors), then the console's resident memory
## with 100,000 pending actions (bench-memory)
bench: bench-memory bench-anchors
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

## bench-anchors: qbls against blst min-sig in one run, from the nested
## module bench/ (its own go.mod, so blst never enters the product's)
bench-anchors:
	cd bench && $(GO) test -run '^$$' -bench . -benchtime 200x -timeout 30m .

## bench-console: keypress → frame, fresh load and y → Approved latency of
## the built console in tmux at 1k, 10k and 100k pending (needs tmux)
bench-console: build
	scripts/bench-console.sh

## bench-memory: RSS of the built console holding ~100,000 pending actions
## from the sandbox, after a fresh load and after a restart (needs tmux)
bench-memory: build
	scripts/console-rss.sh

## fuzz: a short run of every fuzz target. Minimisation of new inputs is
## off: on FuzzVerify (whole journals) it stalls a short run for its whole
## length; a failing input is still written to testdata/fuzz.
FUZZTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 0 $$pkg; \
	  done; \
	done

## lint: gofmt, go vet and golangci-lint (config .golangci.yml; the version
## is pinned by the tool directive in go.mod and built from the module cache)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool golangci-lint run ./...

clean:
	rm -rf bin dist
