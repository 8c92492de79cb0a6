# mailsync-operator. `make run` and `make test` set up everything they need: Node 24 (from the npm
# registry when the host's Node is older than 22.19), npm packages, kube-apiserver/etcd/helm
# (built from Go modules into a cache outside the repo) and Dovecot (Debian packages).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_BIN := $(shell ./hack/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)
NPM := npm --loglevel=error --no-fund --no-audit
JEST := node --experimental-vm-modules node_modules/jest/bin/jest.js

.PHONY: help deps build generate lint control-plane promtool dovecot lua test test-unit test-integration run dev-cluster dev-cluster-down bench bench-scale bench-push clean

help:
	@echo "make run               run the operator against a local control plane (or \$$KUBECONFIG) with examples/"
	@echo "make test              lint, build and run every test (unit, integration, chart)"
	@echo "make lint              eslint and prettier --check over every file"
	@echo "make bench             run the benchmarks in bench/"
	@echo "make bench-scale       one worker and up to 10,000 mailboxes: enable, memory, CPU, API writes, latency (about an hour)"
	@echo "make bench-push        new mail → CRM latency for Exchange mailboxes woken by EWS streaming and Graph change notifications"
	@echo "make dev-cluster       start a local control plane in the background, with a kubeconfig per role; make dev-cluster-down stops it"
	@echo "make generate          regenerate crds/ and src/api/types.generated.ts from src/api/schema.ts"

# unrs-resolver (a jest dependency) is pinned to 1.12.2 in package.json's overrides: the registry
# here lacks the other platforms' bindings of 1.13.0, and npm 11 then writes a lock file that its
# own `npm ci` refuses.
node_modules/.installed: package.json package-lock.json
	@node --version >/dev/null
	$(NPM) ci
	@touch $@

deps: node_modules/.installed

build: deps
	npx tsc -p tsconfig.json

generate: build
	node dist/src/api/generate.js .
	node dist/dev/sync-chart-crds.js
	npx tsc -p tsconfig.json

# ESLint (typescript-eslint, type-aware; eslint.config.js) over every TypeScript file, cached so a
# warm run lints only what changed; Prettier (.prettierrc.json, .prettierignore) checks every file.
lint: deps
	npx eslint --cache --cache-location node_modules/.cache/eslint/ --max-warnings 0 .
	npx prettier --check --log-level warn .

control-plane:
	@./hack/build-control-plane.sh >/dev/null

# promtool (Prometheus 3.x, Go module v0.316.0) for the alert rule tests, built once into the cache.
promtool:
	@./hack/build-promtool.sh >/dev/null

dovecot:
	@./hack/ensure-dovecot.sh

lua:
	@./hack/ensure-lua.sh

test: lint build control-plane promtool dovecot lua
	$(JEST) $(JEST_ARGS)

test-unit: build
	$(JEST) unit/

run: build control-plane dovecot
	node dist/dev/run-local.js

dev-cluster: build control-plane
	@if [ -f .dev-cluster/pid ] && kill -0 $$(cat .dev-cluster/pid) 2>/dev/null; then \
	  echo "dev cluster already running"; \
	else \
	  rm -rf .dev-cluster; nohup node dist/dev/dev-cluster.js >/tmp/mailsync-dev-cluster.log 2>&1 & \
	  for i in $$(seq 1 120); do [ -f .dev-cluster/pid ] && break; sleep 0.5; done; \
	  [ -f .dev-cluster/pid ] || { cat /tmp/mailsync-dev-cluster.log; exit 1; }; \
	fi
	@echo "# paste into your shell: the admin's kubeconfig, kubectl and helm, the mailsync CLI"
	@echo "export KUBECONFIG=$(CURDIR)/.dev-cluster/kubeconfig"
	@echo "export PATH=$$(./hack/build-control-plane.sh):\$$PATH"
	@echo "alias mailsync='$(NODE_BIN)/node $(CURDIR)/dist/src/cli/mailsync.js'"
	@echo
	@cat .dev-cluster/identities.txt

dev-cluster-down:
	@if [ -f .dev-cluster/pid ]; then kill $$(cat .dev-cluster/pid) 2>/dev/null || true; \
	  for i in $$(seq 1 40); do [ -d .dev-cluster ] || break; sleep 0.25; done; fi
	@rm -rf .dev-cluster
	@echo "dev cluster stopped"

bench: build control-plane dovecot
	node dist/bench/run.js

bench-scale: build control-plane dovecot
	node dist/bench/scale.js

bench-push: build control-plane
	node dist/bench/push-latency.js

clean:
	rm -rf dist node_modules .dev-cluster
