# Clio's task runner. `make up` runs the platform; `make test` runs every test.
# Both install what they need when it is missing (the broker, Python packages).

SHELL := /bin/bash
CARGO ?= cargo
TEST_BROKER_PORT ?= 19092
BENCH_BROKER_PORT ?= 19292

.PHONY: up test chaos fuzz bench profile lint fmt build broker-install asyncapi clean-data help

help:
	@echo "make up      run the platform (broker, registry, Postgres read models, all services) in the foreground"
	@echo "make test    run every test against a real broker and Postgres"
	@echo "make asyncapi  regenerate asyncapi/asyncapi.yaml from the catalogue and schemas, and render it as HTML (asyncapi/html, served at /docs/)"
	@echo "make bench   measure Clio against baselines taken in the same run (bench/report.md, bench/end-to-end.png)"
	@echo "make profile FIGURE=core|ledger|restore|apply|retry  where one benchmark figure's time goes"
	@echo "make chaos   the platform under a workload while clio up and the broker are SIGKILLed (DURATION=30m, SEED=n, LAYOUT=up|scaled); chaos/report.md"
	@echo "make fuzz    run every fuzz target for 5 minutes (FUZZ_SECONDS); make test runs each for 15 s"
	@echo "make lint    rustfmt check and clippy"
	@echo "make clean-data  forget everything make up made (the broker's log, the database, the sandbox, .data)"

up:
	@infra/up.sh

asyncapi:
	$(CARGO) run --quiet --bin clio -- asyncapi
	@CLIO_ASYNCAPI_TOOLS="$$(infra/asyncapi-tools.sh)" node asyncapi/render.mjs asyncapi/asyncapi.yaml asyncapi/html

build:
	$(CARGO) build --workspace --all-targets

broker-install:
	@infra/install-broker.sh

# One fresh broker for the whole run (its log in database clio_testbroker), stopped at the end
# whatever the outcome.
test: broker-install
	@set -euo pipefail; \
	server=$$(infra/postgres.sh); \
	export CLIO_TEST_DATABASE_URL="$${CLIO_TEST_DATABASE_URL:-$$server/clio_test}"; \
	export CLIO_PYTHON="$$(infra/python-env.sh)"; \
	export CLIO_ASYNCAPI_TOOLS="$$(infra/asyncapi-tools.sh)"; \
	export CLIO_NODE_CLIENT="$$(infra/node-client.sh)"; \
	export CLIO_CHROMIUM="$$(infra/chromium.sh)"; \
	export CLIO_BROWSER_DRIVER="$$(infra/browser-driver.sh)"; \
	infra/broker.sh reset testbroker; \
	CLIO_GROUP_INITIAL_DELAY=100ms infra/broker.sh start testbroker $(TEST_BROKER_PORT); \
	trap 'infra/broker.sh stop testbroker' EXIT; \
	export CLIO_TEST_BROKERS=127.0.0.1:$(TEST_BROKER_PORT); \
	$(CARGO) test --workspace --doc; \
	$(CARGO) nextest run --workspace --no-fail-fast; \
	infra/fuzz.sh $${FUZZ_SECONDS:-15}

# The whole platform under a workload while a seeded fault driver SIGKILLs clio up, the broker
# and Postgres (its own, under .data/chaos) and takes the sandbox's servers down; then the
# checks. Writes chaos/report.md.
DURATION ?= 30m
LAYOUT ?= up
chaos: broker-install
	@set -euo pipefail; \
	export CLIO_TEST_STATE_DIR="$$PWD/.data/chaos"; \
	$(CARGO) build --quiet --bin clio --bin clio-chaos; \
	target="$${CARGO_TARGET_DIR:-target}"; \
	CLIO_BIN="$$target/debug/clio" "$$target/debug/clio-chaos" --duration $(DURATION) --layout $(LAYOUT) \
	  $${SEED:+--seed $$SEED}

# Every fuzz target for minutes (make test runs each for seconds); crashes land in fuzz/artifacts/.
fuzz:
	@infra/fuzz.sh $${FUZZ_SECONDS:-300}

# Figures as ratios against baselines measured in the same run; writes bench/report.md.
bench: broker-install
	@set -euo pipefail; \
	export CRITERION_HOME="$${CARGO_TARGET_DIR:-$$PWD/target}/criterion"; \
	echo "==> ledger core: criterion (about 30 s once built)"; \
	$(CARGO) bench --quiet -p clio-bench --bench ledger_core; \
	$(CARGO) build --release --quiet -p clio-bench; \
	BENCH_BROKER_PORT=$(BENCH_BROKER_PORT) infra/bench-stack.sh \
	  "$${CARGO_TARGET_DIR:-target}/release/clio-bench"

# Where one figure's time goes: FIGURE=core (callgrind), ledger, restore, apply or retry (perf).
FIGURE ?= core
profile: broker-install
	@$(CARGO) build --release --quiet -p clio-bench
	@BENCH_BROKER_PORT=$(BENCH_BROKER_PORT) infra/bench-stack.sh infra/profile.sh $(FIGURE)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean-data:
	@infra/clean-data.sh
