# Wayline — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/wayline
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests build with the invariants tag: expensive internal assertions on.
TEST_FLAGS ?= -tags invariants -timeout 15m

.PHONY: help build run cluster plugins test test-short lint bench bench-go bench-plugins fuzz clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

build: designer ## build bin/wayline, the web designer embedded (Node.js builds it; `go build ./cmd/wayline` alone embeds a placeholder)
	$(GO) build -tags designer -o $(BIN) ./cmd/wayline

run: build ## start one node with the demo workspace on http://127.0.0.1:8080 (data in ./wayline-data)
	./$(BIN) serve --demo

cluster: build ## start three nodes as one cluster on 127.0.0.1 (APIs on :8081-:8083, data in ./wayline-cluster-data); Ctrl-C stops them
	./$(BIN) cluster local

plugins: ## build the example plugins (Go, Rust, C, AssemblyScript) into bin/plugins, installing the Debian toolchains when missing
	plugins/examples/build.sh bin/plugins

test: plugins ## run every test (Go unit, fuzz smoke, plugin conformance, end-to-end against real processes, JS client)
	$(GO) vet ./...
	WAYLINE_REQUIRE_PLUGINS=1 $(GO) test $(TEST_FLAGS) ./...
	$(GO) build -o $(BIN) ./cmd/wayline
	@command -v node >/dev/null || { echo "installing Node.js for the JavaScript client's tests"; apt-get update -qq && apt-get install -y -qq nodejs; }
	WAYLINE_BIN=$(CURDIR)/$(BIN) sdk/client/js/test/run.sh
	cd sdk/assemblyscript && npm ci --silent --no-audit --no-fund && npm test --silent
	sdk/rust/test.sh
	sdk/c/test.sh
	$(MAKE) designer-test

.PHONY: designer designer-test
DESIGNER_SRC := $(shell find designer/src designer/index.html designer/vite.config.ts designer/tsconfig.json -type f 2>/dev/null)

# npm ci only when the lock file changed (npm ci writes node_modules/.package-lock.json).
designer/node_modules/.package-lock.json: designer/package-lock.json
	@command -v npm >/dev/null || { echo "installing Node.js for the designer"; apt-get update -qq && apt-get install -y -qq nodejs npm; }
	cd designer && npm ci --no-audit --no-fund
	@touch $@

designer/dist/index.html: designer/node_modules/.package-lock.json $(DESIGNER_SRC)
	cd designer && npx tsc --noEmit -p . && npx vite build

designer: designer/dist/index.html ## build the web designer (TypeScript, React, Vite) into designer/dist

designer-test: designer ## the designer's unit tests (Vitest) and its browser end-to-end test (Debian's Chromium, installed when missing) against a real node
	cd designer && npx vitest run
	@test -x /usr/bin/chromium || { echo "installing Chromium for the designer's browser test"; apt-get update -qq && apt-get install -y -qq chromium; }
	$(GO) build -tags designer -o bin/wayline-designer ./cmd/wayline
	cd designer && WAYLINE_BIN=$(CURDIR)/bin/wayline-designer E2E_OUT=$(CURDIR)/bin/e2e node e2e/run.mjs

test-short: ## unit tests only
	$(GO) test -short ./...

lint: ## go vet, gofmt, staticcheck, go mod tidy drift
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...
	@cp go.mod /tmp/wayline-go.mod.bak; cp go.sum /tmp/wayline-go.sum.bak; $(GO) mod tidy; \
	 if ! diff -q go.mod /tmp/wayline-go.mod.bak >/dev/null || ! diff -q go.sum /tmp/wayline-go.sum.bak >/dev/null; then \
	   echo "go mod tidy changed go.mod/go.sum: commit the tidy result"; exit 1; fi

bench: build plugins ## wayline bench: HTTP load against a fresh node beside bare fasthttp and Pebble ceilings; writes docs/benchmarks.md
	./$(BIN) bench --write docs/benchmarks.md

bench-go: ## Go benchmarks of the engine (ingest → journey → outbox with synced commits), CEL and schemas
	$(GO) test -run '^$$' -bench . -benchtime 3s ./runtime/engine/ ./runtime/expr/ ./runtime/schema/

bench-plugins: plugins ## Go benchmarks of plugin calls per language beside native Go and a bare wazero call; then the Extism comparison (separate module)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./plugins/
	cd plugins/bench/extism && ./build.sh && GOFLAGS=-mod=mod $(GO) test -run '^$$' -bench . -benchtime 2s

fuzz: plugins ## longer fuzz runs (60s per target, every package with fuzz tests)
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 60s $$pkg || exit 1; \
	  done; \
	done

clean: ## remove build output (not ./wayline-data)
	rm -rf bin
