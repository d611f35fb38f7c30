# sandpod: `make run` starts the gateway in embedded mode, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

NODE_STAMP := node_modules/.package-lock.json
SOURCES := $(shell find contract gateway operator -name '*.ts' 2>/dev/null)
WEB_SOURCES := $(shell find web -path web/dist -prune -o -type f -print 2>/dev/null)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: deps
deps: $(NODE_STAMP) ## Install missing Debian packages and npm dependencies
	@scripts/install-deps.sh

.PHONY: test-deps
test-deps: $(NODE_STAMP)
	@scripts/install-deps.sh --test

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

dist/.built: $(SOURCES) $(WEB_SOURCES) tsconfig.json tsconfig.build.json $(NODE_STAMP)
	npm run --silent build
	@touch $@

.PHONY: build
build: $(NODE_STAMP) dist/.built ## Compile the gateway, operator and web page

.PHONY: run
run: deps build ## Start the gateway in embedded mode on http://$${HOST:-127.0.0.1}:$${PORT:-8080}
	node dist/gateway/main.js

.PHONY: lint
lint: $(NODE_STAMP) ## Check formatting, lint rules and types
	biome check .
	tsc -p tsconfig.json --noEmit

.PHONY: test
test: test-deps build lint ## Install what is missing and run every test
	mocha 'test/unit/**/*.test.ts' 'test/sandbox/**/*.test.ts' 'test/gateway/**/*.test.ts' 'test/browser/**/*.test.ts'

.PHONY: bench
bench: deps build ## Measure latency and throughput against the raw sandbox floor
	node --import=tsx bench/embedded.ts

.PHONY: clean
clean: ## Remove build output
	rm -rf dist web/dist
