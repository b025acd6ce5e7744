# orch: build, test, demo, bench. Needs only git, make, node and npm: Bun comes
# from the npm registry (devDependency `bun`) when it is not on PATH.
SHELL := /bin/bash
PREFIX ?= $(HOME)/.local
VERSION := $(shell node -p "require('./package.json').version")
GIT_SHA := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUN := $(shell command -v bun 2>/dev/null || echo node_modules/.bin/bun)
TSC := node_modules/.bin/tsc
BUILD_FLAGS := --compile --bytecode --format=esm --minify-syntax --minify-whitespace --sourcemap=inline \
	--no-compile-autoload-dotenv --no-compile-autoload-bunfig \
	--define ORCH_VERSION='"$(VERSION)"' --define ORCH_GIT_SHA='"$(GIT_SHA)"'
TARGETS := linux-x64 linux-arm64 darwin-x64 darwin-arm64

.PHONY: all build test check release install clean demo demo-pair bench soak deps test-real-agents docs

all: build

# Install dependencies (and Bun) when missing or stale.
node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.stamp

dist/orch: deps $(shell find src -name '*.ts') package.json
	@mkdir -p dist
	$(BUN) build $(BUILD_FLAGS) src/cli.ts --outfile dist/orch

build: dist/orch

KNIP := node_modules/.bin/knip

# Type check, then knip: no dead file, export or dependency (config: knip.jsonc).
check: deps
	$(TSC) --noEmit -p tsconfig.json
	$(KNIP) --no-progress

test: deps check build
	@$(BUN) scripts/test.ts

release: deps
	@mkdir -p dist
	@for t in $(TARGETS); do \
		$(BUN) build $(BUILD_FLAGS) --target=bun-$$t src/cli.ts --outfile dist/orch-$$t || exit 1; \
		(cd dist && sha256sum orch-$$t > orch-$$t.sha256) || exit 1; \
	done

install: build
	@mkdir -p $(PREFIX)/bin
	cp dist/orch $(PREFIX)/bin/orch
	@echo "installed $(PREFIX)/bin/orch"

# Regenerate orch.toml and docs/configuration.md from the settings table.
docs: deps
	@$(BUN) scripts/docs.ts

demo: build
	@$(BUN) scripts/demo.ts

# The one-machine start: orch init --pair, then orch pair, in a repository without a remote.
demo-pair: build
	@$(BUN) scripts/demo-pair.ts

# Optional, outside make test: the real claude and codex CLIs (installed from npm into
# .real-agents/) against test/fixtures/fake-model-server.js on a loopback port.
test-real-agents: build
	@$(BUN) scripts/real-agents.ts

bench: build
	@$(BUN) scripts/bench.ts

ITERATIONS ?= 200
FAULTS ?= 50
SEED ?= 1
KINDS ?=
soak: build
	@$(BUN) scripts/soak.ts --iterations $(ITERATIONS) --faults $(FAULTS) --seed $(SEED) $(if $(KINDS),--kinds $(KINDS))

clean:
	rm -rf dist coverage .bench
