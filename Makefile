# gridgate: the README's quick start is `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help deps build test lint demo bench clean

help:
	@echo "make demo   - install what is missing, start Redis + VictoriaMetrics, the gateway and simulators"
	@echo "make test   - the full suite against real services (started and stopped by the suite)"
	@echo "make bench  - the benchmark suite, printed as a table"

deps:
	@./scripts/ensure-deps.sh

build: deps
	@npx tsc -p tsconfig.build.json

lint: deps
	@npx tsc -p tsconfig.json --noEmit
	@npx biome check .
	@npx madge --circular --extensions ts gateway adapters processors config simulators

test: build lint
	@mkdir -p .data
	@npx vitest run --reporter=default --reporter=json --outputFile.json=.data/vitest.json; status=$$?; \
	  node -e 'const r=require("./.data/vitest.json"); console.log(`tests: $${r.numPassedTests} passed, $${r.numFailedTests} failed`)' || true; \
	  exit $$status

demo: build
	@node dist/scripts/demo.js

bench: build
	@node dist/bench/run.js --record

clean:
	rm -rf dist .data
