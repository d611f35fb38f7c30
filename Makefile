# sandpod: `make run` starts the gateway in embedded mode, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

NODE_STAMP := node_modules/.package-lock.json
SOURCES := $(shell find contract sandbox kube gateway operator observability client cli kubectl-plugin -name '*.ts' 2>/dev/null)
WEB_SOURCES := $(shell find web -path web/dist -prune -o -type f -print 2>/dev/null)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

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

# Starts the OCI runtime's processes for the embedded gateway (sandbox/spawner.ts says why).
SPAWNER := dist/bin/sandpod-spawner
$(SPAWNER): sandbox/spawner/sandpod-spawner.c
	@mkdir -p $(@D)
	gcc -O2 -Wall -Wextra -Werror -o $@ $<

# The command-line tools (README.md, "Tools"): small launchers of the compiled entry points.
COMMANDS := dist/bin/sandpod dist/bin/kubectl-sandpod
define launcher
	@mkdir -p $(@D)
	printf '#!/usr/bin/env node\nimport("../%s");\n' '$(1)' > $@
	chmod +x $@
endef
dist/bin/sandpod: dist/.built
	$(call launcher,cli/sandpod.js)
dist/bin/kubectl-sandpod: dist/.built
	$(call launcher,kubectl-plugin/kubectl-sandpod.js)

.PHONY: build
build: $(NODE_STAMP) dist/.built $(SPAWNER) $(COMMANDS) ## Compile the gateway, operator, web page, process spawner, and the sandpod and kubectl-sandpod commands

.PHONY: run
run: deps build ## Start the gateway in embedded mode on http://127.0.0.1:8080 (HOST, PORT)
	node dist/gateway/main.js

.PHONY: lint
lint: $(NODE_STAMP) ## Check formatting, lint rules, the import layers (.dependency-cruiser.cjs) and types
	biome check .
	depcruise --config .dependency-cruiser.cjs contract sandbox kube gateway operator observability client cli kubectl-plugin web/src
	tsc -p tsconfig.json --noEmit

.PHONY: test
test: test-deps build lint ## Install what is missing and run every test
	@scripts/tool-path.sh helm >/dev/null # the chart tests need helm; built from Go modules on first use
	SANDPOD_KUBECTL="$$(scripts/tool-path.sh kubectl)" mocha --ignore '$(CLUSTER_TESTS)' '$(ALL_TESTS)'
	@echo "--- the hostile-program and per-language suites again, under gVisor (runsc)"
	SANDPOD_OCI_RUNTIME=runsc SANDPOD_OCI_RUNTIME_PATH="$$(scripts/tool-path.sh runsc)" mocha test/gateway/embedded/hostile.sandbox.test.ts test/runtimes/languages.sandbox.test.ts
	@echo "--- the sandbox suites on a cgroup v2 host (a qemu guest with this machine's root)"
	$(MAKE) --no-print-directory test-cgroup2
	@echo "--- suites that need a Kubernetes control plane and node (the dev cluster)"
	$(MAKE) --no-print-directory test-cluster

.PHONY: test-cgroup2
test-cgroup2: test-deps build ## Run the sandbox and contract suites in a qemu guest with cgroup v2 alone (test/cgroup2/run.sh)
	test/cgroup2/run.sh

# test/ mirrors the source folders; a file's name says what it needs to run: *.sandbox.test.ts the
# local sandbox (root, runc), *.browser.test.ts chromium, *.cluster.test.ts the dev cluster, and a
# plain *.test.ts nothing but Node (test/charts: helm).
ALL_TESTS := test/**/*.test.ts
CLUSTER_TESTS := test/**/*.cluster.test.ts

.PHONY: test-cluster
test-cluster: build ## Run the operator and Kubernetes suites on the dev cluster (started if needed)
	@scripts/tool-path.sh helm >/dev/null
	scripts/test-cluster.sh '$(CLUSTER_TESTS)'

.PHONY: test-chart
test-chart: $(NODE_STAMP) ## Lint, render and policy-check the Helm chart, and check manifests/ against it
	@scripts/tool-path.sh helm >/dev/null
	mocha --ignore '$(CLUSTER_TESTS)' 'test/charts/**/*.test.ts'

.PHONY: manifests
manifests: $(NODE_STAMP) ## Regenerate manifests/, the chart's CRDs, config schemas, default Runtimes and README's language table (runtimes/catalog.yaml) from the code and the chart
	node --import=tsx operator/crd/generate.ts
	node --import=tsx charts/values-schema.ts && biome format --write charts/sandpod/values.schema.json
	@scripts/tool-path.sh helm >/dev/null
	node --import=tsx charts/manifests.ts
	node --import=tsx runtimes/readme-table.ts --write

.PHONY: images
images: $(NODE_STAMP) ## Build the gateway/operator and runtime images with docker, podman or buildah (REGISTRY, TAG, PUSH=1)
	images/build.sh

.PHONY: test-unit
test-unit: $(NODE_STAMP) ## Run the unit tests alone (no sandbox, no browser)
	mocha --ignore 'test/**/*.{sandbox,browser,cluster}.test.ts' --ignore 'test/charts/**' '$(ALL_TESTS)'

.PHONY: bench
bench: deps build ## Embedded latency and throughput against the raw sandbox floor, judging 100 tests in one Execution against 100 Executions; on the dev cluster the operator against the Job controller, the gateway on Kubernetes, warm pools against cold pods
	node --import=tsx bench/embedded.ts
	node --import=tsx bench/languages.ts
	node --import=tsx bench/judging.ts
	node --import=tsx bench/body-flood.ts
	node --import=tsx bench/operator.ts
	node --import=tsx bench/kubernetes.ts
	node --import=tsx bench/warm-pool.ts

# The fuzz suites run in `make test` with a fixed seed and bounded runs; here FUZZ_SCALE times as
# many (default 20), with FUZZ_SEED to explore elsewhere (a failure prints the seed and path to replay).
FUZZ_TESTS := test/gateway/fuzz/*.test.ts test/operator/fuzz.test.ts

.PHONY: fuzz
fuzz: build ## Longer property-based fuzzing of REST, Socket.IO and the operator (FUZZ_SCALE, default 20; FUZZ_SEED)
	FUZZ_SCALE=$${FUZZ_SCALE:-20} mocha $(FUZZ_TESTS)

.PHONY: soak
soak: deps build ## Soak the embedded gateway at 80% of its capacity with floods and bombs (SOAK_MINUTES, default 30); CSV and plot beside RELIABILITY.md
	node --import=tsx bench/soak.ts

.PHONY: load
load: deps build ## 1000 Socket.IO clients (SOCKETS) each running an interactive program on one embedded gateway
	node --import=tsx bench/sockets.ts

.PHONY: chaos
chaos: deps build ## Faults on the dev cluster under load: 2000 executions (CHAOS_EXECUTIONS, CHAOS_RATE) through 2 gateways and 2 operators while leaders, gateways, kube-apiserver, etcd, kubelet and containerd die (CHAOS_FAULTS)
	node --import=tsx bench/chaos.ts

.PHONY: run-runsc
run-runsc: deps build ## Like run, with gVisor (runsc, built on first use) as the sandbox
	SANDPOD_OCI_RUNTIME=runsc SANDPOD_OCI_RUNTIME_PATH="$$(scripts/tool-path.sh runsc)" node dist/gateway/main.js

.PHONY: dev-cluster
dev-cluster: build ## Start a local Kubernetes (built once, cached) with sandpod on 127.0.0.1:8081
	dev-cluster/up.sh

.PHONY: dev-cluster-down
dev-cluster-down: ## Stop every process of the dev cluster
	dev-cluster/down.sh

.PHONY: clean
clean: ## Remove build output
	rm -rf dist web/dist
